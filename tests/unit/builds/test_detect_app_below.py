"""An app one folder below the repository root, its dependency and Python files at the root."""

from __future__ import annotations

import pytest

from builds.pipeline.detect import DetectionError, detect_plan
from builds.pipeline.dockerfile import generate_dockerfile
from tests.unit.builds import trees


def netbox() -> dict[str, str]:
    """NetBox's layout: requirements.txt at the root, the Django project in netbox/."""
    project = trees.django_project()
    del project["requirements.txt"]
    app = {f"netbox/{rel.replace('mysite', 'netbox')}": text for rel, text in project.items()}
    app = {rel: text.replace("mysite", "netbox") for rel, text in app.items()}
    return {
        **app,
        "requirements.txt": "Django==5.2.1\ngunicorn==23.0.0\n",
        ".python-version": "3.12\n",
        "docs/index.md": "# NetBox\n",
        "scripts/verify-bundles.sh": "#!/bin/sh\n",
    }


def full_stack_fastapi() -> dict[str, str]:
    """tiangolo's full-stack-fastapi-template: backend/ holds its own pyproject and uv.lock."""
    return {
        "backend/pyproject.toml": '[project]\nname = "app"\nrequires-python = ">=3.10"\n'
        'dependencies = ["fastapi[standard]==0.115.0"]\n',
        "backend/uv.lock": 'version = 1\n[[package]]\nname = "app"\nversion = "0.1.0"\n'
        'source = { editable = "." }\n',
        "backend/app/__init__.py": "",
        "backend/app/main.py": trees.FASTAPI_APP,
        "backend/Dockerfile": "FROM python:3.10\n",
        "frontend/Dockerfile": "FROM node:20\n",
        "frontend/package.json": "{}\n",
        "docker-compose.yml": "services: {}\n",
    }


def test_netbox_layout_is_planned_in_its_folder_with_the_root_s_dependencies(detect):
    plan = detect(netbox(), available=("3.11", "3.12"))

    assert plan.app_dir == "netbox"
    assert (plan.framework, plan.entrypoint) == ("django", "netbox.wsgi:application")
    assert (plan.package_manager, plan.dependency_files) == ("pip", ["requirements.txt"])
    assert plan.python_version == "3.12"
    assert plan.release_command == "python manage.py migrate --noinput"
    assert plan.env["DJANGO_SETTINGS_MODULE"] == "netbox.settings"
    assert plan.health_path == "/healthz/"
    evidence = [str(item) for item in plan.evidence]
    assert (
        "app found in netbox/; dependencies and Python from the repository root "
        "(requirements.txt, .python-version); netbox/ is the app's working directory"
    ) in evidence
    assert "netbox/manage.py: release command: python manage.py migrate --noinput" in evidence
    assert any(item.startswith("netbox/netbox/settings.py:") for item in evidence)


def test_netbox_layout_generates_a_dockerfile_working_in_the_app_s_folder(detect):
    text = generate_dockerfile(detect(netbox(), available=("3.12",)))

    assert "WORKDIR /app/netbox\n" in text
    assert "COPY requirements.txt /app/requirements.txt\n" in text
    assert "COPY --chown=10001:10001 . /app/\n" in text


def test_sqlite_database_of_an_app_below_is_kept_in_its_folder(detect):
    files = netbox()
    files["netbox/netbox/settings.py"] = trees.STARTPROJECT_SETTINGS.replace("mysite", "netbox")

    plan = detect(files, available=("3.12",))

    assert plan.sqlite_databases == ["/app/netbox/db.sqlite3"]
    assert any(w.file == "netbox/netbox/settings.py" for w in plan.warnings)


def test_self_contained_app_below_is_refused_with_the_app_root_to_set(detect):
    with pytest.raises(DetectionError, match="Set the project's app root directory to 'backend'"):
        detect(full_stack_fastapi())


def test_self_contained_app_below_is_planned_when_the_app_root_names_it(make_tree):
    root = make_tree(full_stack_fastapi())

    plan = detect_plan(root / "backend", repository_root=root, available_pythons=("3.11",))

    assert (plan.kind, plan.app_dir) == ("dockerfile", "")
    assert plan.framework == "fastapi"


def test_several_apps_below_are_refused_and_listed(detect):
    files = {
        **netbox(),
        "api/main.py": trees.FASTAPI_APP,
        "api/manage.py": trees.manage_py("api.settings"),
    }

    with pytest.raises(DetectionError) as raised:
        detect(files, available=("3.12",))

    message = str(raised.value)
    assert "several below it: api/ (api/manage.py); netbox/ (netbox/manage.py)" in message
    assert "app root directory setting" in message


def test_app_root_without_dependency_files_uses_the_repository_root_s(make_tree):
    root = make_tree(netbox())

    plan = detect_plan(root / "netbox", repository_root=root, available_pythons=("3.11", "3.12"))

    assert plan.app_dir == "netbox"
    assert plan.dependency_files == ["requirements.txt"]
    assert plan.python_version == "3.12"
    assert plan.evidence[0].message.startswith(
        "app root netbox/ has no dependency or Python file: those of the repository root are used"
    )
    assert "netbox/manage.py" in [item.file for item in plan.evidence]


def test_app_root_without_repository_root_keeps_today_s_plan(make_tree):
    root = make_tree(netbox())

    plan = detect_plan(root / "netbox", available_pythons=("3.11", "3.12"))

    assert (plan.app_dir, plan.package_manager) == ("", "none")
    assert "no-dependencies" in plan.warning_codes()


def test_own_dockerfile_of_an_app_below_migrates_where_it_copies_manage_py(detect):
    files = {
        **netbox(),
        "Dockerfile": "FROM python:3.12-slim\nCOPY requirements.txt /opt/\n"
        "COPY netbox/ /opt/netbox/\nWORKDIR /opt\nCMD gunicorn --chdir netbox netbox.wsgi\n",
    }

    plan = detect(files)

    assert (plan.kind, plan.framework, plan.app_dir) == ("dockerfile", "django", "")
    assert plan.release_command == "python /opt/netbox/manage.py migrate --noinput"
