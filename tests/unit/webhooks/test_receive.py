from __future__ import annotations

import pytest
from django.utils import timezone

from builds.models import Build, Deployment
from tests.unit.webhooks import payloads
from tests.unit.webhooks.payloads import SHA, ZERO
from webhooks import services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

PROVIDER_NAMES = list(payloads.PROVIDERS)


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_genuine_push_to_the_branch_queues_one_webhook_build_of_the_pushed_commit(
    provider, project, secret, post_hook
):
    response = post_hook(*payloads.PROVIDERS[provider](secret))

    body = response.json()
    assert response.status_code == 202, body
    build = Build.objects.get()
    assert body["result"] == "queued"
    assert body["build"] == build.pk
    assert body["build_url"].startswith("http://testserver/")
    assert build.project == project
    assert build.trigger == Build.Trigger.WEBHOOK
    assert build.commit_sha == SHA
    assert build.ref == "main"
    assert build.state == Build.State.QUEUED
    assert build.trigger_detail.startswith(f"{provider} push")


@pytest.mark.parametrize(
    ("provider", "pusher"),
    [
        ("github", "octocat"),
        ("gitlab", "jsmith"),
        ("gitea", "gitea"),
        ("bitbucket", "Grace Hopper"),
    ],
)
def test_build_detail_names_the_provider_and_the_pusher(provider, pusher, secret, post_hook):
    post_hook(*payloads.PROVIDERS[provider](secret))

    assert Build.objects.get().trigger_detail == f"{provider} push by {pusher}"


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_redelivery_with_the_same_delivery_id_starts_no_second_build(provider, secret, post_hook):
    body, headers = payloads.PROVIDERS[provider](secret, delivery="redelivered-1")
    post_hook(body, headers)
    Build.objects.update(state=Build.State.FAILED)  # even once the first build has ended

    response = post_hook(body, headers)

    assert response.status_code == 200
    assert response.json()["result"] == "duplicate"
    assert "redelivered-1" in response.json()["reason"]
    assert Build.objects.count() == 1


def test_same_commit_from_a_second_host_while_building_starts_no_second_build(secret, post_hook):
    post_hook(*payloads.github(secret))
    Build.objects.update(state=Build.State.BUILDING)

    response = post_hook(*payloads.generic(secret))

    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "duplicate"
    assert body["build"] == Build.objects.get().pk
    assert "already building" in body["reason"]


def test_pushing_the_commit_that_is_live_now_starts_no_build(project, secret, post_hook):
    live = Build.objects.create(project=project, commit_sha=SHA, state=Build.State.LIVE)
    Deployment.objects.create(
        project=project, build=live, state=Deployment.State.LIVE, live_at=timezone.now()
    )

    response = post_hook(*payloads.gitlab(secret))

    assert response.json()["result"] == "duplicate"
    assert "already live" in response.json()["reason"]
    assert Build.objects.count() == 1


def test_a_commit_whose_build_failed_can_be_pushed_again_under_a_new_delivery(
    project, secret, post_hook
):
    Build.objects.create(project=project, commit_sha=SHA, state=Build.State.FAILED)

    response = post_hook(*payloads.github(secret))

    assert response.status_code == 202
    assert Build.objects.count() == 2


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_push_to_another_branch_is_ignored_with_the_reason(provider, secret, post_hook):
    response = post_hook(*payloads.PROVIDERS[provider](secret, ref="refs/heads/feature/x"))

    body = response.json()
    assert response.status_code == 200, body
    assert body["result"] == "ignored"
    assert "refs/heads/feature/x" in body["reason"]
    assert "only pushes to branch main deploy" in body["reason"]
    assert not Build.objects.exists()


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_tag_push_is_ignored_with_the_reason(provider, secret, post_hook):
    make = payloads.PROVIDERS[provider]
    kwargs = {"event": "Tag Push Hook"} if provider == "gitlab" else {}

    response = post_hook(*make(secret, ref="refs/tags/v1.0", **kwargs))

    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    assert response.json()["reason"].startswith("Tag push (refs/tags/v1.0)")
    assert not Build.objects.exists()


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_deleting_the_branch_is_ignored_with_the_reason(provider, secret, post_hook):
    response = post_hook(*payloads.PROVIDERS[provider](secret, after=ZERO))

    assert response.status_code == 200
    assert response.json() == {
        "result": "ignored",
        "reason": "Branch main was deleted; nothing to deploy.",
    }
    assert not Build.objects.exists()


