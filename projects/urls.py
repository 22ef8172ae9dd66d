from __future__ import annotations

from django.urls import path

from projects import views

app_name = "projects"
urlpatterns = [
    path("", views.project_list, name="list"),
    path("projects/new/", views.project_create, name="create"),
    path("projects/<slug:slug>/", views.project_detail, name="detail"),
    path("projects/<slug:slug>/edit/", views.project_edit, name="edit"),
    path("projects/<slug:slug>/delete/", views.project_delete, name="delete"),
    path("projects/<slug:slug>/deploy-key/", views.deploy_key_regenerate, name="deploy-key"),
    path("projects/<slug:slug>/env/", views.env_var_add, name="env-add"),
    path("projects/<slug:slug>/env/import/", views.env_import, name="env-import"),
    path("projects/<slug:slug>/env/<int:pk>/", views.env_var_row, name="env-row"),
    path("projects/<slug:slug>/env/<int:pk>/edit/", views.env_var_edit, name="env-edit"),
    path("projects/<slug:slug>/env/<int:pk>/reveal/", views.env_var_reveal, name="env-reveal"),
    path("projects/<slug:slug>/env/<int:pk>/delete/", views.env_var_delete, name="env-delete"),
]
