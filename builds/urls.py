from __future__ import annotations

from django.urls import path

from builds import views

P = "projects/<slug:slug>/"  # a project's sections: projects/sections.py

app_name = "builds"
urlpatterns = [
    path("builds/overview/", views.overview, name="overview"),
    path("builds/ship-report/", views.ship_report, name="ship-report"),
    path("builds/<int:pk>/", views.build_detail, name="detail"),
    path("builds/<int:pk>/log/", views.log_lines, name="log-lines"),
    path("builds/<int:pk>/log.txt", views.log_text, name="log-text"),
    path("builds/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("builds/<int:pk>/rollback/", views.rollback, name="rollback"),
    path(f"{P}deploy/", views.deploy, name="deploy"),
    path(f"{P}deployments/", views.project_deployments, name="deployments"),
    path(f"{P}logs/", views.runtime_logs, name="runtime-logs"),
    path(f"{P}logs.txt", views.runtime_logs_text, name="runtime-logs-text"),
    path(f"{P}settings/detection/", views.detection, name="detection"),
    path(f"{P}settings/detection/preview/", views.detection_preview, name="detection-preview"),
]
