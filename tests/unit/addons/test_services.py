"""Add-on rows: one of a kind per project, fresh credentials, encrypted, redacted in logs."""

from __future__ import annotations

import pytest

from addons import services
from addons.models import AddOn
from builds.pipeline.plan import Plan, SettingsVariable
from projects import services as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user):
    return project_services.create_project(
        user, slug="shop-1", repo_url="https://example.com/a.git"
    )


def test_an_add_on_gets_its_own_names_and_a_password_stored_encrypted(project):
    addon = services.create_addon(project, "postgres")

    assert (addon.container_name, addon.volume_name) == (
        "deployer-shop-1-postgres",
        "deployer-postgres-shop-1",
    )
    assert addon.database == "shop_1" and addon.user == "app"
    assert len(addon.password()) >= 32
    assert addon.password() not in addon.encrypted_password


def test_a_second_add_on_of_a_kind_is_refused_and_an_unknown_kind_too(project):
    services.create_addon(project, "postgres")

    with pytest.raises(services.AddOnError, match="has a postgres add-on already"):
        services.create_addon(project, "postgres")
    with pytest.raises(services.AddOnError, match="Unknown add-on 'mysql'"):
        services.create_addon(project, "mysql")
    assert AddOn.objects.count() == 1


def test_the_app_gets_the_add_ons_variables_under_the_projects_own(project):
    addon = services.create_addon(project, "postgres")
    project_services.add_env_var(project, "DB_USER", "chosen-by-the-owner")
    plan = Plan(
        variables=[SettingsVariable("DB_NAME", "s.py", 3), SettingsVariable("DB_USER", "s.py", 4)]
    )

    environment = services.app_environment(project, plan)

    assert environment["DB_NAME"] == "shop_1"
    assert environment["DB_USER"] == "chosen-by-the-owner"
    assert environment["PGPASSWORD"] == addon.password()
    assert environment["PGHOST"] == "deployer-shop-1-postgres"
    assert [row.source for row in services.variable_sources(project, plan)] == ["addon", "project"]


def test_the_add_ons_password_is_redacted_from_build_logs(project):
    addon = services.create_addon(project, "postgres")

    assert addon.password() in project_services.secret_values(project)
