from django.urls import path

from volumes import views

P = "projects/<slug:slug>/"  # a project's sections: projects/sections.py

app_name = "volumes"
urlpatterns = [
    path(f"{P}volumes/", views.volume_list, name="list"),
    path(f"{P}volumes/add/", views.volume_add, name="add"),
    path(f"{P}volumes/<int:pk>/remove/", views.volume_remove, name="remove"),
]
