"""Engine reads for a web process that has no engine (DEPLOYER_ENGINE_FROM_WORKER).

In the compose deployment only the worker gets the Docker socket: the web, the process most
exposed to the Internet, must not hold root on the host. What the dashboard reads from the
engine (a running app's output) it asks of the worker over Redis: the request goes on a list,
a thread in every worker's main process takes it, runs the named read and pushes the answer
on the request's own reply key. The thread does not take a pool slot, so a page gets its
answer even while every slot runs a build.

Only the reads named in OPERATIONS can be asked, with JSON values; a request that waited past
its deadline is dropped (its page has given up already).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.utils.module_loading import import_string

from builds import docker as docker_seam

logger = logging.getLogger(__name__)

REQUESTS = "deployer:engine-relay:requests"
REPLY_PREFIX = "deployer:engine-relay:reply:"
# Read by name, so this module imports nothing of the apps (no import circle).
OPERATIONS = {"container-logs": "builds.runtime_output.relayed_container_logs"}


class RelayError(RuntimeError):
    """No worker answered, or the one that did failed: said in words on the page."""


def enabled() -> bool:
    return bool(settings.DEPLOYER_ENGINE_FROM_WORKER)


def _redis() -> redis.Redis:
    if not settings.REDIS_URL:
        raise RelayError(
            "DEPLOYER_ENGINE_FROM_WORKER needs REDIS_URL: the web asks the worker there."
        )
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=30, socket_connect_timeout=5)


def ask(operation: str, params: dict[str, Any], *, timeout: float = 10.0) -> Any:
    """The worker's answer to `operation` with `params`; raises RelayError when no worker
    answers within `timeout` seconds or the read failed there."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown engine relay operation {operation!r}")
    reply = f"{REPLY_PREFIX}{uuid.uuid4().hex}"
    request = {"op": operation, "params": params, "reply": reply, "deadline": time.time() + timeout}
    try:
        with _redis() as connection:
            connection.rpush(REQUESTS, json.dumps(request))
            answer = connection.blpop([reply], timeout=max(1, round(timeout)))
    except redis.RedisError as exc:
        raise RelayError(f"Redis could not be reached to ask the worker: {exc}") from None
    if answer is None:
        raise RelayError(
            f"No worker answered within {timeout:.0f} s: the engine is read by the worker "
            "in this deployment, and none is running or all are stopped."
        )
    body = json.loads(answer[1])
    if "error" in body:
        raise RelayError(body["error"])
    return body["value"]


def answer_one(connection: redis.Redis, *, wait: float = 1.0) -> bool:
    """Take one request (waiting up to `wait` s) and push its answer; False when none came."""
    got = connection.blpop([REQUESTS], timeout=max(1, round(wait)))
    if got is None:
        return False
    try:
        request = json.loads(got[1])
        reply, operation = str(request["reply"]), str(request["op"])
        deadline = float(request["deadline"])
    except (ValueError, KeyError, TypeError):
        logger.warning("Engine relay: dropped a malformed request")
        return True
    if not reply.startswith(REPLY_PREFIX) or time.time() > deadline:
        return True
    try:
        function: Callable[..., Any] = import_string(OPERATIONS[operation])
        body = {"value": function(**request.get("params", {}))}
    except Exception as exc:  # noqa: BLE001 - the asking page says it in words
        body = {"error": docker_seam.describe_error(exc)}
    connection.rpush(reply, json.dumps(body))
    connection.expire(reply, 60)
    return True


def serve(stop: threading.Event) -> None:
    """Answer requests until `stop` is set; Redis being away is waited out."""
    while not stop.is_set():
        try:
            with _redis() as connection:
                while not stop.is_set():
                    answer_one(connection)
        except (redis.RedisError, RelayError) as exc:
            logger.warning("Engine relay: %s; trying again in 5 s", exc)
            stop.wait(5)


def start_thread() -> threading.Event:
    """The relay thread of a worker (a daemon: it ends with the process)."""
    stop = threading.Event()
    threading.Thread(target=serve, args=(stop,), name="engine-relay", daemon=True).start()
    return stop
