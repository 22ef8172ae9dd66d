from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction

from addons import services, tasks
from addons.models import AddOn, Backup


@admin.register(AddOn)
class AddOnAdmin(admin.ModelAdmin):
    """Adding one here is `services.create_addon` and the worker's provisioning, as on the
    add-ons page: only the project and the kind are asked."""

    list_display = ("project", "kind", "state", "health", "container_name", "created_at")
    list_filter = ("kind", "state", "health")
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
        "health",
        "health_reason",
        "health_since",
        "health_checked_at",
        "created_at",
        "ready_at",
    )
    exclude = ("encrypted_password",)
    add_fields = ("project", "kind")

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request, obj=None):
        return super().get_fields(request, obj) if obj is not None else self.add_fields

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["fields"] = self.add_fields
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            form.clean = _add_form_clean
        return form

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        added = services.create_addon(obj.project, obj.kind, actor=request.user)
        obj.pk = added.pk
        obj.__dict__.update({k: v for k, v in added.__dict__.items() if not k.startswith("_")})
        transaction.on_commit(lambda: tasks.provision_addon.delay(added.pk))


def _add_form_clean(form):
    data = form.cleaned_data
    project, kind = data.get("project"), data.get("kind")
    if project is not None and kind and project.addons.filter(kind=kind).exists():
        raise ValidationError(f"The project {project.slug} has a {kind} add-on already.")
    return data


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
