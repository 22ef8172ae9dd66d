from __future__ import annotations

from django.contrib import admin, messages

from previews import services
from previews.models import Preview, PreviewSettings


@admin.register(Preview)
class PreviewAdmin(admin.ModelAdmin):
    list_display = ("project", "number", "state", "head_branch", "short_sha", "from_fork", "child")
    list_filter = ("state", "from_fork")
    search_fields = ("project__slug", "head_branch", "head_sha", "title")
    list_select_related = ("project", "child")
    readonly_fields = (
        "project",
        "number",
        "child",
        "head_sha",
        "approved_sha",
        "approved_by",
        "created_at",
        "updated_at",
        "last_activity",
        "queued_at",
    )
    actions = ("stop_previews",)

    @admin.action(description="Stop the selected previews")
    def stop_previews(self, request, queryset) -> None:
        for preview in queryset:
            try:
                services.stop(preview, request.user)
            except services.PreviewError as exc:
                self.message_user(request, str(exc), messages.WARNING)


@admin.register(PreviewSettings)
class PreviewSettingsAdmin(admin.ModelAdmin):
    list_display = ("project", "enabled", "max_running", "idle_hours")
    list_filter = ("enabled",)
    search_fields = ("project__slug",)
    list_select_related = ("project",)
