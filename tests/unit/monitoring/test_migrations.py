from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from monitoring.models import NotificationDelivery

pytestmark = pytest.mark.django_db

scrub = importlib.import_module("monitoring.migrations.0002_scrub_receiver_text").scrub


def test_receiver_text_kept_by_older_versions_is_scrubbed(project):
    def delivery(error: str) -> NotificationDelivery:
        return NotificationDelivery.objects.create(
            project=project,
            channel="webhook",
            kind="test",
            target="x",
            subject="s",
            body="{}",
            status="failed",
            error=error,
        )

    old = delivery("The receiver answered 500 Internal Server Error: password=hunter2")
    odd = delivery("The receiver answered 599 Weird: token=abc")
    other = delivery("The request failed: could not connect")

    scrub(apps, None)

    for row in (old, odd, other):
        row.refresh_from_db()
    assert old.error == "The receiver answered 500 Internal Server Error."
    assert odd.error == "The receiver answered 599."
    assert other.error == "The request failed: could not connect"
