from __future__ import annotations

from django.urls import path

from monitoring import views

P = "projects/<slug:slug>/"  # a project's sections: projects/sections.py

app_name = "monitoring"
urlpatterns = [
    path(f"{P}monitoring/", views.health, name="health"),
    path(f"{P}settings/notifications/", views.notifications, name="notifications"),
    path(
        f"{P}settings/notifications/regenerate/",
        views.regenerate_secret,
        name="regenerate-secret",
    ),
    path(f"{P}settings/notifications/test/", views.send_test, name="test-notification"),
]
