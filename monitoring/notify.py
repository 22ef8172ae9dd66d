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

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError

from deployer import outbound

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
    """Accept an absolute http or https URL whose host resolves only to addresses Deployer
    may send to (deployer.outbound); raise ValidationError saying what is wrong otherwise."""
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
    try:
        outbound.check_url(url)
    except outbound.Refused as exc:
        raise ValidationError(_masked_reason(exc, url)) from None


def masked_url(url: str) -> str:
    """The URL with its path hidden: Slack and Discord put their token in the path."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    hidden = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.hostname}{port}{hidden}"


def post_webhook(url: str, body: bytes, *, secret: str, event: str, delivery: int) -> int:
    """POST the signed body; return the status. Raises DeliveryError unless it is 2xx.

    The URL is checked again here, since its DNS may have changed since it was saved, and the
    request goes to the address just checked (deployer.outbound). Redirects are not followed:
    a signed body goes only where it was configured to go. Nothing the receiver writes is
    kept or shown: only its status. 4xx answers other than 408 and 429 will not change on a
    retry.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Deployer-notify/1",
        SIGNATURE_HEADER: sign(body, secret),
        "X-Deployer-Event": event,
        "X-Deployer-Delivery": str(delivery),
    }
    try:
        target = outbound.check_url(url)
        answer = outbound.request(
            target, "POST", body=body, headers=headers, timeout=settings.DEPLOYER_NOTIFY_TIMEOUT
        )
    except outbound.Refused as exc:
        raise DeliveryError(f"Refused: {_masked_reason(exc, url)}", retry=False) from exc
    except outbound.Failed as exc:
        raise DeliveryError(f"The request failed: {exc}") from exc
    if 200 <= answer.status < 300:
        return answer.status
    retry = answer.status >= 500 or answer.status in (408, 429)
    note = " (a redirect: not followed)" if answer.is_redirect else ""
    raise DeliveryError(f"The receiver answered {answer}{note}.", retry=retry, status=answer.status)


def send_email(recipients: list[str], subject: str, text: str) -> None:
    """Send through Django's configured mail backend. Raises DeliveryError."""
    try:
        mail.send_mail(subject, text, None, recipients, fail_silently=False)
    except Exception as exc:  # any backend's failure is a failed delivery
        raise DeliveryError(f"The mail server refused: {type(exc).__name__}: {exc}") from exc


def _slack(text: str) -> str:
    """Escape what Slack's mrkdwn treats as markup, so `<!channel>` in a reason stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _masked_reason(exc: outbound.Refused, url: str) -> str:
    """The refusal with the URL's path hidden: stored and shown, it must not carry a token."""
    return str(exc).replace(url, masked_url(url))
