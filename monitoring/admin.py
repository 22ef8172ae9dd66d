from __future__ import annotations

from django.contrib import admin, messages

from deployer.adminlists import LIST_PER_PAGE, BigTableAdmin
from monitoring import alerts
from monitoring.models import (
    AppHealth,
    HealthCheck,
    HealthEvent,
    Monitor,
    NotificationDelivery,
    NotificationSettings,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what the checks saw: never written by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Monitor)
class MonitorAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "engine_since", "engine_error", "last_run_at", "last_run_seconds"]


@admin.register(AppHealth)
class AppHealthAdmin(ReadOnlyAdmin):
    list_per_page = LIST_PER_PAGE
    list_display = [
        "project",
        "state",
        "since",
        "checked_at",
        "status_code",
        "latency_ms",
        "restart_count",
        "restarts_stopped_at",
        "reason",
    ]
    list_filter = ["state"]
    search_fields = ["project__slug", "reason"]
    list_select_related = ["project"]


@admin.register(HealthEvent)
class HealthEventAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = [
        "created_at",
        "project",
        "kind",
        "previous_state",
        "state",
        "exit_code",
        "reason",
    ]
    list_filter = ["kind", "state"]
    search_fields = ["project__slug", "reason"]
    list_select_related = ["project"]
    date_hierarchy = "created_at"


@admin.register(HealthCheck)
class HealthCheckAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ["checked_at", "project", "state", "ok", "status_code", "latency_ms"]
    # A date filter, not a date hierarchy: the hierarchy lists the days that have checks
    # with a DISTINCT over every check (one every few minutes per app).
    list_filter = ["state", "ok", "checked_at"]
    search_fields = ["project__slug"]
    list_select_related = ["project"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "project",
        "email_owner",
        "has_webhook",
        "webhook_format",
        "on_health",
        "on_deploy",
    ]
    list_filter = ["webhook_format", "on_health", "on_deploy"]
    search_fields = ["project__slug", "extra_emails"]
    list_select_related = ["project"]
    # The URL and secret stay encrypted: they are changed on the project's notifications page.
    fields = ["project", "email_owner", "extra_emails", "webhook_format", "on_health", "on_deploy"]
    readonly_fields = ["project"]
    actions = ["send_test"]

    def has_add_permission(self, request) -> bool:
        return False  # made with a signing secret on first use

    @admin.display(boolean=True, description="webhook")
    def has_webhook(self, obj: NotificationSettings) -> bool:
        return obj.has_webhook

    @admin.action(description="Send a test notification")
    def send_test(self, request, queryset) -> None:
        count = sum(len(alerts.send_test(prefs.project)) for prefs in queryset)
        self.message_user(request, f"{count} test notification(s) queued.", messages.SUCCESS)


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = [
        "created_at",
        "project",
        "channel",
        "kind",
        "target",
        "status",
        "attempts",
        "response_code",
        "error",
    ]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["project__slug", "target", "subject", "error"]
    list_select_related = ["project"]
    date_hierarchy = "created_at"
    actions = ["retry"]

    @admin.action(description="Send again (failed ones)")
    def retry(self, request, queryset) -> None:
        failed = list(queryset.filter(status=NotificationDelivery.Status.FAILED))
        for delivery in failed:
            alerts.retry_delivery(delivery)
        self.message_user(request, f"{len(failed)} delivery(ies) queued again.", messages.SUCCESS)
