"""Operators' view of projects. Values are write-only here: neither plaintext nor ciphertext is shown."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from builds import deletion
from deployer.adminlists import LIST_PER_PAGE, BigTableAdmin
from projects import audit, crypto, services
from projects.forms import PROJECT_FORM_FIELDS
from projects.models import AuditEntry, EnvVar, Membership, Project
from projects.validators import validate_env_value

MASK = "••••••••"


class EnvVarAdminForm(forms.ModelForm):
    new_value = forms.CharField(
        required=False,
        strip=False,
        label="New value",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current value.",
    )

    class Meta:
        model = EnvVar
        fields = ["key", "new_value", "available_at_build"]

    def clean_new_value(self) -> str:
        value = self.cleaned_data["new_value"]
        validate_env_value(value)
        return value

    def clean(self) -> dict:
        cleaned = super().clean()
        value = cleaned.get("new_value", "")
        if value or not self.instance.encrypted_value:
            self.instance.encrypted_value = crypto.encrypt(value)
        return cleaned


@admin.display(description="value")
def masked_value(env_var: EnvVar) -> str:
    return MASK if env_var.pk else ""


class EnvVarInline(admin.TabularInline):
    model = EnvVar
    form = EnvVarAdminForm
    fields = ["key", masked_value, "new_value", "available_at_build"]
    readonly_fields = [masked_value]
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]
    extra = 0


class ProjectAdminForm(forms.ModelForm):
    forget_credentials = forms.BooleanField(
        required=False, label="Forget the stored repository credentials"
    )

    class Meta:
        model = Project
        fields = [*PROJECT_FORM_FIELDS, "owner"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["web_replicas"].required = False  # a form posted without it keeps the setting

    def clean_web_replicas(self) -> int:
        value = self.cleaned_data.get("web_replicas")
        return value if value is not None else (self.instance.web_replicas or 1)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_per_page = LIST_PER_PAGE  # a row per project: pages of 50, as on the dashboard
    form = ProjectAdminForm
    list_display = ["slug", "owner", "repo_url", "branch", "framework", "credentials", "created_at"]
    list_filter = [("owner", admin.RelatedOnlyFieldListFilter), "framework"]
    list_select_related = ["owner"]
    search_fields = ["slug", "repo_url", "owner__username", "members__username"]
    readonly_fields = ["credentials", "deploy_public_key", "created_at", "updated_at"]
    inlines = [MembershipInline, EnvVarInline]

    @admin.display(description="credentials")
    def credentials(self, project: Project) -> str:
        return "stored" if project.has_repo_credentials else "none"

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # The name is fixed once created: it labels the project's containers and images.
        return [*self.readonly_fields, "slug"] if obj else self.readonly_fields

    def save_model(self, request, obj: Project, form, change: bool) -> None:
        # The form already ran the model's rules; the service splits and encrypts credentials.
        forget = form.cleaned_data.get("forget_credentials", False)
        services.save_project(obj, forget_credentials=forget)
        if not change:
            audit.record(obj, audit.Action.CREATE, actor=request.user, summary="in the admin")
        elif form.changed_data:
            changed = ", ".join(form.changed_data)
            audit.record(obj, audit.Action.SETTINGS, actor=request.user, summary=changed)

    def save_formset(self, request, form, formset, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is Membership:
            _record_members(request, formset)
            return
        for env_var in formset.new_objects:
            _record_env(request, env_var, audit.Action.ENV_ADD)
        for env_var, _ in formset.changed_objects:
            _record_env(request, env_var, audit.Action.ENV_CHANGE)
        for env_var in formset.deleted_objects:
            _record_env(request, env_var, audit.Action.ENV_DELETE)

    def delete_model(self, request, obj: Project) -> None:
        self._report(request, deletion.delete_project(obj, actor=request.user))

    def delete_queryset(self, request, queryset) -> None:
        for project in queryset:
            self._report(request, deletion.delete_project(project, actor=request.user))

    def _report(self, request, problems: list[str]) -> None:
        for problem in problems:
            self.message_user(request, problem, messages.WARNING)


def _record_members(request, formset) -> None:
    changes = [f"+{m.user.get_username()} ({m.role})" for m in formset.new_objects]
    changes += [f"{m.user.get_username()} {m.role}" for m, _ in formset.changed_objects]
    changes += [f"-{m.user.get_username()}" for m in formset.deleted_objects]
    if changes:
        project = formset.instance
        summary = " ".join(sorted(changes)) + " in the admin"
        audit.record(project, audit.Action.MEMBERS, actor=request.user, summary=summary)


def _record_env(request, env_var: EnvVar, action: str) -> None:
    audit.record(env_var.project, action, actor=request.user, summary=f"{env_var.key} in the admin")


@admin.register(EnvVar)
class EnvVarAdmin(admin.ModelAdmin):
    list_per_page = LIST_PER_PAGE
    form = EnvVarAdminForm
    list_display = ["key", "project", masked_value, "available_at_build", "updated_at"]
    list_filter = ["available_at_build", ("project__owner", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["project", "project__owner"]
    search_fields = ["key", "project__slug"]
    fields = [
        "project",
        "key",
        masked_value,
        "new_value",
        "available_at_build",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [masked_value, "created_at", "updated_at"]
    autocomplete_fields = ["project"]

    def save_model(self, request, obj: EnvVar, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        _record_env(request, obj, audit.Action.ENV_CHANGE if change else audit.Action.ENV_ADD)

    def delete_model(self, request, obj: EnvVar) -> None:
        super().delete_model(request, obj)
        _record_env(request, obj, audit.Action.ENV_DELETE)

    def delete_queryset(self, request, queryset) -> None:
        for env_var in queryset.select_related("project"):
            self.delete_model(request, env_var)


@admin.register(AuditEntry)
class AuditEntryAdmin(BigTableAdmin):
    """Who did what, for staff: read only (an audit log nobody can edit)."""

    list_display = ["created_at", "project_slug", "action", "actor_label", "summary"]
    # A project is found by searching its name: a filter listing the projects that have
    # entries would read every entry to list them.
    list_filter = ["action"]
    list_select_related = ["project"]
    search_fields = ["project_slug", "actor_label", "summary"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