def test_bitbucket_push_of_several_branches_deploys_the_projects_branch(secret, post_hook):
    other = "1" * 40
    changes = [payloads.bitbucket_change("develop", other), payloads.bitbucket_change("main")]

    response = post_hook(*payloads.bitbucket(secret, changes=changes))

    assert response.status_code == 202
    assert Build.objects.get().commit_sha == SHA


def test_github_ping_is_answered_200(secret, post_hook):
    response = post_hook(*payloads.github(secret, event="ping"))

    assert response.status_code == 200
    assert response.json()["reason"] == "Ping received: the webhook is set up."
    assert not Build.objects.exists()


@pytest.mark.parametrize(
    ("make", "event"),
    [
        (payloads.github, "issues"),
        (payloads.gitlab, "Issue Hook"),
        (payloads.gitea, "delete"),
        (payloads.bitbucket, "repo:fork"),
    ],
)
def test_events_other_than_push_are_ignored(make, event, secret, post_hook):
    response = post_hook(*make(secret, event=event))

    assert response.status_code == 200
    assert response.json()["reason"] == f"'{event}' events do not deploy; only pushes do."


@pytest.mark.parametrize(
    ("make", "event"),
    [
        (payloads.github, "pull_request"),
        (payloads.gitlab, "Merge Request Hook"),
        (payloads.bitbucket, "pullrequest:created"),
    ],
)
def test_a_push_body_sent_as_a_pull_request_event_is_rejected_as_malformed(
    make, event, secret, post_hook
):
    response = post_hook(*make(secret, event=event))

    assert response.status_code == 400
    assert response.json()["result"] == "rejected"
    assert not Build.objects.exists()


# GitLab sends the secret as a token rather than a signature of the body: only TLS protects it.
@pytest.mark.parametrize("provider", [name for name in PROVIDER_NAMES if name != "gitlab"])
def test_tampered_body_is_401(provider, secret, post_hook):
    body, headers = payloads.PROVIDERS[provider](secret)
    tampered = body.replace(SHA.encode(), b"0123456789" * 4)

    response = post_hook(tampered, headers)

    assert response.status_code == 401
    assert not Build.objects.exists()


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_wrong_secret_is_401(provider, secret, post_hook):
    response = post_hook(*payloads.PROVIDERS[provider]("not-the-secret"))

    assert response.status_code == 401
    assert response.json() == {
        "result": "unauthorized",
        "reason": "Unknown project or invalid signature.",
    }
    assert not Build.objects.exists()


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_missing_signature_is_401(provider, secret, post_hook):
    body, headers = payloads.PROVIDERS[provider](secret)
    for name in (
        "X-Hub-Signature-256",
        "X-Hub-Signature",
        "X-Gitlab-Token",
        "X-Gitea-Signature",
        "X-Forgejo-Signature",
        "X-Deployer-Signature",
    ):
        headers.pop(name, None)

    assert post_hook(body, headers).status_code == 401


def test_unsigned_bitbucket_delivery_is_401(secret, post_hook):
    assert post_hook(*payloads.bitbucket(secret, signed=False)).status_code == 401


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_unknown_project_answers_exactly_as_a_bad_signature(provider, project, secret, post_hook):
    unknown = post_hook(*payloads.PROVIDERS[provider](secret), slug="no-such-project")
    bad_signature = post_hook(*payloads.PROVIDERS[provider]("wrong"), slug="shop")

    assert unknown.status_code == bad_signature.status_code == 401
    assert unknown.content == bad_signature.content
    assert unknown.headers["Content-Type"] == bad_signature.headers["Content-Type"]


def test_project_without_a_secret_yet_answers_as_an_unknown_project(project, post_hook):
    response = post_hook(*payloads.generic(""))

    assert response.status_code == 401
    assert response.content == post_hook(*payloads.generic(""), slug="nope").content


def test_regenerating_the_secret_makes_the_old_one_fail_at_once(project, secret, post_hook):
    services.regenerate_secret(project)
    new_secret = services.endpoint_for(project).decrypted_secret()

    assert new_secret != secret
    assert post_hook(*payloads.github(secret)).status_code == 401
    assert post_hook(*payloads.github(new_secret)).status_code == 202


