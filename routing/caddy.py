"""The one place that talks to Caddy's admin API (https://caddyserver.com/docs/api).

Plain JSON over HTTP with a timeout; every failure becomes a CaddyError whose message can
be shown to a person as it is.
"""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings


class CaddyError(Exception):
    """Caddy could not be reached or refused a change; the message says which, in words."""


class CaddyUnavailable(CaddyError):
    """Nothing answers at the admin address (Caddy stopped, restarting, or never started)."""


def get(path: str) -> Any | None:
    """The config at `path` (e.g. "apps/http/servers/deployer"); None when there is nothing there."""
    response = _request("GET", path)
    if response.status_code in (400, 404) and _is_missing_path(response):
        return None
    _raise_for_error(response, "read")
    return response.json()


def put(path: str, value: Any) -> None:
    """Replace the value at `path`, or create it (and the objects above it) when it is missing.

    One request is one atomic config change: Caddy loads the new config beside the old one and
    switches without dropping a connection, or keeps the old one and answers with the error.
    """
    method = "PATCH" if get(path) is not None else "PUT"
    _raise_for_error(_request(method, path, value), "apply")


def _request(method: str, path: str, value: Any = None) -> requests.Response:
    url = f"{_admin_url()}/config/{path.strip('/')}"
    timeout = settings.DEPLOYER_CADDY_TIMEOUT
    try:
        return requests.request(
            method, url, json=value if method != "GET" else None, timeout=timeout
        )
    except requests.Timeout as exc:
        raise CaddyUnavailable(
            f"Caddy's admin API at {_admin_url()} did not answer within {timeout:g} s."
        ) from exc
    except requests.ConnectionError as exc:
        raise CaddyUnavailable(
            f"Caddy's admin API at {_admin_url()} is not answering: is Caddy running? "
            "(scripts/caddy.sh starts it for development)"
        ) from exc
    except requests.RequestException as exc:
        raise CaddyError(f"Caddy's admin API at {_admin_url()} failed: {exc}") from exc


def _raise_for_error(response: requests.Response, action: str) -> None:
    if response.ok:
        return
    raise CaddyError(
        f"Caddy could not {action} its config (HTTP {response.status_code}): {_error_text(response)}"
    )


def _error_text(response: requests.Response) -> str:
    try:
        return str(response.json().get("error") or response.text).strip()
    except (ValueError, AttributeError):
        return response.text.strip()[:500] or response.reason


def _is_missing_path(response: requests.Response) -> bool:
    # Caddy 2.6 answers 400 "invalid traversal path" for a path that does not exist yet.
    text = _error_text(response)
    return "invalid traversal path" in text or "unknown object ID" in text


def _admin_url() -> str:
    return settings.DEPLOYER_CADDY_ADMIN_URL.rstrip("/")
