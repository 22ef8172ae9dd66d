from django.contrib import admin

from addons.models import AddOn, Backup


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


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    list_display = ("addon", "state", "created_at", "size", "verified_at", "reason")
    list_filter = ("state",)
    search_fields = ("addon__project__slug",)
    list_select_related = ("addon__project",)
    readonly_fields = (
        "addon",
        "state",
        "reason",
        "path",
        "size",
        "tables",
        "restored_tables",
        "error",
        "created_at",
        "verified_at",
    )
