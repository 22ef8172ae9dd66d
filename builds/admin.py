from __future__ import annotations

from django.contrib import admin

from builds.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "docker_version", "docker_error", "seen_at"]
    readonly_fields = ["hostname", "docker_version", "docker_error", "seen_at"]
