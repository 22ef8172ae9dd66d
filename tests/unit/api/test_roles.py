"""A token never does more than its user's role in the project allows, whatever its scope."""

from __future__ import annotations

import pytest

from projects.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_api(client, project, other_user, make_token):
    from tests.unit.api.conftest import Api

    Membership.objects.create(project=project, user=other_user, role="viewer")
    return Api(client, make_token("admin", owner=other_user))


def test_a_viewers_admin_token_reads_but_changes_nothing(viewer_api, project, monkeypatch):
    sent = []
    monkeypatch.setattr("builds.tasks.run_build.delay", sent.append)

    assert viewer_api.get("/projects/shop").status_code == 200
    refused = [
        viewer_api.post("/projects/shop/env", {"key": "API_TOKEN", "value": "x"}),
        viewer_api.post("/projects/shop/deploy", {}),
        viewer_api.post("/projects/shop/domains", {"hostname": "shop.example.org"}),
    ]

    assert [r.status_code for r in refused] == [403, 403, 403]
    assert refused[0].json()["error"]["code"] == "role_too_low"
    assert not project.env_vars.exists() and not project.builds.exists() and sent == []
    assert not project.domains.exists()


def test_a_deployers_token_deploys_but_may_not_add_a_domain(
    client, project, other_user, make_token, monkeypatch
):
    from tests.unit.api.conftest import Api

    monkeypatch.setattr("builds.tasks.run_build.delay", lambda build_id: None)
    Membership.objects.create(project=project, user=other_user, role="deployer")
    api = Api(client, make_token("admin", owner=other_user))

    assert api.post("/projects/shop/deploy", {}).status_code in (200, 201, 202)
    domain = api.post("/projects/shop/domains", {"hostname": "shop.example.org"})
    assert domain.status_code == 403 and domain.json()["error"]["code"] == "owner_only"
