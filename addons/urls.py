from django.urls import path

from addons import views

app_name = "addons"
urlpatterns = [
    path("<slug:slug>/", views.addon_list, name="list"),
    path("<slug:slug>/create/", views.addon_create, name="create"),
    path("<slug:slug>/<int:pk>/remove/", views.addon_remove, name="remove"),
    path("<slug:slug>/<int:pk>/backup/", views.addon_backup, name="backup"),
    path("<slug:slug>/<int:pk>/schedule/", views.addon_schedule, name="schedule"),
]
