"""The pure parts of detection previews: the settings key and the deadline's verdict."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from builds import preview
from builds.models import DetectionPreview
from builds.pipeline.plan import Overrides

State = DetectionPreview.State


def test_the_same_settings_give_the_same_key():
    first = preview.preview_key("main", "", Overrides(system_packages=["libpq5"]))
    again = preview.preview_key("main", "", Overrides(system_packages=["libpq5"]))

    assert first == again
    assert len(first) == 64


def test_branch_app_root_and_every_override_change_the_key():
    base = preview.preview_key("main", "", Overrides())

    assert preview.preview_key("develop", "", Overrides()) != base
    assert preview.preview_key("main", "web", Overrides()) != base
    assert preview.preview_key("main", "", Overrides(framework="flask")) != base
    assert preview.preview_key("main", "", Overrides(start_command="gunicorn a:b")) != base
    assert preview.preview_key("main", "", Overrides(keep_sqlite=False)) != base


def _row(state: str, deadline_in: float) -> DetectionPreview:
    now = timezone.now()
    return DetectionPreview(
        state=state, requested_at=now, deadline=now + timedelta(seconds=deadline_in)
    )


def test_a_preview_before_its_deadline_may_still_come():
    now = timezone.now()

    assert preview.unfinished_reason(_row(State.PENDING, 30), now) == ""
    assert preview.unfinished_reason(_row(State.RUNNING, 30), now) == ""


def test_past_its_deadline_a_pending_preview_blames_the_missing_worker():
    reason = preview.unfinished_reason(_row(State.PENDING, -1), timezone.now())

    assert reason.startswith("The preview could not be made: no worker started it within 60 s")
    assert "celery -A deployer worker" in reason


def test_past_its_deadline_a_running_preview_says_it_did_not_finish():
    reason = preview.unfinished_reason(_row(State.RUNNING, -1), timezone.now())

    assert reason.startswith("The preview could not be made: the worker did not finish it")


def test_a_finished_preview_has_no_deadline_verdict():
    now = timezone.now()

    assert preview.unfinished_reason(_row(State.READY, -100), now) == ""
    assert preview.unfinished_reason(_row(State.FAILED, -100), now) == ""
