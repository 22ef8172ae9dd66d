from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404

from projects import services
from projects.models import Project

pytestmark = pytest.mark.django_db


def _raw_project_row(project: Project) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT repo_url, encrypted_repo_credentials FROM projects_project WHERE id = %s",
            [project.pk],
        )
        return cursor.fetchone()


def _basic_auth(project: Project) -> tuple[str, str]:
    credentials = services.git_credentials(Project.objects.get(pk=project.pk))
    return credentials.username, credentials.password


def test_create_project_applies_the_documented_defaults(user):
    project = services.create_project(user, slug="blog", repo_url="git@github.com:acme/blog.git")

    assert (project.branch, project.framework, project.container_port) == ("main", "auto", 8000)
    assert (project.memory_limit_mb, project.app_root, project.health_check_path) == (512, "", "")
    assert project.owner == user


def test_create_project_refuses_invalid_fields_with_messages_by_field(user):
    with pytest.raises(ValidationError) as caught:
        services.create_project(
            user,
            slug="Bad_Name",
            repo_url="--upload-pack=touch /tmp/x",
            branch="a..b",
            app_root="../up",
            health_check_path="healthz",
            container_port=70000,
        )

    assert set(caught.value.message_dict) == {
        "slug",
        "repo_url",
        "branch",
        "app_root",
        "health_check_path",
        "container_port",
    }
    assert not Project.objects.exists()


def test_create_project_refuses_a_taken_name(user, other_user, project):
    with pytest.raises(ValidationError) as caught:
        services.create_project(other_user, slug="shop", repo_url="https://example.com/x/y.git")

    assert "slug" in caught.value.message_dict


def test_create_project_refuses_unknown_fields(user):
    with pytest.raises(TypeError, match="colour"):
        services.create_project(user, slug="x", repo_url="https://e.com/a/b", colour="red")


def test_local_repositories_follow_the_setting(settings, user):
    settings.DEPLOYER_ALLOW_LOCAL_REPOS = False
    with pytest.raises(ValidationError):
        services.create_project(user, slug="local", repo_url="/tmp/repo")

    settings.DEPLOYER_ALLOW_LOCAL_REPOS = True
    assert services.create_project(user, slug="local", repo_url="/tmp/repo").repo_url == "/tmp/repo"


def test_app_root_is_normalised(user):
    project = services.create_project(
        user, slug="mono", repo_url="https://e.com/a/b", app_root="./services/web/"
    )

    assert project.app_root == "services/web"


def test_name_cannot_change_after_creation(project):
    with pytest.raises(ValidationError) as caught:
        services.update_project(project, slug="renamed")

    assert "slug" in caught.value.message_dict
    assert Project.objects.filter(slug="shop").exists()


def test_credentials_are_split_off_the_url_and_stored_encrypted(user):
    project = services.create_project(
        user, slug="private", repo_url="https://deploy:ghp_s3cretToken@github.com/acme/private.git"
    )

    repo_url, encrypted_repo_credentials = _raw_project_row(project)
    assert repo_url == "https://github.com/acme/private.git"
    assert "ghp_s3cretToken" not in encrypted_repo_credentials
    assert project.has_repo_credentials
    assert _basic_auth(project) == ("deploy", "ghp_s3cretToken")


def test_a_token_alone_in_the_url_is_treated_as_credentials(user):
    project = services.create_project(
        user, slug="private", repo_url="https://ghp_tokenOnly@github.com/acme/private.git"
    )

    assert project.repo_url == "https://github.com/acme/private.git"
    assert _basic_auth(project) == ("", "ghp_tokenOnly")


def test_saving_the_same_url_keeps_the_stored_credentials(user):
    project = services.create_project(
        user, slug="private", repo_url="https://u:tok@github.com/acme/private.git"
    )

    services.update_project(project, repo_url="https://github.com/acme/private.git", branch="dev")

    project.refresh_from_db()
    assert _basic_auth(project) == ("u", "tok")


@pytest.mark.parametrize(
    "new_url",
    ["https://github.com/acme/other.git", "https://attacker.example/acme/private.git"],
    ids=["same-host", "other-host"],
)
def test_any_change_of_the_repository_url_drops_the_credentials(user, new_url):
    project = services.create_project(
        user, slug="private", repo_url="https://u:tok@github.com/acme/private.git"
    )

    services.update_project(project, repo_url=new_url)

    project.refresh_from_db()
    assert not project.has_repo_credentials
    assert _basic_auth(project) == ("", "")


def test_credentials_re_entered_with_the_new_url_are_kept(user):
    project = services.create_project(
        user, slug="private", repo_url="https://u:tok@github.com/acme/private.git"
    )

    services.update_project(project, repo_url="https://u:tok2@github.com/acme/other.git")

    project.refresh_from_db()
    assert project.repo_url == "https://github.com/acme/other.git"
    assert _basic_auth(project) == ("u", "tok2")


