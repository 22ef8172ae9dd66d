from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from deployer.adminlists import LIST_PER_PAGE
from routing import services
from routing.models import Domain
from routing.validators import normalise_hostname, validate_custom_domain


class DomainAdminForm(forms.ModelForm):
    """The admin's add form, held to the same rules as the project page."""

    class Meta:
        model = Domain
        fields = ["project", "hostname"]

    def clean(self) -> dict:
        cleaned = super().clean()
        project, hostname = cleaned.get("project"), cleaned.get("hostname")
        if project and hostname:
            cleaned["hostname"] = normalise_hostname(hostname)
            try:
                validate_custom_domain(cleaned["hostname"], project.slug)
            except ValidationError as exc:
                self.add_error("hostname", exc)
        return cleaned


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_per_page = LIST_PER_PAGE
    form = DomainAdminForm
    list_display = ["hostname", "project", "state", "method", "last_checked_at", "created_at"]
    list_filter = ["state", "method"]
    search_fields = ["hostname", "project__slug"]
    list_select_related = ["project"]
    actions = ["check_now", "reconcile_routes"]
    PROOF_FIELDS = [
        "state",
        "method",
        "token",
        "verified_at",
        "last_checked_at",
        "last_check_reason",
    ]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # A domain moves by removing it, then adding it to the other project under the rules;
        # it becomes verified only through a proof, never by editing its state.
        if obj:
            return ["project", "hostname", *self.PROOF_FIELDS, "created_at"]
        return [*self.PROOF_FIELDS, "created_at"]

    @admin.action(description="Check the proof of the selected pending domains now")
    def check_now(self, request, queryset) -> None:
        for domain in queryset.select_related("project"):
            result = services.check_domain(domain)
            level = messages.SUCCESS if result.ok else messages.WARNING
            self.message_user(request, f"{domain.hostname}: {result.reason}", level)

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.pk = services.add_domain(obj.project, obj.hostname, actor=request.user).pk

    def delete_model(self, request, obj) -> None:
        services.remove_domain(obj, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        for domain in queryset:
            services.remove_domain(domain, actor=request.user)

    @admin.action(description="Reconcile Caddy's routes with the database now")
    def reconcile_routes(self, request, queryset) -> None:
        try:
            result = services.sync_routes()
        except services.RoutingError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        state = "updated" if result.changed else "already up to date"
        self.message_user(request, f"Caddy's routes {state}: {result.routes} route(s).")
