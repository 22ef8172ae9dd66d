"""Projects and environment variables through the API: the same rules as the dashboard."""

from __future__ import annotations

import logging

import pytest

from projects import services
from projects.models import AuditEntry, Project

pytestmark = pytest.mark.django_db


def test_the_project_list_is_paginated(api, user, settings):
    for name in ("a1", "a2", "a3"):
        services.create_project(user, slug=name, repo_url=f"https://example.com/x/{name}.git")
    settings.DEPLOYER_API_PAGE_SIZE = 2  # read when the module loads: the page size is fixed
    first = api.get("/projects").json()
    assert first["count"] == 3
    assert len(first["items"]) <= 50
    second = api.get("/projects", page=2, page_size=2).json()
    assert [p["slug"] for p in second["items"]] == ["a3"]


def test_create_a_project_records_the_token_in_the_audit_log(api, user):
    response = api.post("/projects", {"slug": "blog", "repo_url": "https://example.com/b.git"})
    assert response.status_code == 201
    assert response.json()["owner"] == user.username
    entry = AuditEntry.objects.get(project_slug="blog", action=AuditEntry.Action.CREATE)
    assert entry.actor_label == f"token ci of {user.username}"


def test_malformed_json_is_a_400_and_changes_nothing(api):
    response = api.post("/projects", raw="{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert not Project.objects.exists()


def test_an_unknown_field_is_a_400(api):
    body = {"slug": "blog", "repo_url": "https://example.com/b.git", "colour": "red"}
    response = api.post("/projects", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "colour" in error["message"]
    assert not Project.objects.exists()


def test_a_wrong_type_is_a_400(api):
    body = {"slug": "blog", "repo_url": "https://example.com/b.git", "container_port": "eighty"}
    response = api.post("/projects", body)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "container_port"


def test_a_value_the_model_refuses_is_a_400_naming_the_field(api):
    response = api.post("/projects", {"slug": "Not A Slug!", "repo_url": "https://e.com/b.git"})
    assert response.status_code == 400
    assert "slug" in [d["field"] for d in response.json()["error"]["details"]]


def test_update_changes_only_what_is_given(api, project):
    response = api.patch(f"/projects/{project.slug}", {"branch": "release"})
    assert response.status_code == 200
    project.refresh_from_db()
    assert project.branch == "release"
    assert project.repo_url == "https://example.com/acme/shop.git"


def test_the_name_cannot_be_changed(api, project):
    assert api.patch(f"/projects/{project.slug}", {"slug": "other"}).status_code == 400


def test_only_the_owner_can_delete_a_project(client, make_token, other_user, project):
    from tests.unit.api.conftest import Api

    project.members.add(other_user)
    member = Api(client, make_token("admin", owner=other_user))
    response = member.delete(f"/projects/{project.slug}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "owner_only"
    project.refresh_from_db()
    assert project.deleting_at is None


def test_the_owner_deletes_a_project(api, project):
    assert api.delete(f"/projects/{project.slug}").status_code == 202
    project.refresh_from_db()
    assert project.deleting_at is not None


# Environment variables ----------------------------------------------------------------------


def test_variables_are_listed_without_values(api, project):
    services.add_env_var(project, "SECRET", "hunter2-plaintext")
    response = api.get(f"/projects/{project.slug}/env")
    assert response.status_code == 200
    assert response.json()["items"][0]["key"] == "SECRET"
    assert b"hunter2" not in response.content


def test_add_a_variable(api, project, user):
    response = api.post(f"/projects/{project.slug}/env", {"key": "DEBUG", "value": "0"})
    assert response.status_code == 201
    assert "value" not in response.json()
    assert project.env_vars.get(key="DEBUG").decrypted_value() == "0"
    entry = project.audit_entries.get(action=AuditEntry.Action.ENV_ADD)
    assert entry.actor_label == f"token ci of {user.username}"
    assert "0" not in entry.summary.replace("DEBUG", "")


def test_adding_a_taken_key_is_a_400(api, project):
    services.add_env_var(project, "DEBUG", "1")
    response = api.post(f"/projects/{project.slug}/env", {"key": "DEBUG", "value": "0"})
    assert response.status_code == 400
    assert project.env_vars.get(key="DEBUG").decrypted_value() == "1"


def test_set_replaces_or_adds(api, project):
    services.add_env_var(project, "DEBUG", "1")
    assert api.put(f"/projects/{project.slug}/env/DEBUG", {"value": "0"}).status_code == 200
    assert api.put(f"/projects/{project.slug}/env/NEW", {"value": "x"}).status_code == 200
    values = {v.key: v.decrypted_value() for v in project.env_vars.all()}
    assert values == {"DEBUG": "0", "NEW": "x"}


def test_delete_a_variable(api, project):
    services.add_env_var(project, "DEBUG", "1")
    assert api.delete(f"/projects/{project.slug}/env/DEBUG").status_code == 204
    assert not project.env_vars.exists()
    assert api.delete(f"/projects/{project.slug}/env/DEBUG").status_code == 404


def test_reveal_shows_one_value_and_logs_who(api, project, caplog):
    services.add_env_var(project, "SECRET", "hunter2-plaintext")
    with caplog.at_level(logging.INFO, logger="api.routes.env"):
        response = api.post(f"/projects/{project.slug}/env/SECRET/reveal")
    assert response.status_code == 200
    assert response.json()["value"] == "hunter2-plaintext"
    assert "revealed SECRET of project shop" in caplog.text


def test_a_read_token_cannot_reveal(api_as, project):
    services.add_env_var(project, "SECRET", "hunter2-plaintext")
    response = api_as("read").post(f"/projects/{project.slug}/env/SECRET/reveal")
    assert response.status_code == 403
    assert b"hunter2" not in response.content


def test_import_is_all_or_nothing(api, project):
    bad = api.post(f"/projects/{project.slug}/env-import", {"text": "A=1\nnot a line\n"})
    assert bad.status_code == 400
    assert not project.env_vars.exists()
    good = api.post(f"/projects/{project.slug}/env-import", {"text": "A=1\nB=2\n"})
    assert good.json() == {"created": ["A", "B"], "updated": []}


def test_a_member_cannot_change_owner_only_settings(client, make_token, other_user, project):
    from tests.unit.api.conftest import Api

    project.members.add(other_user)
    member = Api(client, make_token("admin", owner=other_user))
    for change in (
        {"repo_url": "https://evil.example.com/x.git"},
        {"run_as_root": True},
        {"members": []},
    ):
        response = member.patch(f"/projects/{project.slug}", change)
        assert response.status_code == 403, change
        assert response.json()["error"]["code"] == "owner_only"
    project.refresh_from_db()
    assert project.repo_url == "https://example.com/acme/shop.git"
    assert not project.run_as_root
    assert member.patch(f"/projects/{project.slug}", {"branch": "dev"}).status_code == 200


def test_the_owner_sets_the_members(api, project, other_user):
    response = api.patch(f"/projects/{project.slug}", {"members": [other_user.username]})
    assert response.status_code == 200
    assert response.json()["members"] == [other_user.username]
    unknown = api.patch(f"/projects/{project.slug}", {"members": ["nobody"]})
    assert unknown.status_code == 400
    assert list(project.members.all()) == [other_user]
