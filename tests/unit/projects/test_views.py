from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from builds import deletion
from projects import services
from projects.models import EnvVar, Project

pytestmark = pytest.mark.django_db

SECRET = "hunter2-plaintext-secret"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(name: str, project: Project, env_var: EnvVar | None = None) -> str:
    args = [project.slug] + ([env_var.pk] if env_var else [])
    return reverse(f"projects:{name}", args=args)


def test_pages_need_a_login(client, project):
    response = client.get(_url("detail", project))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_shows_my_projects_and_their_state_but_not_others(auth_client, project, other_user):
    services.create_project(other_user, slug="hidden-one", repo_url="https://e.com/a/b")

    html = auth_client.get(reverse("projects:list")).content.decode()

    assert "shop" in html
    assert "Not deployed yet" in html
    assert "hidden-one" not in html


def test_create_project_redirects_to_its_page(auth_client, user):
    response = auth_client.post(
        reverse("projects:create"),
        {
            "slug": "blog",
            "repo_url": "https://github.com/acme/blog.git",
            "branch": "main",
            "framework": "auto",
            "builder": "auto",
            "container_port": "8000",
            "memory_limit_mb": "512",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/projects/blog/"
    assert Project.objects.get(slug="blog").owner == user


def test_create_form_shows_errors_next_to_their_fields(auth_client):
    response = auth_client.post(
        reverse("projects:create"),
        {
            "slug": "blog",
            "repo_url": "-oProxyCommand=touch /tmp/pwned",
            "branch": "foo.lock",
            "framework": "auto",
            "builder": "auto",
            "container_port": "8000",
            "memory_limit_mb": "512",
        },
    )

    form = response.context["form"]
    assert "cannot begin with '-'" in form.errors["repo_url"][0]
    assert "'.lock'" in form.errors["branch"][0]
    assert not Project.objects.exists()


def test_create_form_refuses_unknown_members(auth_client):
    response = auth_client.post(
        reverse("projects:create"),
        {
            "slug": "blog",
            "repo_url": "https://github.com/acme/blog.git",
            "branch": "main",
            "framework": "auto",
            "builder": "auto",
            "container_port": "8000",
            "memory_limit_mb": "512",
            "members": "nobody",
        },
    )

    assert response.context["form"].errors["members"] == ["No user named nobody."]


def test_credentials_typed_into_the_url_are_never_shown_back(auth_client, user):
    auth_client.post(
        reverse("projects:create"),
        {
            "slug": "private",
            "repo_url": "https://deploy:ghp_topSecretToken@github.com/acme/private.git",
            "branch": "main",
            "framework": "auto",
            "builder": "auto",
            "container_port": "8000",
            "memory_limit_mb": "512",
        },
    )
    project = Project.objects.get(slug="private")

    for url in (reverse("projects:list"), _url("detail", project), _url("settings", project)):
        html = auth_client.get(url).content.decode()
        assert "ghp_topSecretToken" not in html
    assert (
        "https://github.com/acme/private.git"
        in auth_client.get(reverse("projects:list")).content.decode()
    )
    settings_page = auth_client.get(_url("settings", project)).content.decode()
    assert "https://github.com/acme/private.git" in settings_page
    assert "credentials stored" in settings_page


def test_settings_save_and_keep_the_name(auth_client, project):
    response = auth_client.post(
        _url("settings", project),
        {
            "slug": "renamed",
            "repo_url": project.repo_url,
            "branch": "develop",
            "framework": "django",
            "container_port": "9000",
            "memory_limit_mb": "1024",
        },
    )

    assert response["Location"] == "/projects/shop/settings/"
    project.refresh_from_db()
    assert (project.slug, project.branch, project.container_port) == ("shop", "develop", 9000)


def test_member_can_edit_but_not_delete_or_change_members(client, project, other_user):
    project.members.add(other_user)
    client.force_login(other_user)

    edit_page = client.get(_url("settings", project))
    assert "members" not in edit_page.context["form"].fields
    assert _url("delete", project) not in edit_page.content.decode()
    assert client.get(_url("delete", project)).status_code == 403
    assert client.post(_url("delete", project)).status_code == 403
    assert Project.objects.filter(pk=project.pk).exists()


def test_delete_asks_first_then_hands_the_deletion_to_the_worker(
    auth_client, project, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("builds.tasks.delete_project.delay", sent.append)

    assert "Delete shop?" in auth_client.get(_url("delete", project)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(_url("delete", project), follow=True)

    html = response.content.decode()
    assert "Project shop is being deleted" in html
    assert "Deleting" in html  # the list shows it until the worker is done
    assert sent == [project.pk]
    project.refresh_from_db()
    assert project.deleting_at is not None


def test_a_project_being_deleted_deploys_nothing(auth_client, project):
    from builds.models import Build

    Project.objects.filter(pk=project.pk).update(deleting_at=timezone.now())

    response = auth_client.post(reverse("builds:deploy", args=[project.slug]), follow=True)

    assert "is being deleted" in response.content.decode()
    assert not Build.objects.exists()


def test_the_workers_deletion_keeps_the_row_while_the_engine_is_unreachable(project, monkeypatch):
    monkeypatch.setattr(
        deletion, "remove_docker_resources", lambda slug: [f"Could not remove {slug}-web."]
    )

    problems = deletion.delete_project(project, keep_row_on_failure=True)

    assert problems == ["Could not remove shop-web."]
    assert Project.objects.filter(pk=project.pk).exists()


def test_no_page_shows_a_stored_value(auth_client, project, env_var):
    for url in (
        reverse("projects:list"),
        _url("detail", project),
        _url("environment", project),
        _url("activity", project),
        _url("settings", project),
        _url("delete", project),
        _url("env-edit", project, env_var),
    ):
        for extra in ({}, HTMX):
            html = auth_client.get(url, **extra).content.decode()
            assert SECRET not in html, url
            assert env_var.encrypted_value not in html, url
    row = auth_client.get(_url("env-row", project, env_var), **HTMX).content.decode()
    assert SECRET not in row
    assert "DATABASE_PASSWORD" in row


def test_reveal_returns_that_one_row_with_its_value_uncached(auth_client, project, env_var):
    services.add_env_var(project, "OTHER", "other-secret-value")

    response = auth_client.post(_url("env-reveal", project, env_var), **HTMX)

    html = response.content.decode()
    assert html.strip().startswith(f'<div id="env-{env_var.pk}"')
    assert SECRET in html
    assert "other-secret-value" not in html
    assert "no-store" in response["Cache-Control"]


def test_reveal_without_javascript_shows_the_page_with_only_that_value(
    auth_client, project, env_var
):
    services.add_env_var(project, "OTHER", "other-secret-value")

    html = auth_client.post(_url("env-reveal", project, env_var)).content.decode()

    assert SECRET in html
    assert "other-secret-value" not in html


def test_reveal_is_not_a_get(auth_client, project, env_var):
    assert auth_client.get(_url("env-reveal", project, env_var)).status_code == 405


def test_adding_a_variable_with_htmx_returns_a_fresh_form_and_the_new_row_out_of_band(
    auth_client, project
):
    response = auth_client.post(
        _url("env-add", project), {"key": "API_KEY", "value": "abc123xyz"}, **HTMX
    )

    env_var = project.env_vars.get(key="API_KEY")
    html = response.content.decode()
    form_html, _, out_of_band = html.partition('<div hx-swap-oob="beforeend:#env-list">')
    assert form_html.strip().startswith('<form id="env-add"')
    assert 'value="API_KEY"' not in form_html
    assert f'<div id="env-{env_var.pk}" class="env-row">' in out_of_band
    assert "abc123xyz" not in html
    assert env_var.decrypted_value() == "abc123xyz"


def test_adding_an_invalid_variable_with_htmx_returns_the_add_form_with_errors(
    auth_client, project
):
    response = auth_client.post(_url("env-add", project), {"key": "PORT", "value": "1"}, **HTMX)

    html = response.content.decode()
    assert html.strip().startswith('<form id="env-add"')
    assert "hx-swap-oob" not in html
    assert "PORT is set by Deployer" in html
    assert not project.env_vars.exists()


def test_adding_a_variable_without_javascript_redirects_to_the_environment(auth_client, project):
    response = auth_client.post(_url("env-add", project), {"key": "A", "value": "1"})

    assert response.status_code == 302
    assert response["Location"] == "/projects/shop/environment/"


def test_adding_an_invalid_variable_without_javascript_shows_the_page_with_errors(
    auth_client, project
):
    response = auth_client.post(_url("env-add", project), {"key": "1BAD", "value": "1"})

    assert response.status_code == 200
    assert "not a valid variable name" in response.content.decode()
    assert "<html" in response.content.decode()


def test_editing_with_htmx_swaps_the_row_for_a_form_and_back(auth_client, project, env_var):
    form_html = auth_client.get(_url("env-edit", project, env_var), **HTMX).content.decode()
    assert form_html.strip().startswith(f'<form id="env-{env_var.pk}"')
    assert SECRET not in form_html

    response = auth_client.post(
        _url("env-edit", project, env_var),
        {"key": "DATABASE_PASSWORD", "value": "rotated", "available_at_build": "on"},
        **HTMX,
    )

    assert response.content.decode().strip().startswith(f'<div id="env-{env_var.pk}"')
    env_var.refresh_from_db()
    assert (env_var.decrypted_value(), env_var.available_at_build) == ("rotated", True)


def test_editing_with_an_empty_value_keeps_the_value(auth_client, project, env_var):
    auth_client.post(
        _url("env-edit", project, env_var), {"key": "DB_PASSWORD", "value": ""}, **HTMX
    )

    env_var.refresh_from_db()
    assert (env_var.key, env_var.decrypted_value()) == ("DB_PASSWORD", SECRET)


def test_editing_with_an_invalid_key_returns_the_form_row_with_the_error(
    auth_client, project, env_var
):
    response = auth_client.post(
        _url("env-edit", project, env_var), {"key": "BAD-KEY", "value": ""}, **HTMX
    )

    html = response.content.decode()
    assert html.strip().startswith(f'<form id="env-{env_var.pk}"')
    assert "not a valid variable name" in html
    env_var.refresh_from_db()
    assert env_var.key == "DATABASE_PASSWORD"


def test_editing_without_javascript_shows_the_full_page_with_the_row_as_a_form(
    auth_client, project, env_var
):
    html = auth_client.get(_url("env-edit", project, env_var)).content.decode()

    assert "<html" in html
    assert f'<form id="env-{env_var.pk}"' in html


def test_deleting_with_htmx_returns_an_empty_fragment(auth_client, project, env_var):
    response = auth_client.post(_url("env-delete", project, env_var), **HTMX)

    assert response.status_code == 200
    assert response.content == b""
    assert not project.env_vars.exists()


def test_importing_with_htmx_returns_the_editor_with_the_new_rows(auth_client, project):
    response = auth_client.post(
        _url("env-import", project), {"env_file": "A=1\nexport B='two'\n"}, **HTMX
    )

    html = response.content.decode()
    assert html.strip().startswith('<section class="card" id="env-editor">')
    assert "Imported 2 variables (2 new, 0 replaced)." in html
    assert services.runtime_environment(project) == {"A": "1", "B": "two"}


def test_importing_an_invalid_file_shows_errors_by_line_and_saves_nothing(auth_client, project):
    response = auth_client.post(
        _url("env-import", project), {"env_file": "A=1\nnot a line\nA=2\n"}, **HTMX
    )

    html = response.content.decode()
    assert "Line 2: expected KEY=value" in html
    assert "Line 3: A is already set on line 1" in html
    assert not project.env_vars.exists()


def test_another_users_project_is_a_404_on_every_url(client, project, env_var, other_user):
    client.force_login(other_user)
    urls = [
        ("get", _url("detail", project)),
        ("get", _url("environment", project)),
        ("get", _url("activity", project)),
        ("get", _url("settings", project)),
        ("post", _url("settings", project)),
        ("get", _url("delete", project)),
        ("post", _url("delete", project)),
        ("post", _url("env-add", project)),
        ("post", _url("env-import", project)),
        ("get", _url("env-row", project, env_var)),
        ("get", _url("env-edit", project, env_var)),
        ("post", _url("env-edit", project, env_var)),
        ("post", _url("env-reveal", project, env_var)),
        ("post", _url("env-delete", project, env_var)),
    ]

    for method, url in urls:
        for extra in ({}, HTMX):
            response = getattr(client, method)(url, **extra)
            assert response.status_code == 404, (method, url)
            assert b"shop" not in response.content

    assert Project.objects.filter(pk=project.pk).exists()
    assert EnvVar.objects.get(pk=env_var.pk).decrypted_value() == SECRET


def test_an_env_var_of_another_project_is_a_404_under_mine(auth_client, user, other_user):
    mine = services.create_project(user, slug="mine", repo_url="https://e.com/a/b")
    theirs = services.create_project(other_user, slug="theirs", repo_url="https://e.com/a/b")
    foreign = services.add_env_var(theirs, "FOREIGN", "their-secret")

    for name in ("env-row", "env-edit"):
        assert auth_client.get(_url(name, mine, foreign), **HTMX).status_code == 404
    for name in ("env-reveal", "env-delete", "env-edit"):
        assert auth_client.post(_url(name, mine, foreign), **HTMX).status_code == 404
    assert EnvVar.objects.filter(pk=foreign.pk).exists()


def test_members_and_staff_can_open_the_project(client, project, other_user, staff_user):
    project.members.add(other_user)

    for someone in (other_user, staff_user):
        client.force_login(someone)
        assert client.get(_url("detail", project)).status_code == 200


def test_the_environment_section_holds_the_variable_editor(auth_client, project, env_var):
    html = auth_client.get(_url("environment", project)).content.decode()

    assert 'id="env-editor"' in html
    assert f'id="env-{env_var.pk}"' in html
    assert '<a href="/projects/shop/environment/" aria-current="page">Environment</a>' in html


def test_revealing_a_value_no_key_opens_explains_the_problem_in_the_row(
    auth_client, project, env_var, settings
):
    settings.DEPLOYER_SECRETS_KEY = "uEVjvF1B8DgCqSMp1A0HkS2oy8P0IKhH2Z7yjFxSMrU="

    response = auth_client.post(_url("env-reveal", project, env_var), **HTMX)

    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()


def test_web_replicas_are_set_in_the_settings_up_to_the_operators_maximum(
    auth_client, project, settings
):
    settings.DEPLOYER_MAX_REPLICAS = 3
    fields = {
        "repo_url": project.repo_url,
        "branch": "main",
        "framework": "auto",
        "container_port": "8000",
        "memory_limit_mb": "512",
    }

    too_many = auth_client.post(_url("settings", project), {**fields, "web_replicas": "4"})
    assert "at most 3 web replicas" in too_many.content.decode()
    project.refresh_from_db()
    assert project.web_replicas == 1

    saved = auth_client.post(_url("settings", project), {**fields, "web_replicas": "3"})
    assert saved.status_code == 302
    project.refresh_from_db()
    assert project.web_replicas == 3
