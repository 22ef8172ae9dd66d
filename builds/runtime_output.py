"""The logs section: the live container's output, redacted of the project's secrets,
filtered by text and time, followed with a cursor like a build's log, and downloaded."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from builds import docker as docker_seam
from builds.buildlog import Redactor
from builds.models import Deployment
from builds.pipeline import runtime_logs
from builds.services import live_deployment
from deployer import engine_relay
from projects import crypto
from projects import services as project_services

# The time windows the section offers, in seconds.
WINDOWS = {"5m": 300, "15m": 900, "1h": 3600, "6h": 6 * 3600, "24h": 24 * 3600}
MAX_QUERY_CHARS = 200
# What one page or poll reads from the engine at most, and a download.
READ_MAX_BYTES = 2_000_000
DOWNLOAD_MAX_BYTES = 20_000_000
CONTAINER_ID = re.compile(r"[0-9a-f]{12,64}")


class BadRequest(ValueError):
    """A filter or cursor the section does not know: said in words, never an error page."""


@dataclass
class Output:
    live: Deployment | None
    lines: list[runtime_logs.Line] = field(default_factory=list)
    cursor: str = ""  # the engine's timestamp to follow from; "" when nothing can be followed
    error: str = ""
    cut: bool = False  # the read's byte bound left older lines out
    switched: bool = False  # another container went live since the cursor's


def check_filters(query: str, window: str) -> None:
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"The text filter is limited to {MAX_QUERY_CHARS} characters.")
    if window and window not in WINDOWS:
        raise BadRequest(
            f"Unknown time window {window[:20]!r}: choose one of {', '.join(WINDOWS)}."
        )


def output(
    project, *, after: str = "", container: str = "", query: str = "", window: str = ""
) -> Output:
    """The live container's lines: its last DEPLOYER_RUNTIME_LOG_LINES (or those of the time
    `window`), or with `after` the ones printed since that cursor of `container`. Lines
    that do not contain `query` (any case) are left out, but the cursor passes them."""
    check_filters(query, window)
    if after:
        try:
            runtime_logs.moment(after)
        except runtime_logs.BadCursor as exc:
            raise BadRequest(str(exc)) from None
    live = live_deployment(project)
    result = Output(live)
    if live is None:
        return result
    if after and container and not live.container_id.startswith(container):
        after, result.switched = "", True  # a deploy since: follow the new container from its start
    try:
        # The app prints what it likes, its secrets too: hidden before anything is shown.
        redact = Redactor(project_services.secret_values(project))
    except crypto.InvalidToken:
        result.error = (
            "its secrets cannot be decrypted with DEPLOYER_SECRETS_KEY, so they could not be "
            "hidden from it."
        )
        return result
    try:
        read = container_logs(
            live.container_id,
            after=after,
            since_seconds=time.time() - WINDOWS[window] if window and not after else None,
            tail=settings.DEPLOYER_RUNTIME_LOG_LINES,
            max_bytes=READ_MAX_BYTES,
            timeout=5,
        )
    except Exception as exc:  # noqa: BLE001 - shown as a sentence in place of the lines
        result.error = docker_seam.describe_error(exc)
        result.cursor = after
        return result
    result.cut = read.cut
    result.cursor = read.lines[-1].at if read.lines else after or _engine_now()
    # Line by line: each line of a multi-line secret is a value of its own to the redactor.
    texts = [redact(line.text) for line in read.lines]
    needle = query.casefold()
    result.lines = [
        runtime_logs.Line(line.at, text)
        for line, text in zip(read.lines, texts, strict=True)
        if needle in text.casefold()
    ]
    return result


def download(project, lines: int) -> tuple[Deployment, list[str]]:
    """The live container's last `lines` lines (at most DEPLOYER_RUNTIME_LOG_DOWNLOAD_LINES),
    redacted, each with its time; raises BadRequest when nothing runs or the engine refuses."""
    if not 1 <= lines <= settings.DEPLOYER_RUNTIME_LOG_DOWNLOAD_LINES:
        raise BadRequest(
            f"Download between 1 and {settings.DEPLOYER_RUNTIME_LOG_DOWNLOAD_LINES} lines."
        )
    live = live_deployment(project)
    if live is None:
        raise BadRequest("No container is running, so there is no output to download.")
    redact = Redactor(project_services.secret_values(project))
    try:
        read = container_logs(
            live.container_id, tail=lines, max_bytes=DOWNLOAD_MAX_BYTES, timeout=30
        )
    except Exception as exc:  # noqa: BLE001 - said in words
        raise BadRequest(docker_seam.describe_error(exc)) from None
    texts = [redact(line.text) for line in read.lines]
    return live, [f"{line.at} {text}" for line, text in zip(read.lines, texts, strict=True)]


def container_logs(
    container_id: str,
    *,
    after: str = "",
    since_seconds: float | None = None,
    tail: int,
    max_bytes: int,
    timeout: int,
) -> runtime_logs.Read:
    """The engine's read of a container's output: here, or asked of a worker when this
    process has no engine (DEPLOYER_ENGINE_FROM_WORKER). Raises what the read raises, or
    engine_relay.RelayError."""
    params = {
        "container_id": container_id,
        "after": after,
        "since_seconds": since_seconds,
        "tail": tail,
        "max_bytes": max_bytes,
        "timeout": timeout,
    }
    if not engine_relay.enabled():
        return _read_container_logs(**params)
    answer = engine_relay.ask("container-logs", params, timeout=timeout + 5)
    return runtime_logs.Read(
        [runtime_logs.Line(at, text) for at, text in answer["lines"]], answer["cut"]
    )


def relayed_container_logs(**params) -> dict:
    """container_logs for a web that asked through the engine relay, as JSON values."""
    if not CONTAINER_ID.fullmatch(str(params.get("container_id", ""))):
        raise BadRequest("not a container id")
    read = _read_container_logs(**params)
    return {"lines": [(line.at, line.text) for line in read.lines], "cut": read.cut}


def _read_container_logs(
    *,
    container_id: str,
    after: str,
    since_seconds: float | None,
    tail: int,
    max_bytes: int,
    timeout: int,
) -> runtime_logs.Read:
    with docker_seam.client(timeout=timeout) as client:
        return runtime_logs.read(
            client,
            container_id,
            after=after,
            since_seconds=since_seconds,
            tail=min(int(tail), settings.DEPLOYER_RUNTIME_LOG_DOWNLOAD_LINES),
            max_bytes=min(int(max_bytes), DOWNLOAD_MAX_BYTES),
            max_line_chars=settings.DEPLOYER_BUILD_LOG_MAX_LINE_CHARS,
        )


def _engine_now() -> str:
    """A cursor for a container that printed nothing yet: now, in the engine's format (the
    engine and Deployer share a clock here; a second early, so nothing printed now is lost)."""
    moment = datetime.fromtimestamp(time.time() - 1, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
