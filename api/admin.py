from __future__ import annotations

from django.contrib import admin, messages

from api import tokens
from api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "user",
        "scope",
        "project",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("scope", "revoked_at")
    search_fields = ("name", "prefix", "user__username", "project__slug")
    list_select_related = ("user", "project")
    readonly_fields = ("prefix", "last_used_at", "revoked_at", "created_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # a token is shown once: create it on the Account page or with apitoken

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        count = sum(tokens.revoke(token) for token in queryset)
        self.message_user(request, f"{count} tokens revoked.", messages.SUCCESS)
