from django.contrib import admin

from volumes.models import Volume


@admin.register(Volume)
class VolumeAdmin(admin.ModelAdmin):
    list_display = ("project", "name", "path", "size", "measured_at", "removing_at")
    list_filter = ("removing_at",)
    search_fields = ("project__slug", "name", "engine_name")
    list_select_related = ("project",)
    readonly_fields = ("engine_name", "created_at", "size", "measured_at", "removing_at")
