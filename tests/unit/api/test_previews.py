"""Pull-request previews through the API: listed, approved, stopped; hidden from project lists."""

from __future__ import annotations

import pytest

from builds.models import Build
from previews.models import Preview
from projects.models import Project
from tests.unit.previews import payloads
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def fork_pr(client, project):
    secret = webhook_services.endpoint_for(project).decrypted_secret()
    body, headers = payloads.github(secret, fork=True)
    client.post("/hooks/shop/", data=body, content_type="application/json", headers=headers)
    return Preview.objects.get()


def test_previews_are_listed_and_a_forks_is_approved(api, project, fork_pr):
    listed = api.get("/projects/shop/previews").json()

    assert [(p["number"], p["state"], p["from_fork"]) for p in listed] == [
        (7, "waiting_approval", True)
    ]

    response = api.post("/projects/shop/previews/7/approve")

    assert response.status_code == 200, response.json()
    assert "Queued build" in response.json()["message"]
    assert Build.objects.get().project.slug == "pr-7-shop"
    assert api.get("/projects/shop/previews").json()[0]["address"].startswith("http://pr-7-shop.")


def test_a_read_token_may_not_approve(api_as, project, fork_pr):
    response = api_as("read").post("/projects/shop/previews/7/approve")

    assert response.status_code == 403
    assert not Build.objects.exists()


def test_stop_a_running_preview_and_the_project_list_hides_previews(api, project, fork_pr):
    api.post("/projects/shop/previews/7/approve")

    stopped = api.post("/projects/shop/previews/7/stop")
    again = api.post("/projects/shop/previews/7/stop")

    assert stopped.status_code == 200
    assert again.status_code == 409
    assert Project.objects.filter(slug="pr-7-shop").exists()  # the worker removes it
    slugs = [p["slug"] for p in api.get("/projects").json()["items"]]
    assert slugs == ["shop"]
