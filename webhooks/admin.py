from __future__ import annotations

from django.contrib import admin, messages

from deployer.adminlists import BigTableAdmin
from webhooks import services
from webhooks.models import Delivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["project", "created_at", "rotated_at"]
    search_fields = ["project__slug"]
    list_select_related = ["project"]
    readonly_fields = ["project", "created_at", "rotated_at"]
    exclude = ["encrypted_secret"]
    actions = ["regenerate"]

    def has_add_permission(self, request) -> bool:
        return False  # created with a secret by the project's webhook page

    @admin.action(description="Regenerate the secret (the old one stops working at once)")
    def regenerate(self, request, queryset) -> None:
        for endpoint in queryset.select_related("project"):
            services.regenerate_secret(endpoint.project)
        self.message_user(request, f"{queryset.count()} secret(s) regenerated.", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(BigTableAdmin):
    list_display = [
        "received_at",
        "project",
        "provider",
        "event",
        "ref",
        "short_sha",
        "verdict",
        "status_code",
        "build",
        "reason",
    ]
    list_filter = ["provider", "verdict", "received_at"]
    search_fields = ["project__slug", "delivery_id", "commit_sha", "ref", "pusher", "reason"]
    list_select_related = ["project", "build"]
    date_hierarchy = "received_at"
    readonly_fields = [field.name for field in Delivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # a record of what a git host sent: never written by hand

    def has_change_permission(self, request, obj=None) -> bool:
        return False