def test_credentials_can_be_forgotten_or_replaced(user):
    project = services.create_project(
        user, slug="private", repo_url="https://u:old@github.com/acme/private.git"
    )

    services.update_project(project, repo_url="https://u:new@github.com/acme/private.git")
    assert _basic_auth(project) == ("u", "new")

    services.update_project(project, forget_credentials=True)
    assert not Project.objects.get(pk=project.pk).has_repo_credentials


def test_members_are_set_without_the_owner(user, other_user):
    project = services.create_project(
        user, slug="team", repo_url="https://e.com/a/b", members=[user, other_user]
    )

    assert list(project.members.all()) == [other_user]


def test_projects_are_visible_to_owner_members_and_staff_only(
    user, other_user, staff_user, django_user_model
):
    mine = services.create_project(user, slug="mine", repo_url="https://e.com/a/b")
    shared = services.create_project(
        other_user, slug="shared", repo_url="https://e.com/a/b", members=[user]
    )
    services.create_project(other_user, slug="theirs", repo_url="https://e.com/a/b")

    assert list(Project.objects.visible_to(user)) == [mine, shared]
    assert [p.slug for p in Project.objects.visible_to(staff_user)] == ["mine", "shared", "theirs"]
    assert services.get_project_for_user(user, "shared") == shared
    with pytest.raises(Http404):
        services.get_project_for_user(user, "theirs")


def test_env_var_keys_must_be_posix_names_and_not_port(project):
    for key in ("1BAD", "MY-VAR", "PORT"):
        with pytest.raises(ValidationError) as caught:
            services.add_env_var(project, key, "x")
        assert "key" in caught.value.message_dict
    assert not project.env_vars.exists()


def test_adding_a_key_twice_is_refused_on_the_key_field(project, env_var):
    with pytest.raises(ValidationError) as caught:
        services.add_env_var(project, env_var.key, "other")

    assert caught.value.message_dict == {
        "key": ["DATABASE_PASSWORD is already set for this project."]
    }


def test_updating_an_env_var_changes_only_what_is_given(env_var):
    services.update_env_var(env_var, available_at_build=True)
    env_var.refresh_from_db()
    assert env_var.decrypted_value() == "hunter2-plaintext-secret"

    services.update_env_var(env_var, key="DB_PASSWORD", value="new")
    env_var.refresh_from_db()
    assert (env_var.key, env_var.decrypted_value(), env_var.available_at_build) == (
        "DB_PASSWORD",
        "new",
        True,
    )


def test_renaming_onto_an_existing_key_is_refused(project, env_var):
    other = services.add_env_var(project, "OTHER", "x")

    with pytest.raises(ValidationError) as caught:
        services.update_env_var(other, key=env_var.key)

    assert "key" in caught.value.message_dict


def test_values_with_nul_are_refused(project):
    with pytest.raises(ValidationError) as caught:
        services.add_env_var(project, "A", "x\x00y")

    assert "value" in caught.value.message_dict


def test_import_upserts_and_keeps_the_build_flag_of_existing_variables(project):
    existing = services.add_env_var(project, "A", "old", available_at_build=True)

    result = services.import_env_file(project, "export A=new\nB='two'\n")

    assert (result.created, result.updated) == (["B"], ["A"])
    assert services.runtime_environment(project) == {"A": "new", "B": "two"}
    existing.refresh_from_db()
    assert existing.available_at_build


def test_import_saves_nothing_when_any_line_is_invalid(project, env_var):
    with pytest.raises(ValidationError) as caught:
        services.import_env_file(project, "A=1\nPORT=80\nB\nDATABASE_PASSWORD=changed\n")

    assert caught.value.messages == [
        "Line 2: PORT is set by Deployer and cannot be overridden.",
        "Line 3: expected KEY=value",
    ]
    assert services.runtime_environment(project) == {
        "DATABASE_PASSWORD": "hunter2-plaintext-secret"
    }


def test_import_of_an_empty_file_is_refused(project):
    with pytest.raises(ValidationError, match="no variables"):
        services.import_env_file(project, "# nothing here\n")


def test_build_pipeline_reads_runtime_environment_and_build_arguments(project):
    services.add_env_var(project, "SECRET_KEY", "runtime-only")
    services.add_env_var(project, "NPM_TOKEN", "at-build", available_at_build=True)

    assert services.runtime_environment(project) == {
        "NPM_TOKEN": "at-build",
        "SECRET_KEY": "runtime-only",
    }
    assert services.build_arguments(project) == {"NPM_TOKEN": "at-build"}


def test_secret_values_cover_every_value_and_the_repository_token(user):
    project = services.create_project(
        user, slug="private", repo_url="https://deploy:tok%2Fen@github.com/acme/private.git"
    )
    services.import_env_file(project, "A=short\nB=a-much-longer-value\nEMPTY=")

    assert services.secret_values(project) == [
        "a-much-longer-value",
        "tok%2Fen",
        "tok/en",
        "short",
    ]
