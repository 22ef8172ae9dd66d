from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def builds_stay_queued(monkeypatch):
    """Unit tests never hand a build (or a detection preview) to a real worker.

    In a full run an integration test's Celery worker is alive on the same broker; it would
    run the builds a unit test queues, against the test database, while that database is
    being flushed for the next test (a deadlock seen in CI). Tests that check dispatching
    replace this with their own recorder.
    """
    monkeypatch.setattr("builds.tasks.run_build.delay", lambda build_id: None)
    monkeypatch.setattr("builds.tasks.preview_detection.delay", lambda preview_id: None)
