from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from kombu import Connection

from deployer.broker import Transport

MESSAGES = 400


def _connection(folder) -> Connection:
    return Connection(
        transport=Transport,
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(folder),
            "store_processed": False,
        },
    )


def test_a_consumer_reading_while_producers_write_gets_every_message_whole(tmp_path):
    """kombu's own transport created the file before writing it: a reader in between took an
    empty message and the worker stopped with JSONDecodeError."""
    received: list[dict] = []
    failures: list[BaseException] = []
    writers_done = threading.Event()

    def produce(connection, first: int) -> None:
        try:
            with connection:
                queue = connection.SimpleQueue("deploys")
                for number in range(first, MESSAGES, 2):
                    queue.put({"number": number, "padding": "x" * 20_000})
                queue.close()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)

    def consume() -> None:
        try:
            with _connection(tmp_path) as connection:
                queue = connection.SimpleQueue("deploys")
                deadline = time.monotonic() + 60
                while len(received) < MESSAGES and time.monotonic() < deadline:
                    try:
                        message = queue.get_nowait()
                    except queue.Empty:
                        if writers_done.is_set() and not list(tmp_path.glob("*.msg")):
                            break
                        time.sleep(0.001)  # a busy loop here starved the writers under load
                        continue
                    received.append(message.payload)
                    message.ack()
                queue.close()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)

    # Connected and declared here, one after the other: what runs at once is the writing and
    # the reading. (kombu's transport also races when two processes declare the first binding
    # of an exchange at once, and a message published before any binding exists is dropped:
    # not what this test is about. Celery declares its queues when each process starts.)
    connections = [_connection(tmp_path) for _ in range(2)]
    for connection in connections:
        connection.connect()
        connection.SimpleQueue("deploys")
    reader = threading.Thread(target=consume)
    reader.start()
    writers = [
        threading.Thread(target=produce, args=(connection, first))
        for connection, first in zip(connections, (0, 1), strict=True)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    writers_done.set()
    reader.join(60)

    assert failures == []
    assert sorted(payload["number"] for payload in received) == list(range(MESSAGES))
    assert not list(tmp_path.glob(".partial-*"))


def test_the_embedded_broker_uses_the_atomic_transport():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.CELERY_BROKER_TRANSPORT)",
        ],
        cwd=Path(__file__).resolve().parents[3],
        env={**env, "DJANGO_SETTINGS_MODULE": "deployer.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert shown.stdout.strip() == "deployer.broker:Transport", shown.stderr[-2000:]
