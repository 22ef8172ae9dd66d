"""A session that followed a log before is checked again, whole, in one query per poll
(builds/logaccess.py): logging out, a new password, deactivation, an expired session or a
lost role take effect at the next poll, and nothing is vouched for that was not checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from builds.models import Build
from projects.models import Membership, Project
from tests.unit.builds.test_views import HTMX, add_lines, make_build, seqs

pytestmark = pytest.mark.django_db


@pytest.fixture
def build(project):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two")
    return build


def poll(client, build: Build, after: int = 0):
    return client.get(reverse("builds:log-lines", args=[build.pk]) + f"?after={after}", **HTMX)


def test_a_session_seen_following_is_checked_with_the_build_in_one_query(
    auth_client, build, django_assert_num_queries
):
    poll(auth_client, build, after=2)  # the whole way: session, user, build

    with django_assert_num_queries(1) as captured:
        html = poll(auth_client, build, after=2).content.decode()

    assert "?after=2" in html and seqs(html) == []
    (sql,) = [query["sql"] for query in captured.captured_queries]
    assert '"django_session"' in sql and '"auth_user"' in sql and '"builds_build"' in sql


def test_a_member_is_checked_in_the_same_query_and_loses_the_log_with_the_role(
    client, other_user, project, build, django_assert_num_queries
):
    membership = Membership.objects.create(project=project, user=other_user, role="viewer")
    client.force_login(other_user)
    assert seqs(poll(client, build).content.decode()) == [1, 2]

    with django_assert_num_queries(1):  # session, build and role together; the lines were kept
        assert seqs(poll(client, build).content.decode()) == [1, 2]
    membership.delete()

    assert poll(client, build).status_code == 404


def test_a_member_of_the_parent_follows_a_previews_build_in_one_query(
    client, other_user, project, django_assert_num_queries
):
    Membership.objects.create(project=project, user=other_user, role="viewer")
    preview = Project.objects.create(
        slug="pr-7-shop", repo_url=project.repo_url, owner=project.owner, parent=project
    )
    build = make_build(preview, Build.State.BUILDING)
    add_lines(build, "preview line")
    client.force_login(other_user)
    poll(client, build, after=1)

    with django_assert_num_queries(1):
        assert poll(client, build, after=1).status_code == 200


def test_staff_follow_in_one_query(client, django_user_model, build, django_assert_num_queries):
    staff = django_user_model.objects.create_user(username="op", password="x", is_staff=True)
    client.force_login(staff)
    poll(client, build, after=2)

    with django_assert_num_queries(1):
        assert poll(client, build, after=2).status_code == 200


@pytest.mark.parametrize(
    "change",
    ["session deleted (logout elsewhere)", "session expired", "new password", "deactivated"],
)
def test_a_session_no_longer_valid_is_sent_to_log_in_at_its_next_poll(
    auth_client, user, build, change
):
    assert poll(auth_client, build).status_code == 200
    if change == "session deleted (logout elsewhere)":
        Session.objects.all().delete()
    elif change == "session expired":
        Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    elif change == "new password":
        user.set_password("a different horse")
        user.save()
    else:
        user.is_active = False
        user.save()

    response = poll(auth_client, build)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert b"one" not in response.content


def test_a_session_known_for_one_build_gets_404_for_another_projects_build(
    auth_client, other_user, build
):
    theirs = Project.objects.create(slug="theirs", repo_url="x", owner=other_user)
    secret = make_build(theirs, Build.State.BUILDING)
    add_lines(secret, "secret line")
    assert poll(auth_client, build).status_code == 200  # this session is now known

    response = poll(auth_client, secret)

    assert response.status_code == 404
    assert b"secret line" not in response.content


def test_a_copied_session_cookie_of_a_logged_out_session_follows_nothing(client, user, build):
    client.force_login(user)
    assert poll(client, build).status_code == 200
    cookie = client.cookies["sessionid"].value
    client.logout()

    client.cookies["sessionid"] = cookie  # replayed after the logout deleted it
    response = poll(client, build)

    assert response.status_code == 302
