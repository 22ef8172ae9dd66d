"""Deliveries failed before issue 18 kept up to 200 characters of the receiver's answer in
`error` ("The receiver answered 500 Error: <body>"). Nothing a receiver writes is stored any
more: keep the status and its standard reason only."""

from __future__ import annotations

import http
import re

from django.db import migrations

ANSWERED = re.compile(r"^The receiver answered (\d{3})\b")


def scrub(apps, schema_editor):
    Delivery = apps.get_model("monitoring", "NotificationDelivery")
    for delivery in Delivery.objects.filter(error__startswith="The receiver answered ").iterator():
        match = ANSWERED.match(delivery.error)
        code = int(match.group(1)) if match else 0
        try:
            phrase = http.HTTPStatus(code).phrase
        except ValueError:
            phrase = ""
        text = f"The receiver answered {code} {phrase}".rstrip() + "." if code else ""
        Delivery.objects.filter(pk=delivery.pk).update(error=text)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]
