from __future__ import annotations

from django.contrib import admin

from processes.models import CronJob, CronRun, Process


@admin.register(Process)
class ProcessAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "project",
        "build",
        "state",
        "engine_state",
        "restart_count",
        "started_at",
    )
    list_filter = ("state", "engine_state")
    search_fields = ("project__slug", "name", "container_name")
    list_select_related = ("project", "build")
    readonly_fields = ("container_id", "observed_at", "started_at", "stopped_at")


@admin.register(CronJob)
class CronJobAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "schedule", "enabled", "source")
    list_filter = ("enabled", "source")
    search_fields = ("project__slug", "name", "command")
    list_select_related = ("project",)


@admin.register(CronRun)
class CronRunAdmin(admin.ModelAdmin):
    list_display = ("job", "state", "exit_code", "started_at", "finished_at")
    list_filter = ("state",)
    search_fields = ("job__project__slug", "job__name")
    list_select_related = ("job", "job__project")
    readonly_fields = ("started_at", "finished_at", "exit_code", "output", "scheduled_for")
