"""Credentials go only where their owner sent them: who may change the repository, deploy keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from django.db import connection
from django.urls import reverse

from projects import services
from projects.models import Project

pytestmark = pytest.mark.django_db

TOKEN = "ghp_0wnerT0kenNeverLeaves"


@pytest.fixture
def private_project(user, other_user):
    project = services.create_project(
        user, slug="private", repo_url=f"https://deploy:{TOKEN}@github.com/acme/private.git"
    )
    project.members.add(other_user)
    return project


def _edit_form(project: Project, **changes) -> dict:
    data = {
        "repo_url": project.repo_url,
        "branch": project.branch,
        "framework": project.framework,
        "builder": project.builder,
        "container_port": project.container_port,
        "memory_limit_mb": project.memory_limit_mb,
    }
    return {**data, **changes}


def test_a_member_cannot_change_the_repository_url_or_the_credentials(
    client, private_project, other_user
):
    client.force_login(other_user)
    url = reverse("projects:settings", args=[private_project.slug])

    page = client.get(url)
    response = client.post(
        url,
        _edit_form(
            private_project,
            repo_url="https://github.com/mallory/loot.git",
            branch="dev",
            forget_credentials="on",
        ),
    )

    assert not {"repo_url", "forget_credentials"} & set(page.context["form"].fields)
    assert "only the owner can change the repository" in page.content.decode()
    assert response.status_code == 302
    private_project.refresh_from_db()
    assert private_project.repo_url == "https://github.com/acme/private.git"
    assert private_project.branch == "dev"  # what a member may change is still saved
    assert services.git_credentials(private_project).password == TOKEN


def test_the_owner_changing_the_url_drops_the_token_unless_given_again(
    auth_client, private_project
):
    url = reverse("projects:settings", args=[private_project.slug])

    auth_client.post(url, _edit_form(private_project, repo_url="https://github.com/acme/b.git"))

    private_project.refresh_from_db()
    assert private_project.repo_url == "https://github.com/acme/b.git"
    assert not private_project.has_repo_credentials


def test_only_the_owner_sees_the_deploy_key_and_may_replace_it(
    client, user, other_user, django_user_model
):
    project = services.create_project(user, slug="sshy", repo_url="git@github.com:acme/sshy.git")
    project.members.add(other_user)
    detail = reverse("projects:settings", args=[project.slug])
    replace = reverse("projects:deploy-key", args=[project.slug])

    client.force_login(other_user)
    member_page = client.get(detail).content.decode()
    member_replace = client.post(replace)
    client.force_login(user)
    owner_page = client.get(detail).content.decode()

    assert project.deploy_public_key not in member_page
    assert member_replace.status_code == 403
    assert project.deploy_public_key in owner_page
    assert client.post(replace).status_code == 302
    assert Project.objects.get(pk=project.pk).deploy_public_key != project.deploy_public_key


def test_an_ssh_project_gets_its_own_ed25519_deploy_key_stored_encrypted(user):
    first = services.create_project(user, slug="one", repo_url="git@github.com:acme/one.git")
    second = services.create_project(user, slug="two", repo_url="ssh://git@github.com/acme/two")

    private = services.git_credentials(first).ssh_private_key
    key = serialization.load_ssh_private_key(private.encode(), password=None)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert first.deploy_public_key == f"{public.decode()} deployer-one"
    assert first.deploy_public_key.startswith("ssh-ed25519 ")
    assert first.deploy_public_key != second.deploy_public_key
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_deploy_key FROM projects_project WHERE slug = 'one'")
        (stored,) = cursor.fetchone()
    assert "PRIVATE KEY" not in stored and private not in stored


def test_an_https_project_has_no_deploy_key(user):
    project = services.create_project(user, slug="web", repo_url="https://e.com/acme/web.git")

    assert not project.deploy_public_key
    assert not services.git_credentials(project).ssh_private_key


def test_moving_to_another_ssh_host_forgets_its_known_host_key(user):
    project = services.create_project(user, slug="kh", repo_url="git@github.com:acme/kh.git")
    services.remember_known_hosts(project, "github.com ssh-ed25519 AAAA...\n")

    services.update_project(project, repo_url="git@gitlab.com:acme/kh.git")

    assert Project.objects.get(pk=project.pk).ssh_known_hosts == ""
