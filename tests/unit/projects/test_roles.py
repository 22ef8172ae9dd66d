"""Issue 24's roles as a matrix: every role by every action a page offers → allowed, 403, or
404 for someone the project is not shared with, and nothing changed on a refusal."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import reverse

from addons import services as addon_services
from builds.models import Build
from monitoring.models import NotificationSettings
from projects import audit, permissions, services
from projects.models import AuditEntry, EnvVar, Membership, Project
from routing.models import Domain
from tests.unit.routing.conftest import FakeCaddy
from webhooks.models import WebhookEndpoint

SECRET = "hunter2-plaintext-secret"
ROLES = ["owner", "deployer", "viewer", "stranger", "staff"]
RANK = {"viewer": 1, "deployer": 2, "owner": 3, "staff": 4}


@dataclass
class World:
    project: Project
    users: dict
    env_var: EnvVar
    build: Build
    active: Build
    domain: Domain
    addon: object


@pytest.fixture
def world(django_user_model, monkeypatch) -> World:
    from routing import caddy

    fake = FakeCaddy()
    monkeypatch.setattr(caddy, "get", fake.get)
    monkeypatch.setattr(caddy, "put", fake.put)
    make = django_user_model.objects.create_user
    users = {
        "owner": make(username="ada", password="x"),
        "deployer": make(username="grace", password="x"),
        "viewer": make(username="vic", password="x"),
        "stranger": make(username="sam", password="x"),
        "staff": make(username="root", password="x", is_staff=True),
    }
    project = services.create_project(
        users["owner"],
        slug="shop",
        repo_url="git@example.com:acme/shop.git",
        members=[(users["deployer"], "deployer"), (users["viewer"], "viewer")],
    )
    env_var = services.add_env_var(project, "DATABASE_PASSWORD", SECRET)
    build = Build.objects.create(project=project, state=Build.State.FAILED, commit_sha="a" * 40)
    active = Build.objects.create(project=project, state=Build.State.QUEUED)
    domain = Domain.objects.create(
        project=project, hostname="www.shop.com", state=Domain.State.VERIFIED
    )
    addon = addon_services.create_addon(project, "postgres")
    return World(project, users, env_var, build, active, domain, addon)


def fingerprint(world: World) -> tuple:
    """Everything an action could change, read afresh."""
    project = Project.objects.get(pk=world.project.pk)
    return (
        project.branch,
        project.encrypted_deploy_key,
        project.deleting_at,
        AuditEntry.objects.count(),
        Build.objects.count(),
        Build.objects.get(pk=world.active.pk).cancel_requested,
        sorted(EnvVar.objects.values_list("key", "encrypted_value")),
        Domain.objects.count(),
        list(project.memberships.values_list("user_id", "role")),
        list(project.addons.values_list("pk", "backup_every_hours")),
        list(WebhookEndpoint.objects.values_list("encrypted_secret", flat=True)),
        list(NotificationSettings.objects.values_list("pk", flat=True)),
        project.detection_previews.count(),
    )


SETTINGS = {
    "repo_url": "git@example.com:acme/shop.git",
    "branch": "release",
    "framework": "auto",
    "builder": "auto",
    "container_port": "8000",
    "memory_limit_mb": "512",
    "keep_sqlite": "on",
}

# (action, method, URL of the world, form data, the lowest role allowed)
CASES = [
    ("overview", "get", lambda w: reverse("projects:detail", args=["shop"]), {}, "viewer"),
    ("deployments", "get", lambda w: reverse("builds:deployments", args=["shop"]), {}, "viewer"),
    ("environment", "get", lambda w: reverse("projects:environment", args=["shop"]), {}, "viewer"),
    ("domains", "get", lambda w: reverse("routing:project", args=["shop"]), {}, "viewer"),
    ("addons", "get", lambda w: reverse("addons:list", args=["shop"]), {}, "viewer"),
    ("activity", "get", lambda w: reverse("projects:activity", args=["shop"]), {}, "viewer"),
    ("settings", "get", lambda w: reverse("projects:settings", args=["shop"]), {}, "viewer"),
    ("webhooks", "get", lambda w: reverse("webhooks:project", args=["shop"]), {}, "viewer"),
    (
        "notifications",
        "get",
        lambda w: reverse("monitoring:notifications", args=["shop"]),
        {},
        "viewer",
    ),
    ("build page", "get", lambda w: reverse("builds:detail", args=[w.build.pk]), {}, "viewer"),
    ("deploy", "post", lambda w: reverse("builds:deploy", args=["shop"]), {}, "deployer"),
    ("rollback", "post", lambda w: reverse("builds:rollback", args=[w.build.pk]), {}, "deployer"),
    ("cancel", "post", lambda w: reverse("builds:cancel", args=[w.active.pk]), {}, "deployer"),
    (
        "detection preview",
        "post",
        lambda w: reverse("builds:detection-preview", args=["shop"]),
        {},
        "deployer",
    ),
    (
        "env add",
        "post",
        lambda w: reverse("projects:env-add", args=["shop"]),
        {"key": "NEW", "value": "v"},
        "deployer",
    ),
    (
        "env edit form",
        "get",
        lambda w: reverse("projects:env-edit", args=["shop", w.env_var.pk]),
        {},
        "deployer",
    ),
    (
        "env edit",
        "post",
        lambda w: reverse("projects:env-edit", args=["shop", w.env_var.pk]),
        {"key": "DATABASE_PASSWORD", "value": "changed"},
        "deployer",
    ),
    (
        "env reveal",
        "post",
        lambda w: reverse("projects:env-reveal", args=["shop", w.env_var.pk]),
        {},
        "deployer",
    ),
    (
        "env delete",
        "post",
        lambda w: reverse("projects:env-delete", args=["shop", w.env_var.pk]),
        {},
        "deployer",
    ),
    (
        "env import",
        "post",
        lambda w: reverse("projects:env-import", args=["shop"]),
        {"env_file": "A=1\n"},
        "deployer",
    ),
    (
        "build settings",
        "post",
        lambda w: reverse("projects:settings", args=["shop"]),
        SETTINGS,
        "deployer",
    ),
    (
        "notification settings",
        "post",
        lambda w: reverse("monitoring:notifications", args=["shop"]),
        {"email_owner": "on", "webhook_format": "generic", "on_health": "on"},
        "deployer",
    ),
    (
        "notification test",
        "post",
        lambda w: reverse("monitoring:test-notification", args=["shop"]),
        {},
        "deployer",
    ),
    (
        "signing secret",
        "post",
        lambda w: reverse("monitoring:regenerate-secret", args=["shop"]),
        {},
        "deployer",
    ),
    (
        "deploy key",
        "post",
        lambda w: reverse("projects:deploy-key", args=["shop"]),
        {},
        "owner",
    ),
    (
        "webhook secret",
        "post",
        lambda w: reverse("webhooks:regenerate", args=["shop"]),
        {},
        "owner",
    ),
    (
        "domain add",
        "post",
        lambda w: reverse("routing:add", args=["shop"]),
        {"hostname": "api.shop.com"},
        "owner",
    ),
    (
        "domain check",
        "post",
        lambda w: reverse("routing:check", args=["shop", w.domain.pk]),
        {"method": "dns"},
        "owner",
    ),
    (
        "domain remove",
        "post",
        lambda w: reverse("routing:delete", args=["shop", w.domain.pk]),
        {},
        "owner",
    ),
    (
        "addon create",
        "post",
        lambda w: reverse("addons:create", args=["shop"]),
        {"kind": "postgres"},
        "owner",
    ),
    (
        "addon backup",
        "post",
        lambda w: reverse("addons:backup", args=["shop", w.addon.pk]),
        {},
        "owner",
    ),
    (
        "addon schedule",
        "post",
        lambda w: reverse("addons:schedule", args=["shop", w.addon.pk]),
        {"backup_every_hours": "6", "keep_backups": "3"},
        "owner",
    ),
    (
        "addon remove",
        "post",
        lambda w: reverse("addons:remove", args=["shop", w.addon.pk]),
        {"confirm": "postgres"},
        "owner",
    ),
    ("delete page", "get", lambda w: reverse("projects:delete", args=["shop"]), {}, "owner"),
    ("delete", "post", lambda w: reverse("projects:delete", args=["shop"]), {}, "owner"),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("action", "method", "url", "data", "minimum"), CASES, ids=[case[0] for case in CASES]
)
def test_role_matrix(client, world, role, action, method, url, data, minimum):
    client.force_login(world.users[role])
    before = fingerprint(world)

    response = getattr(client, method)(url(world), data)

    if role == "stranger":
        assert response.status_code == 404
    elif RANK[role] >= RANK[minimum]:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 403
    if response.status_code in (403, 404):
        assert fingerprint(world) == before


def test_every_action_of_the_table_is_a_known_role():
    assert set(permissions.ACTIONS.values()) <= {"owner", "deployer", "viewer"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", "owner"), ("deployer", "deployer"), ("viewer", "viewer"), ("stranger", None)],
)
def test_role_of_names_each_persons_role(world, role, expected):
    assert permissions.role_of(world.users[role], world.project) == expected
    assert permissions.role_of(world.users["staff"], world.project) == "staff"


def test_can_refuses_an_action_it_does_not_know(world):
    with pytest.raises(KeyError):
        permissions.can(world.users["owner"], world.project, "launch")


# What a viewer sees -----------------------------------------------------------------------


def _page(client, world, role, name, *args):
    client.force_login(world.users[role])
    return client.get(reverse(name, args=args or ["shop"])).content.decode()


def test_a_viewer_sees_no_deploy_rollback_or_cancel(client, world):
    for name, args in [
        ("projects:detail", ["shop"]),
        ("builds:deployments", ["shop"]),
        ("builds:detail", [world.active.pk]),
    ]:
        html = _page(client, world, "viewer", name, *args)
        assert reverse("builds:deploy", args=["shop"]) not in html
        assert "/cancel/" not in html and "/rollback/" not in html
    deployer = _page(client, world, "deployer", "projects:detail")
    assert reverse("builds:deploy", args=["shop"]) in deployer


def test_a_viewer_reads_variable_names_but_no_value_and_no_reveal(client, world):
    html = _page(client, world, "viewer", "projects:environment")

    assert "DATABASE_PASSWORD" in html
    assert SECRET not in html
    assert "Reveal" not in html and "/reveal/" not in html
    assert reverse("projects:env-add", args=["shop"]) not in html
    assert "/delete/" not in html
    assert "Reveal" in _page(client, world, "deployer", "projects:environment")


def test_a_viewer_is_offered_no_deletion_and_no_deploy_key_and_cannot_save_settings(client, world):
    html = _page(client, world, "viewer", "projects:settings")

    assert reverse("projects:delete", args=["shop"]) not in html
    assert reverse("projects:deploy-key", args=["shop"]) not in html
    assert 'type="submit">Save<' not in html
    assert "disabled" in html


def test_webhook_and_signing_secrets_are_shown_only_to_the_roles_that_may(client, world):
    from monitoring import alerts
    from webhooks import services as webhook_services

    webhook_secret = webhook_services.endpoint_for(world.project).decrypted_secret()
    alerts.update_notification_settings(
        world.project,
        email_owner=True,
        extra_emails="",
        webhook_url=None,
        webhook_format="generic",
        on_health=True,
        on_deploy=True,
    )
    signing = alerts.saved_notification_settings(world.project).signing_secret()

    viewer = _page(client, world, "viewer", "projects:settings")
    deployer = _page(client, world, "deployer", "projects:settings")
    owner = _page(client, world, "owner", "projects:settings")

    assert webhook_secret not in viewer and signing not in viewer
    assert webhook_secret not in deployer and signing in deployer
    assert webhook_secret in owner and signing in owner


def test_a_deployer_is_not_offered_domains_add_ons_or_deletion(client, world):
    domains = _page(client, world, "deployer", "routing:project")
    addons = _page(client, world, "deployer", "addons:list")
    settings_page = _page(client, world, "deployer", "projects:settings")

    assert reverse("routing:add", args=["shop"]) not in domains
    assert "/remove/" not in addons and "/backup/" not in addons
    assert reverse("projects:delete", args=["shop"]) not in settings_page


# Members and their roles ------------------------------------------------------------------


def test_the_owner_gives_roles_in_the_members_field_and_the_audit_log_names_them(client, world):
    client.force_login(world.users["owner"])

    response = client.post(
        reverse("projects:settings", args=["shop"]),
        {**SETTINGS, "members": "grace:viewer, vic, sam:viewer"},
    )

    assert response.status_code == 302
    roles = dict(world.project.memberships.values_list("user__username", "role"))
    assert roles == {"grace": "viewer", "vic": "deployer", "sam": "viewer"}
    entry = world.project.audit_entries.filter(action=audit.Action.MEMBERS).first()
    assert entry.summary == "grace deployer → viewer +sam (viewer) vic viewer → deployer"


@pytest.mark.parametrize(
    ("role", "status", "changed"),
    [
        ("owner", 302, True),
        ("staff", 302, True),
        # The settings form has no members field for a deployer: like the repository URL,
        # what is posted for it is ignored while the build settings are saved.
        ("deployer", 302, False),
        ("viewer", 403, False),
        ("stranger", 404, False),
    ],
)
def test_only_the_owner_and_staff_change_members(client, world, role, status, changed):
    client.force_login(world.users[role])
    before = list(world.project.memberships.values_list("user__username", "role"))

    response = client.post(
        reverse("projects:settings", args=["shop"]), {**SETTINGS, "members": "sam:deployer"}
    )

    after = list(world.project.memberships.values_list("user__username", "role"))
    assert response.status_code == status
    assert (after != before) is changed


def test_an_unknown_role_is_refused_with_the_choices(client, world):
    client.force_login(world.users["owner"])

    response = client.post(
        reverse("projects:settings", args=["shop"]), {**SETTINGS, "members": "grace:admin"}
    )

    assert response.status_code == 200
    assert "Unknown role in grace:admin: deployer or viewer." in response.content.decode()
    assert Membership.objects.get(user=world.users["deployer"]).role == "deployer"


def test_members_added_without_a_role_are_deployers(world, django_user_model):
    newcomer = django_user_model.objects.create_user(username="newcomer")
    world.project.members.add(newcomer)

    assert permissions.role_of(newcomer, world.project) == "deployer"


def test_the_frame_tells_a_member_their_role(client, world):
    assert "Your role: viewer (read only)" in _page(client, world, "viewer", "projects:detail")
    assert "Your role: deployer" in _page(client, world, "deployer", "projects:detail")
    assert "Your role" not in _page(client, world, "owner", "projects:detail")
