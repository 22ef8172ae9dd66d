"""Notification messages: their email and webhook forms, the signature, and the sending.

The receiver of a webhook verifies it by computing the HMAC-SHA256 of the raw body with the
project's signing secret and comparing it to `X-Deployer-Signature: sha256=<hex>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError

SIGNATURE_HEADER = "X-Deployer-Signature"
MAX_URL_LENGTH = 2000
# Discord refuses longer embed descriptions; Slack truncates long sections.
MAX_TEXT = 3000
TONE_COLOURS = {"ok": 0x1E8E3E, "bad": 0xD93025, "warn": 0xE37400, "info": 0x2456D6}
TONE_EMOJI = {"ok": ":white_check_mark:", "bad": ":red_circle:", "warn": ":warning:"}


@dataclass(frozen=True)
class Message:
    """What happened, in words, before it becomes an email or a webhook body."""

    event: str  # health.changed, deploy.succeeded, deploy.failed or test
    project: str
    title: str
    text: str
    time: datetime
    tone: str = "info"  # ok, bad, warn or info
    state: str = ""
    previous_state: str = ""
    build: int | None = None
    app_url: str = ""


class DeliveryError(Exception):
    """Sending failed; `retry` says whether trying again may help."""

    def __init__(self, reason: str, *, retry: bool = True, status: int | None = None):
        super().__init__(reason)
        self.retry = retry
        self.status = status


def payload(message: Message, fmt: str) -> dict:
    """The JSON body for a webhook in `fmt`: generic, slack or discord."""
    text = message.text[:MAX_TEXT]
    if fmt == "slack":
        emoji = TONE_EMOJI.get(message.tone, "")
        return {
            "text": f"{message.title}: {text}",
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"{emoji} *{_slack(message.title)}*\n{_slack(text)}".strip(),
                    },
                },
                {
                    "type": "context",
                    "elements": [
                        {
                            "type": "mrkdwn",
                            "text": f"Deployer · {_slack(message.project)} · "
                            f"{message.time.isoformat(timespec='seconds')}",
                        }
                    ],
                },
            ],
        }
    if fmt == "discord":
        return {
            "username": "Deployer",
            "content": message.title[:2000],
            "embeds": [
                {
                    "title": message.title[:256],
                    "description": text,
                    "color": TONE_COLOURS.get(message.tone, TONE_COLOURS["info"]),
                    "timestamp": message.time.isoformat(),
                    "footer": {"text": f"Deployer · {message.project}"[:2048]},
                }
            ],
            # An app's reason text must never ping @everyone or a role.
            "allowed_mentions": {"parse": []},
        }
    return {
        "event": message.event,
        "project": message.project,
        "title": message.title,
        "text": message.text,
        "state": message.state,
        "previous_state": message.previous_state,
        "build": message.build,
        "app_url": message.app_url,
        "time": message.time.isoformat(),
    }


def encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def sign(body: bytes, secret: str) -> str:
    """The value of X-Deployer-Signature for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(body, secret), signature or "")


def email_text(message: Message) -> tuple[str, str]:
    """(subject, plain text body) of the email for `message`."""
    lines = [message.title, "", message.text, ""]
    if message.app_url:
        lines.append(f"App: {message.app_url}")
    lines.append(f"Time: {message.time.isoformat(timespec='seconds')}")
    lines += ["", "-- Deployer (change these notifications on the project's page)"]
    return f"[Deployer] {message.title}"[:300], "\n".join(lines)


def validate_webhook_url(url: str) -> None:
    """Accept an absolute http or https URL with a host; raise ValidationError otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"Use at most {MAX_URL_LENGTH} characters.")
    if any(char.isspace() or ord(char) < 32 for char in url):
        raise ValidationError("A URL cannot contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValidationError("This is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise ValidationError("Only http:// and https:// webhook URLs are accepted.")
    if not parts.hostname:
        raise ValidationError("The URL needs a host name.")
    if parts.username or parts.password:
        raise ValidationError("Put no user name or password in the URL.")


def masked_url(url: str) -> str:
    """The URL with its path hidden: Slack and Discord put their token in the path."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    hidden = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.hostname}{port}{hidden}"


def post_webhook(url: str, body: bytes, *, secret: str, event: str, delivery: int) -> int:
    """POST the signed body; return the status. Raises DeliveryError unless it is 2xx.

    Redirects are not followed: a signed body goes only where it was configured to go.
    4xx answers other than 408 and 429 will not change on a retry.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Deployer-notify/1",
        SIGNATURE_HEADER: sign(body, secret),
        "X-Deployer-Event": event,
        "X-Deployer-Delivery": str(delivery),
    }
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=settings.DEPLOYER_NOTIFY_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise DeliveryError(f"The request failed: {_request_error(exc)}") from exc
    if 200 <= response.status_code < 300:
        return response.status_code
    retry = response.status_code >= 500 or response.status_code in (408, 429)
    detail = response.text[:200].strip()
    raise DeliveryError(
        f"The receiver answered {response.status_code} {response.reason or ''}".rstrip()
        + (f": {detail}" if detail else "."),
        retry=retry,
        status=response.status_code,
    )


def send_email(recipients: list[str], subject: str, text: str) -> None:
    """Send through Django's configured mail backend. Raises DeliveryError."""
    try:
        mail.send_mail(subject, text, None, recipients, fail_silently=False)
    except Exception as exc:  # any backend's failure is a failed delivery
        raise DeliveryError(f"The mail server refused: {type(exc).__name__}: {exc}") from exc


def _slack(text: str) -> str:
    """Escape what Slack's mrkdwn treats as markup, so `<!channel>` in a reason stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _request_error(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {settings.DEPLOYER_NOTIFY_TIMEOUT:.0f} s"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect"
    return type(exc).__name__
