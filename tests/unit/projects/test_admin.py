from __future__ import annotations

import pytest
from django.urls import reverse

from builds import deletion
from projects import services
from projects.models import EnvVar, Project

pytestmark = pytest.mark.django_db

SECRET = "hunter2-plaintext-secret"


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def test_admin_pages_never_show_a_value_or_its_ciphertext(admin_client, project, env_var):
    pages = {
        reverse("admin:projects_project_changelist"): "shop",
        reverse("admin:projects_project_change", args=[project.pk]): "DATABASE_PASSWORD",
        reverse("admin:projects_envvar_changelist"): "DATABASE_PASSWORD",
        reverse("admin:projects_envvar_change", args=[env_var.pk]): "DATABASE_PASSWORD",
    }

    for url, shown in pages.items():
        response = admin_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200, url
        assert shown in html, url
        assert SECRET not in html, url
        assert env_var.encrypted_value not in html, url
        assert "••••••••" in html or url.endswith("/project/"), url


def test_admin_changelist_searches_and_filters_by_owner(admin_client, project, user, other_user):
    services.create_project(other_user, slug="theirs", repo_url="https://e.com/a/b")
    changelist = reverse("admin:projects_project_changelist")

    by_owner = admin_client.get(changelist, {"owner__id__exact": user.pk})
    by_search = admin_client.get(changelist, {"q": "theirs"})

    assert [p.slug for p in by_owner.context["cl"].result_list] == ["shop"]
    assert [p.slug for p in by_search.context["cl"].result_list] == ["theirs"]


def test_admin_inline_changes_a_value_only_when_a_new_one_is_typed(admin_client, project, env_var):
    url = reverse("admin:projects_project_change", args=[project.pk])
    data = {
        "repo_url": project.repo_url,
        "branch": "main",
        "framework": "auto",
        "builder": "auto",
        "container_port": "8000",
        "memory_limit_mb": "512",
        "owner": project.owner_id,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "env_vars-TOTAL_FORMS": "2",
        "env_vars-INITIAL_FORMS": "1",
        "env_vars-0-id": env_var.pk,
        "env_vars-0-project": project.pk,
        "env_vars-0-key": "DATABASE_PASSWORD",
        "env_vars-0-new_value": "",
        "env_vars-1-project": project.pk,
        "env_vars-1-key": "NEW_ONE",
        "env_vars-1-new_value": "typed-in-admin",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert services.runtime_environment(project) == {
        "DATABASE_PASSWORD": SECRET,
        "NEW_ONE": "typed-in-admin",
    }


def test_admin_splits_credentials_off_a_url_like_the_web_form(admin_client, user):
    response = admin_client.post(
        reverse("admin:projects_project_add"),
        {
            "slug": "private",
            "repo_url": "https://u:adminToken@github.com/acme/private.git",
            "branch": "main",
            "framework": "auto",
            "builder": "auto",
            "container_port": "8000",
            "memory_limit_mb": "512",
            "owner": user.pk,
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "env_vars-TOTAL_FORMS": "0",
            "env_vars-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    project = Project.objects.get(slug="private")
    assert project.repo_url == "https://github.com/acme/private.git"
    credentials = services.git_credentials(project)
    assert (credentials.username, credentials.password) == ("u", "adminToken")


def test_admin_delete_also_cleans_docker_resources(admin_client, project, monkeypatch):
    removed = []
    monkeypatch.setattr(
        deletion, "remove_docker_resources", lambda slug: removed.append(slug) or []
    )

    admin_client.post(reverse("admin:projects_project_delete", args=[project.pk]), {"post": "yes"})

    assert removed == ["shop"]
    assert not Project.objects.exists()
    assert not EnvVar.objects.exists()


def test_admin_gives_a_member_a_role_and_the_audit_log_says_so(admin_client, project, other_user):
    url = reverse("admin:projects_project_change", args=[project.pk])
    data = {
        "repo_url": project.repo_url,
        "branch": "main",
        "framework": "auto",
        "builder": "auto",
        "container_port": "8000",
        "memory_limit_mb": "512",
        "owner": project.owner_id,
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-0-project": project.pk,
        "memberships-0-user": other_user.pk,
        "memberships-0-role": "viewer",
        "env_vars-TOTAL_FORMS": "0",
        "env_vars-INITIAL_FORMS": "0",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert project.memberships.get().role == "viewer"
    entry = project.audit_entries.get(action="project.members")
    assert entry.summary == "+grace (viewer) in the admin"
