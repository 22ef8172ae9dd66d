from __future__ import annotations

from django.urls import path

from routing import views

P = "projects/<slug:slug>/"  # a project's sections: projects/sections.py

app_name = "routing"
urlpatterns = [
    path(f"{P}domains/", views.project_domains, name="project"),
    path(f"{P}domains/add/", views.domain_add, name="add"),
    path(f"{P}domains/<int:pk>/check/", views.domain_check, name="check"),
    path(f"{P}domains/<int:pk>/delete/", views.domain_delete, name="delete"),
]
