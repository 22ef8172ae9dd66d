"""The engine relay on the real Redis: a web without the engine asks, a worker's thread
answers on the request's own key; late requests are dropped, failures said in words."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid

import pytest
import redis

from deployer import engine_relay


def echo(**params):
    return {"echoed": params}


def refuse(**params):
    raise RuntimeError("the engine refused")


@pytest.fixture
def relay(settings, monkeypatch):
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    monkeypatch.setitem(engine_relay.OPERATIONS, "echo", f"{__name__}.echo")
    monkeypatch.setitem(engine_relay.OPERATIONS, "refuse", f"{__name__}.refuse")
    # A list of this test's own: a real worker of the same Redis (the integration tests'
    # Celery worker may still run) answers on the default one.
    monkeypatch.setattr(
        engine_relay, "REQUESTS", f"{engine_relay.REQUESTS}:test-{uuid.uuid4().hex}"
    )
    connection = redis.Redis.from_url(settings.REDIS_URL)
    connection.delete(engine_relay.REQUESTS)
    yield connection
    connection.delete(engine_relay.REQUESTS)
    connection.close()


@pytest.fixture
def worker_thread(relay):
    stop = engine_relay.start_thread()
    yield
    stop.set()
    time.sleep(1.2)  # the thread's blocking pop ends within a second


def test_a_worker_thread_answers_what_the_web_asks(worker_thread):
    assert engine_relay.ask("echo", {"tail": 5}, timeout=5) == {"echoed": {"tail": 5}}


def test_a_failed_read_is_said_in_words(worker_thread):
    with pytest.raises(engine_relay.RelayError, match="the engine refused"):
        engine_relay.ask("refuse", {}, timeout=5)


def test_no_worker_is_a_clear_error_after_the_timeout(relay):
    with pytest.raises(engine_relay.RelayError, match="No worker answered within 1 s"):
        engine_relay.ask("echo", {}, timeout=1)


def test_a_request_past_its_deadline_gets_no_answer(relay):
    reply = engine_relay.REPLY_PREFIX + "late"
    relay.delete(reply)
    late = {"op": "echo", "params": {}, "reply": reply, "deadline": time.time() - 1}
    relay.rpush(engine_relay.REQUESTS, json.dumps(late))
    assert engine_relay.answer_one(relay)
    assert relay.llen(reply) == 0


def test_only_named_operations_and_reply_keys_are_served(relay):
    with pytest.raises(ValueError, match="unknown engine relay operation"):
        engine_relay.ask("rm -rf", {}, timeout=1)
    # A request naming any other key as its reply is dropped: nothing is written there.
    relay.set("deployer:something-else", "kept")
    forged = {"op": "echo", "params": {}, "reply": "deployer:something-else", "deadline": 2e9}
    relay.rpush(engine_relay.REQUESTS, json.dumps(forged))
    assert engine_relay.answer_one(relay)
    assert relay.get("deployer:something-else") == b"kept"
    relay.delete("deployer:something-else")


def test_the_setting_needs_redis():
    # Settings refuse DEPLOYER_ENGINE_FROM_WORKER without REDIS_URL at start-up.
    env = {"DEPLOYER_ENGINE_FROM_WORKER": "true", "REDIS_URL": "", "PATH": "/usr/bin:/bin"}
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='deployer.settings'; django.setup()"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "DEPLOYER_ENGINE_FROM_WORKER=true needs REDIS_URL" in done.stderr


def test_threads_stop_when_asked(relay):
    stop = engine_relay.start_thread()
    stop.set()
    time.sleep(1.5)
    assert not any(t.name == "engine-relay" and t.is_alive() for t in threading.enumerate())
