"""The live log's poll (builds/logfollow.py): few queries, no template, the same cursor, and
no line to anyone who may not see the project."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from builds import logfollow, logtail
from builds.models import Build, BuildLogLine
from projects.models import Membership, Project
from tests.unit.builds.test_views import HTMX, LONG_AGO, add_lines, make_build, seqs

pytestmark = pytest.mark.django_db


@pytest.fixture
def preview(project):
    """A pull request's preview: a child project whose people are its parent's."""
    return Project.objects.create(
        slug="pr-7-shop", repo_url=project.repo_url, owner=project.owner, parent=project
    )


def poll(client, build: Build, after: int = 0):
    return client.get(reverse("builds:log-lines", args=[build.pk]) + f"?after={after}", **HTMX)


def test_a_poll_that_finds_nothing_new_reads_the_session_the_user_and_one_row(
    auth_client, project, django_assert_num_queries
):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two")

    with django_assert_num_queries(3):  # session, user, the build with its project's owner
        response = poll(auth_client, build, after=2)

    assert response.status_code == 200
    assert response.templates == []  # written by builds.logfollow, not the template engine
    assert seqs(response.content.decode()) == []
    assert "?after=2" in response.content.decode()


def test_a_poll_after_new_lines_reads_them_in_one_more_query_and_returns_them(
    auth_client, project, django_assert_num_queries
):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two", "three")

    with django_assert_num_queries(4):
        response = poll(auth_client, build, after=1)

    html = response.content.decode()
    assert response.templates == []
    assert seqs(html) == [2, 3]
    assert re.search(r'hx-get="/builds/\d+/log/\?after=3" hx-trigger="load delay:250ms', html)


def test_a_member_follows_with_one_more_query_for_the_role(
    client, other_user, project, django_assert_num_queries
):
    Membership.objects.create(project=project, user=other_user, role="viewer")
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one")
    client.force_login(other_user)

    with django_assert_num_queries(5):  # session, user, build, membership, lines
        html = poll(client, build).content.decode()

    assert seqs(html) == [1]


def test_a_member_of_the_parent_follows_a_previews_build(client, other_user, project, preview):
    Membership.objects.create(project=project, user=other_user, role="viewer")
    build = make_build(preview, Build.State.BUILDING)
    add_lines(build, "preview line")
    client.force_login(other_user)

    assert seqs(poll(client, build).content.decode()) == [1]


def test_staff_follow_any_build(client, django_user_model, project):
    staff = django_user_model.objects.create_user(username="op", password="x", is_staff=True)
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one")
    client.force_login(staff)

    assert seqs(poll(client, build).content.decode()) == [1]


@pytest.mark.parametrize("membership_of", ["nothing", "another project", "the preview only"])
def test_someone_without_a_role_in_the_project_gets_404_and_no_line(
    client, other_user, user, project, preview, membership_of
):
    elsewhere = Project.objects.create(slug="other", repo_url=project.repo_url, owner=user)
    target = {"another project": elsewhere, "the preview only": preview}.get(membership_of)
    if target is not None:
        # A membership row on a preview gives nothing: a preview's people are its parent's.
        Membership.objects.create(project=target, user=other_user, role="deployer")
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "secret line")
    client.force_login(other_user)

    response = poll(client, build)

    assert response.status_code == 404
    assert b"secret line" not in response.content


def test_a_build_that_does_not_exist_is_404(auth_client):
    response = auth_client.get(reverse("builds:log-lines", args=[987654]), **HTMX)

    assert response.status_code == 404


def test_a_settled_log_stops_the_sentinel_and_a_full_batch_asks_again_at_once(
    auth_client, project, monkeypatch
):
    monkeypatch.setattr(logfollow, "LOG_BATCH", 2)
    build = make_build(project, Build.State.FAILED, finished_ago=LONG_AGO)
    add_lines(build, "one", "two", "three")

    first = poll(auth_client, build).content.decode()
    last = poll(auth_client, build, after=2).content.decode()
    after_the_end = poll(auth_client, build, after=3).content.decode()

    assert seqs(first) == [1, 2]
    assert 'hx-trigger="load, retry delay:2s"' in first
    assert seqs(last) == [3]
    assert "log-sentinel" not in last
    assert "log-sentinel" not in after_the_end


def test_the_build_page_and_a_poll_write_the_same_lines(auth_client, project):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "==> Cloning", "<b>escaped</b> & kept")

    page = auth_client.get(reverse("builds:detail", args=[build.pk])).content.decode()
    polled = poll(auth_client, build).content.decode()

    assert polled.strip() in page
    assert '<div class="log-line stage-line" data-seq="1">' in polled
    assert "&lt;b&gt;escaped&lt;/b&gt; &amp; kept" in polled


# The fragment as plain values -----------------------------------------------------------------


def test_fragment_without_lines_keeps_the_cursor_while_the_build_runs():
    build = Build(pk=5, state=Build.State.BUILDING)

    html = logfollow.fragment(build, [], 7, full=False, poll_ms=300)

    assert html == (
        '\n<div class="log-sentinel" hx-get="/builds/5/log/?after=7" '
        'hx-trigger="load delay:300ms, retry delay:2s" hx-swap="outerHTML">'
        '<span class="help">Following the log…</span></div>'
    )


def test_fragment_of_a_settled_log_has_no_sentinel_unless_a_full_batch_says_more_is_stored():
    build = Build(pk=5, state=Build.State.LIVE, log_complete=True)

    assert "log-sentinel" not in logfollow.fragment(build, [(1, "a")], 0, full=False, poll_ms=1)
    assert "?after=1" in logfollow.fragment(build, [(1, "a")], 0, full=True, poll_ms=1)


# Lines shared by the followers of a build (builds/logtail.py) ---------------------------------


def test_followers_of_a_running_build_share_the_lines_one_of_them_read(
    auth_client, project, django_assert_num_queries
):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two", "three")
    first = poll(auth_client, build, after=1).content.decode()

    with django_assert_num_queries(2):  # one each (builds/logaccess.py): the lines were kept
        second = poll(auth_client, build, after=1).content.decode()
        third = poll(auth_client, build, after=2).content.decode()

    assert second == first and seqs(second) == [2, 3]
    assert seqs(third) == [3]


def test_only_lines_newer_than_the_kept_ones_are_read(
    auth_client, project, django_assert_num_queries
):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two")
    poll(auth_client, build)
    add_lines(build, "three", "four")

    with django_assert_num_queries(2):  # the session with the build, the newer lines
        behind = poll(auth_client, build, after=1).content.decode()

    assert seqs(behind) == [2, 3, 4]
    assert logtail._tails[build.pk].seqs == [1, 2, 3, 4]


def test_kept_lines_reach_nobody_without_a_role_in_the_project(client, other_user, user, project):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "secret line")
    client.force_login(user)
    assert seqs(poll(client, build).content.decode()) == [1]  # now kept in this process

    client.force_login(other_user)
    response = poll(client, build)

    assert response.status_code == 404
    assert b"secret line" not in response.content


def test_a_settled_log_is_read_from_the_database_and_no_longer_kept(auth_client, project):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one")
    poll(auth_client, build)
    add_lines(build, "two")
    Build.objects.filter(pk=build.pk).update(state=Build.State.LIVE, log_complete=True)

    html = poll(auth_client, build, after=1).content.decode()

    assert seqs(html) == [2] and "log-sentinel" not in html
    assert build.pk not in logtail._tails


def test_kept_lines_stay_bounded_and_a_follower_behind_them_reads_the_database(
    project, monkeypatch
):
    monkeypatch.setattr(logtail, "MAX_LINES", 3)
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, *[f"line {n}" for n in range(1, 6)])

    assert [seq for seq, _ in logtail.lines_after(build.pk, 3, 5, limit=10)] == [4, 5]
    add_lines(build, "line 6", "line 7")
    assert [seq for seq, _ in logtail.lines_after(build.pk, 4, 7, limit=10)] == [5, 6, 7]
    tail = logtail._tails[build.pk]
    assert (tail.floor, tail.seqs) == (4, [5, 6, 7])
    assert [seq for seq, _ in logtail.lines_after(build.pk, 1, 7, limit=2)] == [2, 3]


def test_a_follower_left_behind_by_the_lines_its_own_poll_dropped_reads_the_database(
    project, monkeypatch
):
    monkeypatch.setattr(logtail, "MAX_LINES", 3)
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two")
    logtail.lines_after(build.pk, 0, 2, limit=10)  # kept: 1, 2
    add_lines(build, "three", "four", "five", "six")

    # Reading the new lines drops 1 and 2 (at most 3 kept): the answer must still start at 1.
    lines = logtail.lines_after(build.pk, 0, 6, limit=10)

    assert [seq for seq, _ in lines] == [1, 2, 3, 4, 5, 6]


def test_kept_lines_stay_within_a_character_budget(project, monkeypatch):
    monkeypatch.setattr(logtail, "MAX_CHARS", 3 * len(logtail.line_div(1, "x" * 100)))
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, *["x" * 100] * 5)

    assert len(logtail.lines_after(build.pk, 0, 5, limit=10)) == 5  # the answer is whole

    tail = logtail._tails[build.pk]
    assert (tail.floor, tail.seqs) == (2, [3, 4, 5])
    assert tail.chars == sum(map(len, tail.divs))


def test_a_gap_in_the_numbers_loses_no_line_after_it(project):
    build = make_build(project, Build.State.BUILDING)
    BuildLogLine.objects.bulk_create(
        BuildLogLine(build=build, seq=seq, text=f"line {seq}") for seq in (1, 2, 5, 6)
    )

    assert [seq for seq, _ in logtail.lines_after(build.pk, 0, 6, limit=10)] == [1, 2, 5, 6]
    assert [seq for seq, _ in logtail.lines_after(build.pk, 2, 6, limit=10)] == [5, 6]
    assert [seq for seq, _ in logtail.lines_after(build.pk, 3, 6, limit=1)] == [5]


def test_kept_builds_are_bounded_least_recently_followed_first(user, monkeypatch):
    monkeypatch.setattr(logtail, "MAX_BUILDS", 2)
    builds = [
        make_build(Project.objects.create(slug=f"app-{n}", repo_url="x", owner=user), "building")
        for n in range(3)
    ]
    for build in builds:
        add_lines(build, "one")

    for build in (builds[0], builds[1], builds[0], builds[2]):
        logtail.lines_after(build.pk, 0, 1, limit=10)

    assert list(logtail._tails) == [builds[0].pk, builds[2].pk]
