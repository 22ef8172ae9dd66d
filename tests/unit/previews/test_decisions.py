"""What a pull request event does, through the webhook endpoint (no worker: builds stay queued)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from builds.models import Build
from previews import services
from previews.models import Preview, PreviewSettings
from projects import permissions
from projects import services as project_services
from projects.models import Membership, Project
from tests.unit.previews import payloads
from tests.unit.previews.payloads import HEAD
from webhooks import services as webhook_services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

NEXT = "d00dfeed24043ba2feb48d137756c8a9331c449a"


@pytest.mark.parametrize("provider", list(payloads.PROVIDERS))
def test_opened_pull_request_queues_a_preview_build_of_its_head_in_a_child_project(
    provider, project, secret, post_hook
):
    response = post_hook(*payloads.PROVIDERS[provider](secret))

    body = response.json()
    assert response.status_code == 202, body
    assert body["result"] == "queued"
    child = Project.objects.get(slug="pr-7-shop")
    build = Build.objects.get()
    assert body["build"] == build.pk
    assert (build.project, build.commit_sha, build.ref) == (child, HEAD, "feature")
    assert build.trigger == Build.Trigger.WEBHOOK
    assert child.parent == project
    assert child.repo_url == project.repo_url
    assert child.app_host == "pr-7-shop.localhost"
    preview = Preview.objects.get()
    assert (preview.state, preview.child, preview.number) == ("active", child, 7)
    assert not project.builds.exists()
    delivery = Delivery.objects.get()
    assert (delivery.verdict, delivery.commit_sha, delivery.build) == ("queued", HEAD, build)


def test_pull_request_from_a_fork_waits_for_approval_then_builds(project, secret, post_hook, user):
    response = post_hook(*payloads.github(secret, fork=True))

    assert response.status_code == 200
    assert response.json()["result"] == "held"
    assert "approve" in response.json()["reason"]
    preview = Preview.objects.get()
    assert preview.state == Preview.State.WAITING_APPROVAL
    assert not Build.objects.exists()
    assert Delivery.objects.get().verdict == "held"

    decision = services.approve(preview, user)

    assert decision.verdict == "queued"
    build = Build.objects.get()
    assert (build.project.slug, build.commit_sha, build.ref) == ("pr-7-shop", HEAD, HEAD)
    preview.refresh_from_db()
    assert (preview.state, preview.approved_sha, preview.approved_by) == ("active", HEAD, user)


def test_a_forks_new_commit_after_approval_waits_for_a_new_approval(
    project, secret, post_hook, user
):
    post_hook(*payloads.github(secret, fork=True))
    services.approve(Preview.objects.get(), user)

    response = post_hook(*payloads.github(secret, action="synchronize", sha=NEXT, fork=True))

    assert response.json()["result"] == "held"
    assert Build.objects.count() == 1
    preview = Preview.objects.get()
    assert preview.state == "active"  # the approved commit keeps running meanwhile
    assert preview.head_sha == NEXT


def test_push_to_the_pull_request_builds_the_new_head_and_the_same_head_twice_is_a_duplicate(
    project, secret, post_hook
):
    post_hook(*payloads.github(secret))

    pushed = post_hook(*payloads.github(secret, action="synchronize", sha=NEXT))
    again = post_hook(*payloads.github(secret, action="synchronize", sha=NEXT))

    assert pushed.json()["result"] == "queued"
    assert again.json()["result"] == "duplicate"
    assert list(Build.objects.order_by("pk").values_list("commit_sha", "state")) == [
        (HEAD, "superseded"),
        (NEXT, "queued"),
    ]


def test_closing_removes_the_preview_and_closing_twice_is_recorded_as_such(
    project, secret, post_hook, django_capture_on_commit_callbacks
):
    post_hook(*payloads.github(secret))
    child = Project.objects.get(slug="pr-7-shop")

    closed = post_hook(*payloads.github(secret, action="closed"))
    twice = post_hook(*payloads.github(secret, action="closed"))

    assert closed.json()["result"] == "removed"
    assert twice.json()["result"] == "duplicate"
    assert "removed already" in twice.json()["reason"]
    child.refresh_from_db()
    assert child.deleting_at is not None  # the worker removes it (builds.tasks.delete_project)
    assert Build.objects.get().state == Build.State.CANCELLED
    preview = Preview.objects.get()
    assert (preview.state, preview.child) == ("closed", None)
    project.refresh_from_db()
    assert project.deleting_at is None


@pytest.mark.parametrize(
    ("event", "verdict", "words"),
    [
        ({"action": "closed", "number": 404}, "ignored", "has no preview"),
        ({"base": "release"}, "ignored", "pull requests to main"),
        ({"action": "labeled"}, "ignored", "'labeled' events change no preview"),
        ({"action": "synchronize", "number": 404}, "queued", "Queued build"),
    ],
)
def test_bad_or_foreign_pull_request_events_are_recorded_with_their_verdict(
    event, verdict, words, project, secret, post_hook
):
    response = post_hook(*payloads.github(secret, **event))

    assert response.json()["result"] == verdict
    assert words in response.json()["reason"]
    delivery = Delivery.objects.get()
    assert delivery.verdict == verdict
    assert not project.builds.exists()


def test_a_closed_pull_requests_push_does_not_bring_its_preview_back(project, secret, post_hook):
    post_hook(*payloads.github(secret))
    post_hook(*payloads.github(secret, action="closed"))

    response = post_hook(*payloads.github(secret, action="synchronize", sha=NEXT))

    assert response.json()["result"] == "ignored"
    assert Preview.objects.get().state == "closed"


def test_previews_turned_off_build_nothing(project, secret, post_hook):
    PreviewSettings.objects.create(project=project, enabled=False)

    response = post_hook(*payloads.github(secret))

    assert response.json()["result"] == "ignored"
    assert "previews are off" in response.json()["reason"]
    assert not Preview.objects.exists()
    assert not Project.objects.filter(parent=project).exists()


def test_a_preview_name_longer_than_a_dns_label_is_refused(user, client):
    long = services.preview_slug(Project(slug="a" * 55), 12345)
    project = project_services.create_project(
        user, slug="a" * 55, repo_url="https://example.com/acme/shop.git"
    )
    secret = webhook_services.endpoint_for(project).decrypted_secret()
    body, headers = payloads.github(secret, number=12345)

    response = client.post(
        f"/hooks/{project.slug}/", data=body, content_type="application/json", headers=headers
    )

    assert response.json()["result"] == "rejected"
    assert long in response.json()["reason"] and "63" in response.json()["reason"]
    assert not Project.objects.filter(parent=project).exists()


def test_a_preview_never_takes_over_another_project_of_its_name(project, secret, post_hook, user):
    project_services.create_project(user, slug="pr-7-shop", repo_url="https://example.com/x.git")

    response = post_hook(*payloads.github(secret))

    assert response.json()["result"] == "rejected"
    assert not Build.objects.exists()


def test_the_limit_queues_extra_previews_and_a_closed_one_frees_its_slot(
    project, secret, post_hook, django_capture_on_commit_callbacks
):
    PreviewSettings.objects.create(project=project, max_running=2)
    for number in (1, 2, 3):
        post_hook(*payloads.github(secret, number=number))

    third = Preview.objects.get(number=3)
    assert [p.state for p in Preview.objects.order_by("number")] == ["active", "active", "queued"]
    assert "2 previews are running" in third.reason
    assert Delivery.objects.order_by("pk").last().verdict == "held"

    with django_capture_on_commit_callbacks(execute=False):
        post_hook(*payloads.github(secret, number=1, action="closed"))
    services.promote(project)  # what the task queued on close does

    third.refresh_from_db()
    assert third.state == "active"
    assert third.child.builds.count() == 1


@override_settings(DEPLOYER_PREVIEW_MAX=3)
def test_twenty_pull_requests_start_three_and_queue_the_rest_in_arrival_order(
    project, secret, post_hook, user
):
    for number in range(1, 21):
        post_hook(*payloads.github(secret, number=number))

    states = dict(Preview.objects.values_list("number", "state"))
    assert sorted(n for n, s in states.items() if s == "active") == [1, 2, 3]
    assert sum(1 for s in states.values() if s == "queued") == 17
    assert Build.objects.count() == 3

    services.stop(Preview.objects.get(number=2), user)
    services.promote(project)

    running = sorted(Preview.objects.filter(state="active").values_list("number", flat=True))
    assert running == [1, 3, 4]


def test_previews_are_hidden_from_project_lists_and_visible_to_the_parents_members(
    project, secret, post_hook, client, user, other_user
):
    post_hook(*payloads.github(secret))
    Membership.objects.create(project=project, user=other_user, role="viewer")
    client.force_login(other_user)

    listed = client.get(reverse("projects:list"))
    child_page = client.get("/projects/pr-7-shop/")

    assert listed.status_code == 200
    assert b'id="project-' in listed.content and b"/projects/shop/" in listed.content
    assert b"pr-7-shop" not in listed.content
    assert child_page.status_code == 200
    child = Project.objects.get(slug="pr-7-shop")
    assert permissions.role_of(other_user, child) == "viewer"
    assert not permissions.can(other_user, project, "previews.approve")


def test_the_sweep_stops_an_idle_preview_and_starts_a_queued_one(
    project, secret, post_hook, django_capture_on_commit_callbacks
):
    PreviewSettings.objects.create(project=project, max_running=1, idle_hours=2)
    post_hook(*payloads.github(secret, number=1))
    post_hook(*payloads.github(secret, number=2))
    Preview.objects.filter(number=1).update(last_activity=timezone.now() - timedelta(hours=3))

    with django_capture_on_commit_callbacks(execute=False):
        done = services.sweep()

    states = dict(Preview.objects.values_list("number", "state"))
    assert states == {1: "stopped", 2: "active"}
    assert done == {
        "stopped": [Preview.objects.get(number=1).pk],
        "started": [Preview.objects.get(number=2).pk],
    }
    assert "idle" in Preview.objects.get(number=1).reason


def test_the_sweep_leaves_a_recently_active_preview_running(project, secret, post_hook):
    PreviewSettings.objects.create(project=project, idle_hours=2)
    post_hook(*payloads.github(secret, number=1))

    assert services.sweep() == {"stopped": [], "started": []}
    assert Preview.objects.get().state == "active"


def test_a_preview_whose_project_was_deleted_by_hand_frees_its_slot(project, secret, post_hook):
    post_hook(*payloads.github(secret))
    Project.objects.filter(slug="pr-7-shop").delete()

    services.sweep()

    preview = Preview.objects.get()
    assert (preview.state, preview.reason) == ("stopped", "Its project was deleted.")


def test_an_odd_branch_name_is_never_passed_to_git_as_a_branch(project, secret, post_hook):
    post_hook(*payloads.github(secret, head="--upload-pack=touch /tmp/x"))

    build = Build.objects.get()
    assert build.ref == HEAD  # fetched by its sha alone


def test_payload_text_is_stored_without_control_characters(project, secret, post_hook):
    post_hook(*payloads.github(secret, head="feat\x1b[31m\x00ure"))

    assert Preview.objects.get().head_branch == "feat[31mure"


def _queries_of_one_more_pull_request(project, secret, post_hook, number: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        post_hook(*payloads.github(secret, number=number))
    return len(captured)


@override_settings(DEPLOYER_WEBHOOK_RATE_LIMIT=0)
def test_the_limit_costs_the_same_few_queries_with_5_or_50_pull_requests_waiting(
    project, secret, post_hook
):
    PreviewSettings.objects.create(project=project, max_running=2)
    for number in range(1, 8):
        post_hook(*payloads.github(secret, number=number))
    with_5_waiting = _queries_of_one_more_pull_request(project, secret, post_hook, 100)
    for number in range(8, 53):
        post_hook(*payloads.github(secret, number=number))
    with_50_waiting = _queries_of_one_more_pull_request(project, secret, post_hook, 101)

    assert Preview.objects.filter(state="queued").count() == 52
    assert with_50_waiting == with_5_waiting
    with CaptureQueriesContext(connection) as captured:
        assert services.promote(project) == []  # no free slot: nothing started
    assert len(captured) <= 6
