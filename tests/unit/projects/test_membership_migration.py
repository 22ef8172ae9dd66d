from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("projects", "0010_builder")]
AFTER = [("projects", "0011_membership_roles")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_members_stay_members_as_deployers():
    old = migrate(BEFORE)
    User = old.get_model("auth", "User")
    Project = old.get_model("projects", "Project")
    ada = User.objects.create(username="ada")
    grace = User.objects.create(username="grace")
    shop = Project.objects.create(slug="shop", repo_url="https://example.com/s.git", owner=ada)
    shop.members.add(grace)
    try:
        new = migrate(AFTER)
        Membership = new.get_model("projects", "Membership")
        row = Membership.objects.get()
        assert (row.project_id, row.user_id, row.role) == (shop.pk, grace.pk, "deployer")
        assert row.created_at is not None
        assert list(new.get_model("projects", "Project").objects.get().members.all()) == [
            new.get_model("auth", "User").objects.get(username="grace")
        ]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
