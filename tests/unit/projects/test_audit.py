"""The audit log: who did what to a project, never a variable's value."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from builds import deletion
from builds import services as build_services
from builds.models import Build
from deployer.housekeeping import delete_old_rows
from projects import audit, services
from projects.models import AuditEntry
from routing import services as routing_services

pytestmark = pytest.mark.django_db
SECRET = "s3cr3t-never-in-the-audit-log"


def _entries(project) -> list[tuple[str, str, str]]:
    return [(e.action, e.actor_label, e.summary) for e in audit.recent(project)][::-1]


def test_a_variable_added_changed_and_deleted_in_the_page_names_its_key_never_its_value(
    auth_client, project, user
):
    auth_client.post(
        reverse("projects:env-add", args=[project.slug]), {"key": "API_TOKEN", "value": SECRET}
    )
    env_var = project.env_vars.get(key="API_TOKEN")
    auth_client.post(
        reverse("projects:env-edit", args=[project.slug, env_var.pk]),
        {"key": "API_TOKEN", "value": SECRET + "2", "available_at_build": "on"},
    )
    auth_client.post(reverse("projects:env-delete", args=[project.slug, env_var.pk]))

    assert _entries(project)[1:] == [
        ("env.add", "ada", "API_TOKEN"),
        ("env.change", "ada", "API_TOKEN: value, available at build on"),
        ("env.delete", "ada", "API_TOKEN"),
    ]
    assert not AuditEntry.objects.filter(summary__contains=SECRET).exists()
    page = auth_client.get(reverse("admin:projects_auditentry_changelist"))
    assert SECRET not in page.content.decode()


def test_an_import_lists_the_keys_it_added_and_replaced(project, user, env_var):
    services.import_env_file(project, f"DATABASE_PASSWORD={SECRET}\nNEW_ONE={SECRET}\n", actor=user)

    assert _entries(project)[-1] == (
        "env.import",
        "ada",
        "added: NEW_ONE; replaced: DATABASE_PASSWORD",
    )


def test_settings_changes_name_the_fields_and_members_who_came_and_went(project, user, other_user):
    services.update_project(
        project,
        actor=user,
        branch="release",
        repo_url="https://ci:tok3n@example.com/acme/shop.git",
        members=[other_user],
    )
    services.update_project(project, actor=user, members=[])

    assert _entries(project)[1:] == [
        ("project.settings", "ada", "branch, repository credentials"),
        ("project.members", "ada", "+grace (deployer)"),
        ("project.members", "ada", "-grace"),
    ]
    assert not AuditEntry.objects.filter(summary__contains="tok3n").exists()


def test_deploys_name_the_user_or_the_webhook_and_a_cancel_who_asked(project, user, monkeypatch):
    monkeypatch.setattr("builds.tasks.run_build.delay", lambda build_id: None)
    by_hand = build_services.request_build(project, triggered_by=user)
    pushed = build_services.request_build(
        project, trigger=Build.Trigger.WEBHOOK, commit_sha="a" * 40, detail="github push by ada"
    )
    build_services.cancel_build(pushed, actor=user)
    build_services.cancel_build(by_hand)  # superseded already: nothing to record

    assert _entries(project)[1:] == [
        ("build.deploy", "ada", f"build #{by_hand.pk} of main"),
        ("build.deploy", "webhook: github push by ada", f"build #{pushed.pk} of aaaaaaaaaaaa"),
        ("build.cancel", "ada", f"build #{pushed.pk}"),
    ]


def test_domains_and_deletion_are_recorded_and_outlive_the_project(project, user, monkeypatch):
    monkeypatch.setattr(deletion, "remove_docker_resources", lambda slug: [])
    domain = routing_services.add_domain(project, "shop.example.org", actor=user)
    routing_services.remove_domain(domain, actor=user)

    deletion.delete_project(project, actor=user)

    left = AuditEntry.objects.filter(project_slug="shop").order_by("pk")
    assert [(e.action, e.summary, e.project_id) for e in left][1:] == [
        ("domain.add", "shop.example.org", None),
        ("domain.remove", "shop.example.org", None),
        ("project.delete", "", None),
    ]


def test_entries_older_than_the_retention_are_deleted_by_housekeeping(project, user, settings):
    settings.DEPLOYER_AUDIT_RETENTION_DAYS = 30
    old = audit.record(project, audit.Action.DEPLOY_KEY, actor=user)
    AuditEntry.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=31)
    )

    assert delete_old_rows()["audit entries"] == 1
    assert [e.action for e in audit.recent(project)] == ["project.create"]


def test_the_admin_shows_the_log_read_only(admin_client, project):
    page = admin_client.get(reverse("admin:projects_auditentry_changelist"))
    entry = project.audit_entries.get()

    assert page.status_code == 200 and "shop" in page.content.decode()
    change = admin_client.post(
        reverse("admin:projects_auditentry_change", args=[entry.pk]), {"summary": "forged"}
    )
    assert change.status_code == 403
    entry.refresh_from_db()
    assert entry.summary == project.repo_url
