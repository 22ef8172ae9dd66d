"""An app with its own Dockerfile: still built as is, but analysed like any other app, with
the Dockerfile's final stage read for its Python, port, served app and migrate at start."""

from __future__ import annotations

import pytest

from builds.pipeline.detect import DetectionError
from builds.pipeline.detection.django import RELEASE
from builds.pipeline.plan import Overrides
from tests.unit.builds import trees

# cookiecutter-django's production image, with its Dockerfile at the repository root.
COOKIECUTTER_DOCKERFILE = """\
ARG PYTHON_VERSION=3.12-slim-bookworm
FROM docker.io/python:${PYTHON_VERSION} AS python-build-stage
COPY ./requirements.txt .
RUN pip wheel --wheel-dir /usr/src/app/wheels -r requirements.txt

FROM docker.io/python:${PYTHON_VERSION} AS python-run-stage
ARG APP_HOME=/app
WORKDIR ${APP_HOME}
COPY --from=python-build-stage /usr/src/app/wheels /wheels/
COPY --chown=django:django ./compose/production/django/entrypoint /entrypoint
COPY --chown=django:django ./compose/production/django/start /start
COPY --chown=django:django . ${APP_HOME}
USER django
ENTRYPOINT ["/entrypoint"]
CMD ["/start"]
"""
ENTRYPOINT = '#!/bin/bash\nset -o errexit\n# wait for postgres\nexec "$@"\n'
START_MIGRATING = """\
#!/bin/bash
set -o errexit
python /app/manage.py collectstatic --noinput
python /app/manage.py migrate
exec /usr/local/bin/gunicorn mysite.wsgi --bind 0.0.0.0:5000 --chdir=/app
"""
FLASK_DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
EXPOSE 5000
CMD gunicorn -b 0.0.0.0:5000 app:app
"""


def cookiecutter(start: str) -> dict[str, str]:
    return trees.django_project(
        **{
            "Dockerfile": COOKIECUTTER_DOCKERFILE,
            "compose/production/django/entrypoint": ENTRYPOINT,
            "compose/production/django/start": start,
        }
    )


def messages(plan) -> list[str]:
    return [str(item) for item in plan.evidence]


def test_cookiecutter_django_that_migrates_in_its_start_script_gets_no_release_command(detect):
    plan = detect(cookiecutter(START_MIGRATING))

    assert (plan.kind, plan.framework, plan.dockerfile_path) == (
        "dockerfile",
        "django",
        "Dockerfile",
    )
    assert plan.release_command is None
    assert (
        "compose/production/django/start:4: the image runs migrate when it starts: no release "
        "command, so migrations do not run twice"
    ) in messages(plan)
    assert plan.python_version == "3.12"
    assert (
        "Dockerfile:6: FROM docker.io/python:3.12-slim-bookworm (the final stage's image) → "
        "Python 3.12" in messages(plan)
    )
    assert plan.port == 5000
    assert plan.entrypoint == "mysite.wsgi"
    assert plan.health_path == "/healthz/"
    assert plan.image_user == "django"


def test_django_image_that_does_not_migrate_gets_the_generated_plans_release_command(detect):
    plan = detect(cookiecutter(START_MIGRATING.replace("python /app/manage.py migrate\n", "")))

    assert plan.release_command == RELEASE
    assert any("runs in the built image (working directory /app)" in m for m in messages(plan))


def test_release_command_set_in_the_project_settings_wins_over_the_image(detect):
    overrides = Overrides(release_command="python manage.py migrate && python manage.py seed")

    plan = detect(cookiecutter(START_MIGRATING), overrides)

    assert plan.release_command == "python manage.py migrate && python manage.py seed"


def test_entrypoint_script_copied_with_the_source_that_migrates_is_followed(detect):
    plan = detect(
        trees.django_project(
            **{
                "Dockerfile": (
                    "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
                    'ENTRYPOINT ["./docker-entrypoint.sh"]\n'
                    'CMD ["gunicorn", "mysite.wsgi:application", "--bind", "0.0.0.0:8000"]\n'
                ),
                "docker-entrypoint.sh": (
                    '#!/bin/sh\nset -e\npython manage.py migrate --noinput\nexec "$@"\n'
                ),
            }
        )
    )

    assert plan.release_command is None
    assert any(
        m.startswith("docker-entrypoint.sh:3: the image runs migrate") for m in messages(plan)
    )


def test_manage_py_copied_out_of_the_working_directory_is_migrated_where_it_is(detect):
    plan = detect(
        trees.django_project(
            Dockerfile="FROM python:3.12-slim\nWORKDIR /srv\nCOPY . /code/\n"
            "CMD gunicorn --chdir /code mysite.wsgi\n"
        )
    )

    assert plan.release_command == "python /code/manage.py migrate --noinput"


def test_django_dev_server_in_cmd_is_warned_and_the_readiness_lint_applies(detect):
    plan = detect(
        trees.django_project(
            settings=trees.STARTPROJECT_SETTINGS,
            Dockerfile="FROM python:3.12\nWORKDIR /app\nCOPY . .\n"
            "CMD python manage.py runserver 0.0.0.0:8000\n",
        )
    )

    assert plan.kind == "dockerfile"
    dev = next(w for w in plan.warnings if w.code == "dev-server")
    assert (dev.file, dev.line) == ("Dockerfile", 4)
    assert "Django's runserver" in dev.message
    assert plan.port == 8000
    assert plan.release_command == RELEASE
    assert {"hardcoded-secret-key", "debug-true", "empty-allowed-hosts"} <= set(
        plan.warning_codes()
    )


def test_sqlite_database_of_an_own_image_is_not_moved_to_the_volume(detect):
    plan = detect(
        trees.django_project(
            settings=trees.STARTPROJECT_SETTINGS,
            Dockerfile="FROM python:3.12\nCOPY . /app\nCMD gunicorn mysite.wsgi -b :8000\n",
        )
    )

    assert plan.sqlite_databases == []
    assert "sqlite-database" in plan.warning_codes()
    assert plan.static_command is None


def test_flask_app_with_gunicorn_in_cmd_is_planned_from_app_and_dockerfile(detect):
    plan = detect(
        {
            "Dockerfile": FLASK_DOCKERFILE,
            "app.py": trees.FLASK_APP,
            "requirements.txt": "flask==3.1.0\ngunicorn==23.0.0\n",
        }
    )

    assert (plan.kind, plan.framework, plan.entrypoint) == ("dockerfile", "flask", "app:app")
    assert (plan.python_version, plan.port, plan.health_path) == ("3.12", 5000, "/health")
    assert (plan.package_manager, plan.dependency_files) == ("pip", ["requirements.txt"])
    assert plan.release_command is None
    assert plan.start_command == ""  # the Dockerfile's CMD runs
    assert plan.warnings == []
    assert "Dockerfile:7: the server binds port 5000" in messages(plan)


def test_multi_stage_build_takes_the_python_of_the_final_stage(detect):
    plan = detect(
        {
            "Dockerfile": "FROM python:3.11 AS build\nRUN pip wheel -w /w .\n"
            "FROM python:3.13-slim\nCOPY --from=build /w /w\nCOPY . /app\n"
            "CMD uvicorn main:app --host 0.0.0.0 --port 80\n",
            "main.py": trees.FASTAPI_APP,
            "pyproject.toml": '[project]\nname = "api"\nrequires-python = ">=3.12"\n'
            'dependencies = ["fastapi==0.115.0", "uvicorn==0.32.0"]\n',
        },
        available=("3.11", "3.12"),
    )

    assert (plan.python_version, plan.python_spec) == ("3.13", ">=3.12")
    assert (plan.framework, plan.entrypoint, plan.port) == ("fastapi", "main:app", 80)
    assert "dockerfile-python" not in plan.warning_codes()


def test_dockerfile_python_older_than_the_app_asks_is_warned(detect):
    plan = detect(
        {
            "Dockerfile": FLASK_DOCKERFILE.replace("3.12", "3.11"),
            "app.py": trees.FLASK_APP,
            "requirements.txt": "flask==3.1.0\n",
            ".python-version": "3.13\n",
        }
    )

    warning = next(w for w in plan.warnings if w.code == "dockerfile-python")
    assert plan.python_version == "3.11"
    assert (warning.file, warning.line) == ("Dockerfile", 1)
    assert "asks for Python 3.13 (.python-version line 1)" in warning.message


def test_image_whose_name_tells_no_python_takes_the_app_s(detect):
    plan = detect(
        {
            "Dockerfile": "FROM ghcr.io/org/runtime:1.2\nCOPY . /app\n",
            "app.py": trees.FLASK_APP,
            "pyproject.toml": '[project]\nname = "a"\nrequires-python = ">=3.12"\n'
            'dependencies = ["flask==3.1.0"]\n',
        },
        available=("3.11", "3.12"),
    )

    assert plan.python_version == "3.12"
    assert any("its Python version is not told by its name" in m for m in messages(plan))


def test_exposed_port_that_differs_from_the_bound_one_is_warned(detect):
    plan = detect(
        {
            "Dockerfile": FLASK_DOCKERFILE.replace("EXPOSE 5000", "EXPOSE 8000"),
            "app.py": trees.FLASK_APP,
            "requirements.txt": "flask==3.1.0\n",
        }
    )

    assert plan.port == 5000
    assert plan.warning_codes() == ["port-mismatch"]


def test_uvicorn_reload_in_cmd_is_a_dev_server(detect):
    plan = detect(
        {
            "Dockerfile": 'FROM python:3.12\nCOPY . .\nCMD ["uvicorn", "main:app", "--reload"]\n',
            "main.py": trees.FASTAPI_APP,
            "requirements.txt": "fastapi==0.115.0\nuvicorn==0.32.0\n",
        }
    )

    assert "dev-server" in plan.warning_codes()
    assert plan.port == 8000


def test_builder_generated_sets_the_own_dockerfile_aside(detect):
    plan = detect(
        {"Dockerfile": FLASK_DOCKERFILE, "app.py": trees.FLASK_APP, "requirements.txt": "flask\n"},
        Overrides(builder="generated"),
    )

    assert plan.kind == "inferred"
    assert plan.start_command.startswith("gunicorn app:app")
    assert (
        "Dockerfile: set aside by the project's builder setting 'generated': Deployer "
        "generates the Dockerfile from the plan"
    ) in messages(plan)


def test_builder_dockerfile_without_one_is_refused_naming_the_setting(detect):
    with pytest.raises(DetectionError, match="builder setting is 'dockerfile' but no readable"):
        detect({"app.py": trees.FLASK_APP}, Overrides(builder="dockerfile"))


def test_framework_dockerfile_still_builds_the_own_dockerfile(detect):
    plan = detect(
        {"Dockerfile": FLASK_DOCKERFILE, "app.py": trees.FLASK_APP},
        Overrides(framework="dockerfile"),
    )

    assert (plan.kind, plan.framework) == ("dockerfile", "flask")


def test_framework_dockerfile_with_builder_generated_is_refused(detect):
    with pytest.raises(DetectionError, match="builder setting is 'generated' but the framework"):
        detect(
            {"Dockerfile": FLASK_DOCKERFILE, "app.py": trees.FLASK_APP},
            Overrides(framework="dockerfile", builder="generated"),
        )


def test_unknown_builder_is_refused(detect):
    with pytest.raises(DetectionError, match="Unknown builder setting 'kaniko'"):
        detect({"app.py": trees.FLASK_APP}, Overrides(builder="kaniko"))


def test_dockerfile_of_no_python_app_is_still_built(detect):
    plan = detect({"Dockerfile": "FROM nginx:1.27\nCOPY site /usr/share/nginx/html\nEXPOSE 80\n"})

    assert (plan.kind, plan.framework, plan.port) == ("dockerfile", "unknown", 80)
    assert "no-dependencies" not in plan.warning_codes()
