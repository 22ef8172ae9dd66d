from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from deployer import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("platform/", views.platform, name="platform"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("builds/", include("builds.urls")),
    path("hooks/", include("webhooks.urls")),
    path("domains/", include("routing.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("addons/", include("addons.urls")),
    path("", include("projects.urls")),
]
