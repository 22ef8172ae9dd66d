from django.urls import path

from previews import views

P = "projects/<slug:slug>/"  # a project's sections: projects/sections.py

app_name = "previews"
urlpatterns = [
    path(f"{P}previews/", views.preview_list, name="list"),
    path(f"{P}previews/settings/", views.save_settings, name="settings"),
    path(f"{P}previews/<int:number>/approve/", views.approve, name="approve"),
    path(f"{P}previews/<int:number>/stop/", views.stop, name="stop"),
    path(f"{P}previews/<int:number>/start/", views.start, name="start"),
]
