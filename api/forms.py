from __future__ import annotations

from django import forms

from api.models import ApiToken
from projects.models import Project

EXPIRY_CHOICES = [
    ("30d", "in 30 days"),
    ("90d", "in 90 days"),
    ("365d", "in a year"),
    ("never", "never"),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What it is for, e.g. laptop or GitHub Actions."
    )
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, initial=ApiToken.Scope.DEPLOY)
    project = forms.ModelChoiceField(
        queryset=Project.objects.none(),
        required=False,
        empty_label="Every project I can see",
        help_text="A token for one project with the deploy scope is that project's deploy key for CI.",
    )
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="90d")

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.visible_to(user)
        self.fields["project"].to_field_name = "slug"
