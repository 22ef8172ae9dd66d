"""Commit statuses sent to a fake git host on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from builds.models import Build
from previews import services, status
from previews.models import Preview
from routing import services as routing
from tests.unit.previews import payloads
from tests.unit.previews.payloads import HEAD

pytestmark = pytest.mark.django_db
TOKEN = "ghp_previewtoken0123456789"


@pytest.fixture
def fake_host():
    """A git host's API on loopback that records each request and answers 201."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            seen.append(
                {
                    "path": self.path,
                    "auth": self.headers["Authorization"],
                    "body": json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/repos/acme/shop", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def preview_build(project, secret, post_hook) -> Build:
    post_hook(*payloads.github(secret))
    return Build.objects.get()


@override_settings(DEPLOYER_OUTBOUND_ALLOW_NETWORKS=["127.0.0.0/8"])
def test_live_preview_sets_a_success_status_with_its_address(fake_host, project, preview_build):
    url, seen = fake_host
    services.save_settings(
        project, enabled=True, max_running=3, idle_hours=0, status_api_url=url, status_token=TOKEN
    )
    Build.objects.filter(pk=preview_build.pk).update(state=Build.State.LIVE)

    note = status.report(preview_build.pk)

    assert seen == [
        {
            "path": f"/repos/acme/shop/statuses/{HEAD}",
            "auth": f"token {TOKEN}",
            "body": {
                "state": "success",
                "target_url": routing.app_url("pr-7-shop.localhost"),
                "description": "The preview is live.",
                "context": "deployer/preview",
            },
        }
    ]
    assert note == "Commit status success sent (201 Created)."
    assert Preview.objects.get().status_note == note
    assert TOKEN not in Preview.objects.get().status_note


@override_settings(DEPLOYER_OUTBOUND_ALLOW_NETWORKS=["127.0.0.0/8"])
def test_a_failed_preview_build_sets_a_failure_status(fake_host, project, preview_build):
    url, seen = fake_host
    services.save_settings(
        project, enabled=True, max_running=3, idle_hours=0, status_api_url=url, status_token=TOKEN
    )
    Build.objects.filter(pk=preview_build.pk).update(state=Build.State.FAILED)

    status.report(preview_build.pk)

    assert seen[0]["body"]["state"] == "failure"


def test_a_status_address_on_loopback_is_refused_when_saved(project):
    with pytest.raises(ValidationError) as caught:
        services.save_settings(
            project,
            enabled=True,
            max_running=3,
            idle_hours=0,
            status_api_url="http://127.0.0.1:9/repos/acme/shop",
            status_token=TOKEN,
        )

    assert "127.0.0.1" in str(caught.value)


def test_no_status_is_sent_without_a_token(project, preview_build):
    assert status.report(preview_build.pk) == "no status settings"
