from __future__ import annotations

from django.urls import path

from builds import views

app_name = "builds"
urlpatterns = [
    path("overview/", views.overview, name="overview"),
    path("ship-report/", views.ship_report, name="ship-report"),
    path("<int:pk>/", views.build_detail, name="detail"),
    path("<int:pk>/log/", views.log_lines, name="log-lines"),
    path("<int:pk>/log.txt", views.log_text, name="log-text"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/rollback/", views.rollback, name="rollback"),
    path("projects/<slug:slug>/deploy/", views.deploy, name="deploy"),
    path("projects/<slug:slug>/deployments/", views.project_deployments, name="deployments"),
    path("projects/<slug:slug>/runtime-logs/", views.runtime_logs, name="runtime-logs"),
    path(
        "projects/<slug:slug>/runtime-logs.txt",
        views.runtime_logs_text,
        name="runtime-logs-text",
    ),
    path("projects/<slug:slug>/detection/", views.detection, name="detection"),
    path(
        "projects/<slug:slug>/detection/preview/",
        views.detection_preview,
        name="detection-preview",
    ),
]
