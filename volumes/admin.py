from django.contrib import admin
from django.db import transaction

from deployer.celery import task
from volumes import services
from volumes.models import Volume


@admin.register(Volume)
class VolumeAdmin(admin.ModelAdmin):
    """Volumes are added on the project's Volumes page (where the path is checked); deleting
    one here detaches it and has the worker remove the engine volume, as the page does."""

    list_display = ("project", "name", "path", "size", "measured_at", "removing_at")
    list_filter = ("removing_at",)
    search_fields = ("project__slug", "name", "engine_name")
    list_select_related = ("project",)
    readonly_fields = (
        "project",
        "name",
        "path",
        "engine_name",
        "created_at",
        "size",
        "measured_at",
        "removing_at",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def delete_model(self, request, obj: Volume) -> None:
        services.request_removal(obj, obj.name, actor=request.user)
        transaction.on_commit(lambda: task("volumes.tasks.settle_volumes").delay())

    def delete_queryset(self, request, queryset) -> None:
        for volume in queryset.filter(removing_at__isnull=True):
            self.delete_model(request, volume)
