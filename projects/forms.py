"""Forms parse and display; the rules themselves run in projects.services (see _attach_errors)."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from projects.models import Membership, Project

PROJECT_FORM_FIELDS = list(Project.EDITABLE_FIELDS)


class ProjectForm(forms.ModelForm):
    members = forms.CharField(
        required=False,
        help_text=(
            "Usernames separated by commas, each with its role: name:deployer (deploy, roll "
            "back, environment, build settings; the default) or name:viewer (read only, never "
            "a secret value). Only the owner manages members, credentials, domains and add-ons."
        ),
    )
    forget_credentials = forms.BooleanField(
        required=False, label="Forget the stored repository credentials"
    )

    class Meta:
        model = Project
        fields = PROJECT_FORM_FIELDS
        widgets = {
            "repo_url": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }

    def __init__(self, *args, owner_fields: bool = True, read_only: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if editing:
            del self.fields["slug"]  # it names containers and the address: fixed once created
            memberships = self.instance.memberships.select_related("user")
            self.initial["members"] = ", ".join(
                f"{m.user.get_username()}:{m.role}"
                for m in sorted(memberships, key=lambda m: m.user.get_username())
            )
        if not editing or not self.instance.has_repo_credentials:
            del self.fields["forget_credentials"]
        # A form posted without it (a script, an older page) keeps the project's choice.
        self.fields["builder"].required = False
        self.fields["web_replicas"].required = False
        if not owner_fields:
            # Only the owner (or staff) chooses where the project's credentials and deploy key
            # are sent: a member may change how the app is built, not which repository it is.
            # A weaker fence (run_as_root) is the owner's choice too.
            for name in Project.OWNER_FIELDS:
                self.fields.pop(name, None)
        if read_only:  # a viewer sees the settings; a posted form is refused before this
            for field in self.fields.values():
                field.disabled = True

    def clean_builder(self) -> str:
        return self.cleaned_data.get("builder") or self.instance.builder or "auto"

    def clean_web_replicas(self) -> int:
        value = self.cleaned_data.get("web_replicas")
        return value if value is not None else (self.instance.web_replicas or 1)

    def clean_members(self) -> list:
        """[(user, role)] from "ada:viewer, grace" (a name alone is a deployer)."""
        entries = [entry for entry in re.split(r"[,\s]+", self.cleaned_data["members"]) if entry]
        roles = {}
        for entry in entries:
            name, _, role = entry.partition(":")
            roles[name] = role.strip().lower() or Membership.Role.DEPLOYER
        wrong = [
            f"{name}:{role}" for name, role in roles.items() if role not in Membership.Role.values
        ]
        if wrong:
            raise ValidationError(f"Unknown role in {', '.join(wrong)}: deployer or viewer.")
        users = {user.get_username(): user for user in _users_named(list(roles))}
        unknown = [name for name in roles if name not in users]
        if unknown:
            raise ValidationError(f"No user named {', '.join(unknown)}.")
        return [(users[name], role) for name, role in roles.items()]

    def service_arguments(self) -> dict:
        """cleaned_data as keyword arguments of services.create_project / update_project."""
        arguments = dict(self.cleaned_data)
        if "members" not in self.fields:
            arguments.pop("members", None)
        return arguments


def _users_named(names: list[str]):
    user_model = get_user_model()
    return user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__in": names}, is_active=True)


class EnvVarForm(forms.Form):
    key = forms.CharField(max_length=255, widget=forms.TextInput(attrs={"spellcheck": "false"}))
    value = forms.CharField(
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    available_at_build = forms.BooleanField(required=False, label="Available at build")
    production_only = forms.BooleanField(
        required=False,
        label="Production only",
        help_text="Never given to a pull request's preview.",
    )
    preview_value = forms.CharField(
        required=False,
        strip=False,
        label="Value in previews",
        help_text="What pull request previews get instead; empty: the same value.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["value"].widget.attrs["placeholder"] = "unchanged"
            self.fields["value"].help_text = "Leave empty to keep the current value."
            self.fields["preview_value"].widget.attrs["placeholder"] = "unchanged"
            self.fields["same_in_previews"] = forms.BooleanField(
                required=False, label="Previews get the production value"
            )


class EnvImportForm(forms.Form):
    env_file = forms.CharField(
        label=".env file",
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 6, "spellcheck": "false", "placeholder": "KEY=value\nOTHER='...'"}
        ),
    )


def attach_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError next to the fields it names, or above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)
