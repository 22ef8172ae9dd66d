from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from deployer import moved, views

# Each app names its own full paths: a project's sections all live under /projects/<slug>/
# (projects/sections.py lists them) whichever app serves them.
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("platform/", views.platform, name="platform"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("projects.urls")),
    path("", include("builds.urls")),
    path("", include("routing.urls")),
    path("", include("monitoring.urls")),
    path("", include("addons.urls")),
    path("", include("volumes.urls")),
    path("", include("processes.urls")),
    path("", include("previews.urls")),
    path("", include("webhooks.urls")),
    path("", include("api.urls")),
    path("", include("api.account_urls")),
    path("", include(moved.urlpatterns)),
]
