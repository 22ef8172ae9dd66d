from __future__ import annotations

from django.urls import path

from monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("<str:slug>/health/", views.health, name="health"),
    path("<str:slug>/notifications/", views.notifications, name="notifications"),
    path(
        "<str:slug>/notifications/regenerate/",
        views.regenerate_secret,
        name="regenerate-secret",
    ),
    path("<str:slug>/notifications/test/", views.send_test, name="test-notification"),
]
