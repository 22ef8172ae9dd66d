"""Custom domains need a proof before they are routed.

Domains that exist before this migration were routed already: they are kept verified
(method "dns", reason saying so), so live sites do not go offline on upgrade. Each gets a
token anyway. New domains start pending.
"""

from django.db import migrations, models
from django.utils import timezone

import routing.models

KEPT = "Kept verified on upgrade: added before domains needed a proof."


def keep_existing_verified(apps, schema_editor):
    Domain = apps.get_model("routing", "Domain")
    now = timezone.now()
    for domain in Domain.objects.all():
        domain.token = routing.models.new_token()
        domain.state = "verified"
        domain.verified_at = now
        domain.last_check_reason = KEPT
        domain.save(update_fields=["token", "state", "verified_at", "last_check_reason"])


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="domain",
            name="state",
            field=models.CharField(
                choices=[("pending", "Pending"), ("verified", "Verified")],
                db_index=True,
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="domain",
            name="token",
            field=models.CharField(default=routing.models.new_token, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="domain",
            name="method",
            field=models.CharField(
                choices=[
                    ("dns", "DNS TXT record"),
                    ("http", "HTTP token"),
                    ("own", "under the app's own address"),
                ],
                default="dns",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="domain",
            name="verified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="domain",
            name="last_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="domain",
            name="last_check_reason",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.RunPython(keep_existing_verified, migrations.RunPython.noop),
    ]
