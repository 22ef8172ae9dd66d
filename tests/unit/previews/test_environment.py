from __future__ import annotations

import pytest

from addons import services as addon_services
from builds.pipeline.plan import Plan
from previews import services
from previews.models import Preview
from projects import services as project_services
from projects.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def child(project):
    return Project.objects.create(
        slug="pr-1-shop", parent=project, owner=project.owner, repo_url=project.repo_url
    )


def test_a_preview_inherits_variables_but_never_a_production_only_one(project, child):
    project_services.add_env_var(project, "GREETING", "hello")
    project_services.add_env_var(project, "STRIPE_KEY", "sk_live_secret", production_only=True)
    project_services.add_env_var(project, "MODE", "production", preview_value="preview")

    environment = project_services.runtime_environment(child)

    assert environment == {"GREETING": "hello", "MODE": "preview"}
    assert "sk_live_secret" not in project_services.secret_values(child)
    assert project_services.environment_names(child) == {"GREETING", "MODE"}
    assert project_services.runtime_environment(project)["MODE"] == "production"
    assert project_services.runtime_environment(project)["STRIPE_KEY"] == "sk_live_secret"


def test_build_arguments_of_a_preview_follow_the_same_rules(project, child):
    project_services.add_env_var(
        project, "NPM_TOKEN", "prod", available_at_build=True, preview_value="preview-token"
    )
    project_services.add_env_var(
        project, "SECRET_AT_BUILD", "x", available_at_build=True, production_only=True
    )

    assert project_services.build_arguments(child) == {"NPM_TOKEN": "preview-token"}


def test_changing_a_variable_to_production_only_takes_it_from_previews(project, child):
    env_var = project_services.add_env_var(project, "TOKEN", "abc")

    project_services.update_env_var(env_var, production_only=True)

    assert project_services.runtime_environment(child) == {}


def test_a_preview_of_a_project_with_a_database_gets_its_own_empty_one(project, user):
    addon_services.create_addon(project, "postgres")
    preview = Preview.objects.create(
        project=project,
        number=3,
        head_sha="a" * 40,
        head_branch="x",
        last_activity="2026-01-01T00:00Z",
    )

    decision = services.deploy(preview)

    child = Project.objects.get(slug="pr-3-shop")
    production, own = project.addons.get(), child.addons.get()
    assert decision.verdict == "queued" and decision.build is None  # the worker creates it first
    assert own.container_name != production.container_name
    assert own.volume_name != production.volume_name
    assert own.password() != production.password()
    environment = addon_services.app_environment(child, Plan())
    assert production.password() not in str(environment)


def test_the_environment_page_marks_a_variable_production_only_and_sets_a_preview_value(
    client, user, project, child
):
    client.force_login(user)
    client.post(
        "/projects/shop/environment/add/",
        {"key": "STRIPE_KEY", "value": "sk_live", "production_only": "on"},
    )
    client.post(
        "/projects/shop/environment/add/",
        {"key": "MODE", "value": "production", "preview_value": "preview"},
    )

    page = client.get("/projects/shop/environment/").content.decode()

    assert project_services.runtime_environment(child) == {"MODE": "preview"}
    assert "production only" in page and "preview value" in page
    assert "sk_live" not in page and ">preview<" not in page


def test_editing_a_variable_gives_previews_the_production_value_again(client, user, project, child):
    env_var = project_services.add_env_var(project, "MODE", "production", preview_value="p")
    client.force_login(user)

    client.post(
        f"/projects/shop/environment/{env_var.pk}/edit/",
        {"key": "MODE", "value": "", "preview_value": "", "same_in_previews": "on"},
    )

    assert project_services.runtime_environment(child) == {"MODE": "production"}
