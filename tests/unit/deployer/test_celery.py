from __future__ import annotations

import time

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from builds.tasks import reap_lost_builds
from deployer.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def _before_task(task) -> None:
    """The signal a worker sends before it runs a task."""
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})


def _run_task_signals(task) -> None:
    """The signals a worker sends around a task, with Celery's own Django fixup installed."""
    _before_task(task)
    task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None)


@pytest.fixture
def worker_fixup():
    fixup = DjangoWorkerFixup(app).install()
    yield fixup
    task_prerun.disconnect(fixup.on_task_prerun)
    task_postrun.disconnect(fixup.on_task_postrun)


def test_tasks_keep_their_process_database_connection(worker_fixup):
    connection.ensure_connection()
    before = connection.connection

    for _ in range(3):
        _run_task_signals(reap_lost_builds)

    assert connection.connection is before
    assert not before.closed


def test_a_connection_past_its_max_age_is_replaced_before_the_next_task(worker_fixup):
    connection.ensure_connection()
    before = connection.connection
    connection.close_at = time.monotonic() - 1

    _before_task(reap_lost_builds)

    assert before.closed
    assert reap_lost_builds.run() == 0  # the task's first query opens a new connection
    assert connection.connection is not before


def test_a_broken_connection_is_replaced_before_the_next_task(worker_fixup):
    connection.ensure_connection()
    before = connection.connection
    before.close()  # as when PostgreSQL restarted under a kept connection

    _before_task(reap_lost_builds)

    assert reap_lost_builds.run() == 0
    assert connection.connection is not before
