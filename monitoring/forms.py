"""The notification settings form: it parses and displays; monitoring.services holds the rules."""

from __future__ import annotations

from django import forms

from monitoring.models import NotificationSettings


class NotificationSettingsForm(forms.Form):
    email_owner = forms.BooleanField(required=False, label="Email the project's owner")
    extra_emails = forms.CharField(
        required=False,
        label="Other email addresses",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="One per line or separated by commas.",
    )
    webhook_url = forms.CharField(
        required=False,
        label="Webhook URL",
        max_length=2000,
        strip=True,
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="http:// or https://. Stored encrypted; leave empty to keep the current one.",
    )
    remove_webhook = forms.BooleanField(required=False, label="Remove the webhook")
    webhook_format = forms.ChoiceField(
        choices=NotificationSettings.Format.choices, label="Webhook format"
    )
    on_health = forms.BooleanField(required=False, label="When the app's health changes")
    on_deploy = forms.BooleanField(required=False, label="When a deploy succeeds or fails")

    @classmethod
    def for_settings(cls, prefs: NotificationSettings, data=None) -> NotificationSettingsForm:
        initial = {
            "email_owner": prefs.email_owner,
            "extra_emails": prefs.extra_emails,
            "webhook_format": prefs.webhook_format,
            "on_health": prefs.on_health,
            "on_deploy": prefs.on_deploy,
        }
        return cls(data, initial=initial)

    def service_arguments(self) -> dict:
        """Keyword arguments of alerts.update_notification_settings."""
        data = self.cleaned_data
        url = "" if data["remove_webhook"] else (data["webhook_url"] or None)
        return {
            "email_owner": data["email_owner"],
            "extra_emails": data["extra_emails"],
            "webhook_url": url,
            "webhook_format": data["webhook_format"],
            "on_health": data["on_health"],
            "on_deploy": data["on_deploy"],
        }
