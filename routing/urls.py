from __future__ import annotations

from django.urls import path

from routing import views

app_name = "routing"
urlpatterns = [
    path("<slug:slug>/", views.project_domains, name="project"),
    path("<slug:slug>/add/", views.domain_add, name="add"),
    path("<slug:slug>/<int:pk>/check/", views.domain_check, name="check"),
    path("<slug:slug>/<int:pk>/delete/", views.domain_delete, name="delete"),
]
