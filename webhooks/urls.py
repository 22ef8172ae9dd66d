from __future__ import annotations

from django.urls import path, re_path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    # Any name reaches the view and gets the same answer as a bad signature (never a different
    # 404 page), and the trailing slash is optional: hosts do not follow redirects for a POST.
    path("hooks/<str:slug>/", views.receive, name="receive"),
    re_path(r"^hooks/(?P<slug>[^/]+)$", views.receive),
    # The setup page is part of the project's settings section (projects/sections.py).
    path("projects/<slug:slug>/settings/webhooks/", views.project_webhooks, name="project"),
    path(
        "projects/<slug:slug>/settings/webhooks/regenerate/",
        views.regenerate_secret,
        name="regenerate",
    ),
]
