from django.urls import path

from addons import views

P = "projects/<slug:slug>/"  # a project's sections: projects/sections.py

app_name = "addons"
urlpatterns = [
    path(f"{P}addons/", views.addon_list, name="list"),
    path(f"{P}addons/create/", views.addon_create, name="create"),
    path(f"{P}addons/<int:pk>/remove/", views.addon_remove, name="remove"),
    path(f"{P}addons/<int:pk>/backup/", views.addon_backup, name="backup"),
    path(f"{P}addons/<int:pk>/schedule/", views.addon_schedule, name="schedule"),
    path(f"{P}addons/<int:pk>/variable/", views.addon_variable, name="variable"),
]
