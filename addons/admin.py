from django.contrib import admin

from addons.models import AddOn


@admin.register(AddOn)
class AddOnAdmin(admin.ModelAdmin):
    list_display = ("project", "kind", "state", "container_name", "created_at", "ready_at")
    list_filter = ("kind", "state")
    search_fields = ("project__slug", "container_name")
    list_select_related = ("project",)
    readonly_fields = (
        "project",
        "kind",
        "image",
        "container_name",
        "volume_name",
        "database",
        "user",
        "error",
        "created_at",
        "ready_at",
    )
    exclude = ("encrypted_password",)
