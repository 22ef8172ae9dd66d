"""`manage.py detect PATH [--json]`: the plan, its evidence and warnings, and the Dockerfile."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.unit.builds import trees


def run(*args: str) -> str:
    out = StringIO()
    call_command("detect", *args, stdout=out)
    return out.getvalue()


def test_prints_plan_evidence_warnings_and_dockerfile(make_tree):
    root = make_tree({"app.py": trees.FLASK_APP, "requirements.txt": "flask\n"})

    output = run(str(root), "--pythons", "3.11")

    assert "entry point:      app:app" in output
    assert "app.py:3: flask app, WSGI entry point app:app" in output
    assert "[unpinned-dependencies] requirements.txt:1:" in output
    assert "FROM python:3.11-slim" in output


def test_json_output_holds_the_plan_and_the_dockerfile(make_tree):
    root = make_tree({"main.py": trees.FASTAPI_APP})

    document = json.loads(run(str(root), "--json", "--pythons", "3.11,3.12"))

    assert document["plan"]["framework"] == "fastapi"
    assert document["plan"]["entrypoint"] == "main:app"
    assert "CMD [" in document["dockerfile"]


def test_own_dockerfile_is_shown_as_built_as_is(make_tree):
    root = make_tree({"Dockerfile": "FROM python:3.12-slim\n"})

    assert "own Dockerfile is built as is" in run(str(root))


def test_nothing_deployable_is_a_command_error(make_tree):
    with pytest.raises(CommandError, match="No web application found"):
        run(str(make_tree({"README.md": ""})))


def test_builder_generated_shows_the_generated_dockerfile_instead_of_the_own(make_tree):
    root = make_tree(
        {"Dockerfile": "FROM python:3.12-slim\n", "app.py": trees.FLASK_APP, "requirements.txt": ""}
    )

    output = run(str(root), "--builder", "generated", "--pythons", "3.11")

    assert "set aside by the project's builder setting 'generated'" in output
    assert "CMD [" in output


def test_app_root_below_the_repository_root_shows_the_app_folder(make_tree):
    root = make_tree(
        {
            "requirements.txt": "flask==3.1.0\n",
            "web/app.py": trees.FLASK_APP,
        }
    )

    output = run(str(root / "web"), "--repository-root", str(root), "--pythons", "3.11")

    assert "web/ (build context: the repository root)" in output
    assert "WORKDIR /app/web" in output
