from __future__ import annotations

from django.urls import path

from projects import views

P = "projects/<slug:slug>/"  # a project's sections: projects/sections.py

app_name = "projects"
urlpatterns = [
    path("", views.project_list, name="list"),
    path("projects/new/", views.project_create, name="create"),
    path(P, views.project_detail, name="detail"),
    path(f"{P}environment/", views.project_environment, name="environment"),
    path(f"{P}environment/add/", views.env_var_add, name="env-add"),
    path(f"{P}environment/import/", views.env_import, name="env-import"),
    path(f"{P}environment/<int:pk>/", views.env_var_row, name="env-row"),
    path(f"{P}environment/<int:pk>/edit/", views.env_var_edit, name="env-edit"),
    path(f"{P}environment/<int:pk>/reveal/", views.env_var_reveal, name="env-reveal"),
    path(f"{P}environment/<int:pk>/delete/", views.env_var_delete, name="env-delete"),
    path(f"{P}activity/", views.project_activity, name="activity"),
    path(f"{P}settings/", views.project_settings, name="settings"),
    path(f"{P}settings/deploy-key/", views.deploy_key_regenerate, name="deploy-key"),
    path(f"{P}settings/delete/", views.project_delete, name="delete"),
]
