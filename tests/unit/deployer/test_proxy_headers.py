"""Forwarding headers are the client's text unless DEPLOYER_BEHIND_PROXY says a proxy wrote them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory

from deployer import clientip

ROOT = Path(__file__).resolve().parents[3]


def _proxy_ssl_header(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "DEPLOYER_BEHIND_PROXY"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.SECURE_PROXY_SSL_HEADER)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "deployer.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_x_forwarded_proto_is_not_trusted_by_default():
    assert _proxy_ssl_header() == "None"


def test_x_forwarded_proto_is_trusted_behind_a_configured_proxy():
    assert _proxy_ssl_header(DEPLOYER_BEHIND_PROXY="true") == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_request_claiming_https_is_not_secure_without_the_setting(rf: RequestFactory):
    request = rf.get("/", HTTP_X_FORWARDED_PROTO="https")

    assert request.is_secure() is False


@pytest.mark.django_db
def test_ssl_redirect_is_not_fooled_by_a_forged_forwarded_proto(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@pytest.mark.django_db
def test_ssl_redirect_believes_the_trusted_proxy(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200


@pytest.mark.django_db
def test_healthz_is_never_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code in (200, 503)


def test_client_ip_ignores_x_forwarded_for_without_the_setting(rf, settings):
    settings.DEPLOYER_BEHIND_PROXY = False
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert clientip.client_ip(request) == "127.0.0.1"


def test_client_ip_takes_the_address_the_trusted_proxy_appended(rf, settings):
    settings.DEPLOYER_BEHIND_PROXY = True
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.9")

    assert clientip.client_ip(request) == "203.0.113.9"


def test_client_ip_ignores_x_forwarded_for_from_a_peer_that_is_not_the_proxy(rf, settings):
    settings.DEPLOYER_BEHIND_PROXY = True
    request = rf.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert clientip.client_ip(request) == "198.51.100.7"


def test_client_ip_ignores_a_forwarded_value_that_is_no_address(rf, settings):
    settings.DEPLOYER_BEHIND_PROXY = True
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="<script>")

    assert clientip.client_ip(request) == "127.0.0.1"


@pytest.mark.parametrize(
    "header", ["HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_VIA", "HTTP_X_REAL_IP"]
)
def test_a_proxied_request_from_loopback_is_not_local(rf, header):
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", **{header: "1.1 caddy"})

    assert clientip.is_local(request) is False


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1"])
def test_a_direct_request_from_loopback_is_local(rf, peer):
    assert clientip.is_local(rf.get("/", REMOTE_ADDR=peer)) is True


def test_a_request_from_another_host_is_not_local(rf):
    assert clientip.is_local(rf.get("/", REMOTE_ADDR="192.0.2.10")) is False


def test_a_proxy_address_that_is_no_ip_address_names_the_variable():
    clean = {k: v for k, v in os.environ.items() if k != "DEPLOYER_PROXY_ADDRESSES"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "deployer.settings",
            "DEPLOYER_PROXY_ADDRESSES": "127.0.0.1,caddy.local",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "DEPLOYER_PROXY_ADDRESSES" in result.stderr
    assert "'caddy.local'" in result.stderr
