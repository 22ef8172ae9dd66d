"""The add-domain form parses and displays; the rules run in routing.services.add_domain."""

from __future__ import annotations

from django import forms


class DomainForm(forms.Form):
    hostname = forms.CharField(
        label="Domain",
        max_length=253,
        widget=forms.TextInput(
            attrs={"placeholder": "www.example.com", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text="Point its DNS (A/AAAA or CNAME record) at this server.",
    )