def test_body_over_the_limit_is_413(settings, secret, post_hook):
    settings.DEPLOYER_WEBHOOK_MAX_BODY_BYTES = 1000
    body, headers = payloads.generic(secret)
    padded = body[:-1] + b', "padding": "' + b"x" * 1000 + b'"}'

    response = post_hook(padded, headers)

    assert response.status_code == 413
    assert response.json()["reason"] == "The body is larger than 1000 bytes."


def test_default_body_limit_is_one_mebibyte(settings, secret, post_hook):
    assert settings.DEPLOYER_WEBHOOK_MAX_BODY_BYTES == 1024 * 1024
    big = (
        b'{"ref": "refs/heads/x", "after": "'
        + SHA.encode()
        + b'", "p": "'
        + b"x" * 1024 * 1024
        + b'"}'
    )

    assert post_hook(big, {}).status_code == 413


def test_deliveries_beyond_the_rate_limit_get_429(settings, secret, post_hook):
    settings.DEPLOYER_WEBHOOK_RATE_LIMIT = 3
    for _ in range(3):
        assert post_hook(*payloads.github(secret, ref="refs/heads/other")).status_code == 200

    response = post_hook(*payloads.github(secret))

    assert response.status_code == 429
    assert response.json()["result"] == "rate_limited"
    assert not Build.objects.exists()
    assert Delivery.objects.filter(verdict="rate_limited").count() == 1


def test_rate_limit_counts_the_last_minute_only(settings, secret, post_hook):
    settings.DEPLOYER_WEBHOOK_RATE_LIMIT = 1
    post_hook(*payloads.github(secret, ref="refs/heads/other"))
    Delivery.objects.update(received_at=timezone.now() - timezone.timedelta(seconds=61))

    assert post_hook(*payloads.github(secret)).status_code == 202


def test_bad_signatures_do_not_use_up_the_rate_limit(settings, secret, post_hook):
    settings.DEPLOYER_WEBHOOK_RATE_LIMIT = 2
    for _ in range(5):
        post_hook(*payloads.github("attacker-guess"))

    assert post_hook(*payloads.github(secret)).status_code == 202


def test_signed_body_that_is_not_json_is_400_and_recorded(secret, post_hook):
    body = b"payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D"
    _, headers = payloads.github(secret)
    headers["X-Hub-Signature-256"] = "sha256=" + payloads.sign(secret, body)

    response = post_hook(body, headers)

    assert response.status_code == 400
    assert "not JSON" in response.json()["reason"]
    assert Delivery.objects.get().verdict == "rejected"


def test_signed_payload_with_a_sha_that_is_not_40_hex_characters_is_400(secret, post_hook):
    response = post_hook(*payloads.generic(secret, after="HEAD; rm -rf /"))

    assert response.status_code == 400
    assert "40-character" in response.json()["reason"]
    assert not Build.objects.exists()


def test_every_verified_delivery_is_recorded_with_its_verdict(secret, post_hook):
    post_hook(*payloads.github(secret, delivery="d-1"))
    post_hook(*payloads.gitlab(secret, ref="refs/heads/x", delivery="d-2"))

    deployed, ignored = Delivery.objects.order_by("pk")
    assert deployed.provider == "github"
    assert deployed.event == "push"
    assert deployed.delivery_id == "d-1"
    assert deployed.ref == "refs/heads/main"
    assert deployed.commit_sha == SHA
    assert deployed.verdict == "queued"
    assert deployed.status_code == 202
    assert deployed.build == Build.objects.get()
    assert (ignored.provider, ignored.verdict, ignored.build) == ("gitlab", "ignored", None)
    assert ignored.reason.startswith("Push to refs/heads/x")


def test_endpoint_takes_only_post(project, client):
    assert client.get("/hooks/shop/").status_code == 405


def test_endpoint_accepts_the_url_without_its_trailing_slash(secret, client):
    body, headers = payloads.generic(secret)

    response = client.post(
        "/hooks/shop", data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 202


def test_endpoint_needs_no_login_and_no_csrf_token(secret):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    body, headers = payloads.generic(secret)

    response = strict.post(
        "/hooks/shop/", data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 202
