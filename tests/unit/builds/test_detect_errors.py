"""When nothing deployable is found, or an override names something absent, the error says how to fix it."""

from __future__ import annotations

import pytest

from builds.pipeline.detect import DetectionError, detect_plan
from builds.pipeline.plan import Overrides
from tests.unit.builds import trees


def test_empty_repository_lists_what_was_looked_for_and_the_settings_that_fix_it(detect):
    with pytest.raises(DetectionError) as raised:
        detect({"README.md": "# hello\n"})

    message = str(raised.value)
    assert message.startswith("No web application found in the repository.")
    assert "manage.py" in message
    assert "Procfile" in message
    assert "entry point" in message
    assert "start command" in message


def test_django_one_level_down_suggests_the_app_root_setting(detect):
    files = {f"backend/{rel}": text for rel, text in trees.django_project().items()}

    with pytest.raises(DetectionError) as raised:
        detect({**files, "frontend/package.json": "{}", "README.md": ""})

    message = str(raised.value)
    assert "backend/ (manage.py)" in message
    assert "app root directory to 'backend'" in message


def test_flask_app_in_a_subproject_is_not_served_from_the_root(detect):
    with pytest.raises(DetectionError, match=r"api/ \(app in api/app\.py\)"):
        detect({"api/requirements.txt": "flask==3.0.3\n", "api/app.py": trees.FLASK_APP})


def test_library_source_tree_is_nothing_deployable(detect):
    with pytest.raises(DetectionError) as raised:
        detect(
            {
                "pyproject.toml": '[project]\nname = "Flask"\ndependencies = ["werkzeug>=3"]\n',
                "src/flask/__init__.py": "from .app import Flask as Flask\n",
                "src/flask/app.py": "class Flask:\n    def __init__(self, name):\n        self.name = name\n",
                "tests/conftest.py": "import flask\n\napp = flask.Flask(__name__)\n",
                "examples/tutorial/flaskr/__init__.py": trees.FLASK_FACTORY,
                "docs/quickstart.py": trees.FLASK_APP,
            }
        )

    message = str(raised.value)
    assert message.startswith("Nothing deployable here")
    assert "'Flask' (src/flask/)" in message


def test_django_framework_setting_without_manage_py_fails(detect):
    with pytest.raises(DetectionError, match="no django app was found"):
        detect({"app.py": trees.FLASK_APP}, Overrides(framework="django"))


def test_procfile_framework_setting_without_a_web_line_fails(detect):
    with pytest.raises(DetectionError, match="no Procfile with a web: line"):
        detect(
            {"app.py": trees.FLASK_APP, "Procfile": "worker: celery -A app worker\n"},
            Overrides(framework="procfile"),
        )


def test_command_framework_setting_needs_a_start_command(detect):
    with pytest.raises(DetectionError, match="start command setting is empty"):
        detect({"app.py": trees.FLASK_APP}, Overrides(framework="command"))


def test_command_framework_with_a_start_command_needs_no_app(detect):
    plan = detect(
        {"serve.sh": "#!/bin/sh\n"}, Overrides(framework="command", start_command="sh serve.sh")
    )

    assert plan.start_command == "sh serve.sh"
    assert plan.framework == "unknown"


def test_unknown_framework_setting_lists_the_choices(detect):
    with pytest.raises(DetectionError, match="auto, django, flask, fastapi"):
        detect({"app.py": trees.FLASK_APP}, Overrides(framework="rails"))


def test_entry_point_setting_naming_a_missing_module_fails(detect):
    with pytest.raises(DetectionError, match="entry point setting"):
        detect({"app.py": trees.FLASK_APP}, Overrides(entrypoint="nowhere.wsgi:app"))


def test_manage_py_naming_absent_settings_fails_with_the_module_name(detect):
    with pytest.raises(DetectionError, match=r"'ghost\.settings'"):
        detect({"manage.py": trees.manage_py("ghost.settings"), "ghost/__init__.py": ""})


def test_app_root_that_is_not_a_folder_fails(tmp_path):
    with pytest.raises(DetectionError, match="app root"):
        detect_plan(tmp_path / "missing")


def test_flask_framework_setting_picks_flask_over_fastapi(detect):
    plan = detect(
        {"main.py": trees.FASTAPI_APP, "web/__init__.py": trees.FLASK_APP},
        Overrides(framework="flask"),
    )

    assert plan.entrypoint == "web:app"  # though a shallower FastAPI app exists


def test_procfile_framework_keeps_django_release_and_static_steps(detect):
    plan = detect(
        {**trees.django_project(), "Procfile": "web: gunicorn mysite.wsgi\n"},
        Overrides(framework="procfile"),
    )

    assert plan.kind == "procfile"
    assert plan.static_command is not None
    assert plan.release_command is None
    assert any("no release: line" in e.message for e in plan.evidence)


def test_django_setting_ignores_a_procfile(detect):
    plan = detect(
        {**trees.django_project(), "Procfile": "web: python manage.py runserver\n"},
        Overrides(framework="django"),
    )

    assert plan.kind == "inferred"
    assert plan.start_command.startswith("gunicorn mysite.wsgi:application")


def test_health_path_setting_wins(detect):
    plan = detect({"app.py": trees.FLASK_APP}, Overrides(health_path="ready"))

    assert plan.health_path == "/ready"
    assert "no-health-endpoint" not in plan.warning_codes()
