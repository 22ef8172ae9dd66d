from __future__ import annotations

import pytest

from builds.buildlog import REDACTED, BuildLog, Redactor, clean
from builds.models import Build

pytestmark = pytest.mark.django_db


@pytest.fixture
def build(user):
    from projects import services

    project = services.create_project(user, slug="logs", repo_url="https://example.com/a.git")
    return Build.objects.create(project=project)


def lines_of(build):
    return list(build.log_lines.order_by("seq").values_list("seq", "stage", "text"))


def test_lines_are_numbered_in_order_with_their_stage(build):
    log = BuildLog(build)
    log.stage = "cloning"
    log("first")
    log("second\nthird", stage="building")

    assert lines_of(build) == [
        (1, "cloning", "first"),
        (2, "building", "second"),
        (3, "building", "third"),
    ]


def test_a_new_writer_resumes_after_the_last_stored_line(build):
    BuildLog(build)("one")
    BuildLog(build)("two")

    assert [seq for seq, _, _ in lines_of(build)] == [1, 2]


def test_secret_values_are_redacted_before_they_are_stored(build):
    log = BuildLog(build, secrets=["hunter2-password", "tok"])
    log("connecting with hunter2-password to db")

    stored = lines_of(build)[0][2]
    assert "hunter2-password" not in stored
    assert stored == f"connecting with {REDACTED} to db"


def test_short_values_are_not_treated_as_secrets():
    assert Redactor(["1", "on"])("port 1 is on") == "port 1 is on"


def test_overlapping_secrets_are_hidden_whole():
    assert Redactor(["abcd", "abcdefgh"])("x abcdefgh y") == f"x {REDACTED} y"


def test_ansi_colour_codes_and_progress_redraws_are_stripped():
    assert clean("\x1b[31mred\x1b[0m text") == "red text"
    assert clean("10%\r50%\r100%") == "100%"


def test_the_log_stops_at_its_cap_with_one_visible_notice(build):
    log = BuildLog(build, max_lines=3)
    for number in range(10):
        log(f"line {number}")

    stored = lines_of(build)
    assert [text for _, _, text in stored[:3]] == ["line 0", "line 1", "line 2"]
    assert len(stored) == 4
    assert "reached its limit of 3 lines" in stored[3][2]
    build.refresh_from_db()
    assert build.log_truncated is True
    assert build.log_line_count == 4


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_writer_thread_stores_every_line_in_order(user):
    from projects import services

    project = services.create_project(user, slug="bg-logs", repo_url="https://example.com/a.git")
    build = Build.objects.create(project=project)
    log = BuildLog(build)
    for number in range(300):
        log(f"line {number}", stage="building")
    log.flush()

    assert [text for _, _, text in lines_of(build)] == [f"line {n}" for n in range(300)]
    build.refresh_from_db()
    assert build.log_line_count == 300
    log.close()
    log("after close")  # stored in place once the thread has ended
    assert lines_of(build)[-1] == (301, "", "after close")


@pytest.mark.django_db(transaction=True)
def test_the_callers_thread_never_waits_on_the_database_to_log(user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from projects import services

    project = services.create_project(user, slug="bg-batch", repo_url="https://example.com/a.git")
    build = Build.objects.create(project=project)
    log = BuildLog(build)
    with CaptureQueriesContext(connection) as in_caller:
        for number in range(200):
            log(f"line {number}")
        log.close()

    assert in_caller.captured_queries == []  # the caller's thread never waits on the database
    assert build.log_lines.count() == 200


def test_streamed_output_with_no_newline_is_cut_and_never_piles_up():
    from builds.pipeline.streams import Lines

    lines = Lines(limit=100)
    out = []
    for _ in range(1000):  # 100 KB of one line, in chunks, then a newline and more
        out += lines.feed("x" * 100)
    out += lines.feed("\nnext line\ntail")
    out += lines.end()

    assert out == ["x" * 100 + " [deployer: line cut at 100 characters]", "next line", "tail"]
    assert len(lines._pending) == 0


def test_a_long_line_is_stored_cut_with_a_notice(build, settings):
    settings.DEPLOYER_BUILD_LOG_MAX_LINE_CHARS = 100
    log = BuildLog(build)

    log("y" * 5000)
    log.close()

    (stored,) = build.log_lines.values_list("text", flat=True)
    assert stored == "y" * 100 + " [deployer: line cut at 100 characters]"
