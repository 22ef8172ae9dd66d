"""A Django app's SQLite database is found in its settings and kept on the project's volume;
the variables its settings read are listed with where each comes from."""

from __future__ import annotations

import ast

import pytest

from builds.pipeline.detect import DetectionError, detect_plan
from builds.pipeline.detection.sqlite import sqlite_databases
from builds.pipeline.detection.variables import settings_variables, sources, warn_missing
from builds.pipeline.plan import Overrides, Plan
from tests.unit.builds import trees

# The seed article's settings: PostgreSQL from discrete variables, SQLite beside the code
# when they are absent.
ARTICLE_SETTINGS = """\
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only")
DEBUG = os.environ.get("DEBUG", "False") == "True"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "*").split(",")
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
if os.environ.get("DB_NAME"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["DB_NAME"],
            "USER": os.environ.get("DB_USER", ""),
            "PASSWORD": os.environ.get("DB_PASSWORD", ""),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
        }
    }
STATIC_URL = "static/"
"""


def paths(settings: str, file: str = "mysite/settings.py") -> list[str | None]:
    return [d.path for d in sqlite_databases({file: ast.parse(settings)})]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ('BASE_DIR / "db.sqlite3"', "/app/db.sqlite3"),
        ('os.path.join(BASE_DIR, "db.sqlite3")', "/app/db.sqlite3"),
        ('BASE_DIR / "data" / "app.db"', "/app/data/app.db"),
        ('str(BASE_DIR.joinpath("db.sqlite3"))', "/app/db.sqlite3"),
        ('f"{BASE_DIR}/db.sqlite3"', "/app/db.sqlite3"),
        ('"db.sqlite3"', "/app/db.sqlite3"),
        ('"/tmp/db.sqlite3"', "/tmp/db.sqlite3"),
        ('os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3")', "/app/db.sqlite3"),
        ("some_function()", None),
    ],
)
def test_the_sqlite_name_is_evaluated_as_path_arithmetic(name, expected):
    settings = (
        "import os\nfrom pathlib import Path\n"
        "BASE_DIR = Path(__file__).resolve().parent.parent\n"
        f"DATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3', 'NAME': {name}}}}}\n"
    )

    assert paths(settings) == [expected]


def test_os_path_base_dir_is_followed_like_pathlib():
    settings = (
        "import os\n"
        "BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',"
        " 'NAME': os.path.join(BASE_DIR, 'db.sqlite3')}}\n"
    )

    assert paths(settings, "config/settings.py") == ["/app/db.sqlite3"]


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            "dj_database_url.config(default=f\"sqlite:///{BASE_DIR / 'db.sqlite3'}\")",
            "/app/db.sqlite3",
        ),
        ('dj_database_url.parse("sqlite:///db.sqlite3")', "/app/db.sqlite3"),
        ('env.db("DATABASE_URL", default="sqlite:////srv/data/app.db")', "/srv/data/app.db"),
        ('env.db(default="sqlite:///:memory:")', None),
        ('dj_database_url.config(default="postgres://db/app")', None),
    ],
)
def test_sqlite_urls_of_dj_database_url_and_django_environ(call, expected):
    settings = (
        "from pathlib import Path\nimport dj_database_url\n"
        "BASE_DIR = Path(__file__).resolve().parent.parent\n"
        f"DATABASES = {{'default': {call}}}\n"
    )

    assert paths(settings) == ([expected] if expected else [])


def test_base_dir_from_a_split_settings_base_module_is_relative_to_that_file():
    modules = {
        "mysite/settings/production.py": ast.parse(
            "from .base import *\n"
            "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',"
            " 'NAME': BASE_DIR / 'db.sqlite3'}}\n"
        ),
        "mysite/settings/base.py": ast.parse(
            "from pathlib import Path\nBASE_DIR = Path(__file__).resolve().parent.parent.parent\n"
        ),
    }

    assert [d.path for d in sqlite_databases(modules)] == ["/app/db.sqlite3"]


def test_the_article_app_keeps_its_sqlite_fallback_on_the_volume(detect):
    plan = detect(trees.django_project(ARTICLE_SETTINGS))

    assert plan.sqlite_databases == ["/app/db.sqlite3"]
    assert "sqlite-database" not in plan.warning_codes()
    assert any("kept on the project's volume" in e.message for e in plan.evidence)


def test_with_the_setting_off_the_sqlite_database_is_a_warning_and_not_kept(detect):
    plan = detect(trees.django_project(ARTICLE_SETTINGS), Overrides(keep_sqlite=False))

    assert plan.sqlite_databases == []
    warning = next(w for w in plan.warnings if w.code == "sqlite-database")
    assert "Keep the SQLite database" in warning.message
    assert (warning.file, warning.line) == ("mysite/settings.py", 23)


def test_a_sqlite_database_outside_the_app_folder_is_refused_naming_file_and_line(detect):
    settings = ARTICLE_SETTINGS.replace('BASE_DIR / "db.sqlite3"', '"/tmp/db.sqlite3"')

    with pytest.raises(DetectionError) as refused:
        detect(trees.django_project(settings))

    message = str(refused.value)
    assert "/tmp/db.sqlite3 (mysite/settings.py:23) is outside the app's folder /app" in message
    assert "Keep the SQLite database" in message


def test_the_same_database_outside_is_allowed_when_the_setting_is_off(detect):
    settings = ARTICLE_SETTINGS.replace('BASE_DIR / "db.sqlite3"', '"/tmp/db.sqlite3"')

    plan = detect(trees.django_project(settings), Overrides(keep_sqlite=False))

    assert plan.sqlite_databases == []
    assert "sqlite-database" in plan.warning_codes()


def test_a_database_under_a_committed_file_is_refused(detect):
    settings = ARTICLE_SETTINGS.replace(
        'BASE_DIR / "db.sqlite3"', 'BASE_DIR / "data" / "db.sqlite3"'
    )

    with pytest.raises(
        DetectionError, match="lies under data, which in the repository is not a folder"
    ):
        detect({**trees.django_project(settings), "data": "not a folder\n"})


def test_a_computed_path_is_a_warning_not_a_guess(detect):
    settings = ARTICLE_SETTINGS.replace('BASE_DIR / "db.sqlite3"', "database_path()")

    plan = detect(trees.django_project(settings))

    assert plan.sqlite_databases == []
    assert any("cannot read" in w.message for w in plan.warnings if w.code == "sqlite-database")


def test_the_article_settings_variables_are_listed_with_where_they_come_from(make_tree):
    root = make_tree(trees.django_project(ARTICLE_SETTINGS))

    plan = detect_plan(root)
    warn_missing(plan, {"DB_USER"})

    rows = {row.variable.name: row.source for row in sources(plan, {"DB_USER"})}
    assert rows == {
        "SECRET_KEY": "default",
        "DEBUG": "default",
        "ALLOWED_HOSTS": "default",
        "DB_NAME": "unset",  # os.environ["DB_NAME"] only under `if os.environ.get("DB_NAME")`
        "DB_USER": "project",
        "DB_PASSWORD": "default",
    }
    database = {v.name for v in plan.variables if v.database}
    assert database == {"DB_NAME", "DB_USER", "DB_PASSWORD"}
    assert "missing-variable" not in plan.warning_codes()


def test_a_required_read_outside_its_guard_is_missing_naming_file_and_line(make_tree):
    settings = ARTICLE_SETTINGS.replace(
        'SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only")',
        'SECRET_KEY = os.environ["SECRET_KEY"]',
    )
    plan = detect_plan(make_tree(trees.django_project(settings)))

    warn_missing(plan, {"DB_USER"})

    missing = [w for w in plan.warnings if w.code == "missing-variable"]
    assert [(w.file, w.line) for w in missing] == [("mysite/settings.py", 5)]
    assert missing[0].message.startswith("The settings require SECRET_KEY")


def test_guards_by_membership_and_by_conditional_expression_count_too():
    module = ast.parse(
        "import os\n"
        "if 'A' in os.environ:\n    A = os.environ['A']\n"
        "B = os.environ['B'] if os.getenv('B') else None\n"
        "if os.environ.get('OTHER'):\n    C = os.environ['C']\n"
    )

    found = {v.name: v.required for v in settings_variables({"s.py": module})}

    assert found == {"A": False, "B": False, "OTHER": False, "C": True}


def test_without_the_projects_names_no_variable_is_called_missing(detect):
    plan = detect(trees.django_project(ARTICLE_SETTINGS))

    assert "missing-variable" not in plan.warning_codes()
    assert [v.name for v in plan.variables][:3] == ["SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"]


def test_django_environ_and_decouple_reads_know_required_from_default():
    module = ast.parse(
        "import environ\nfrom decouple import config\nenv = environ.Env()\n"
        "environ.Env.read_env('/srv/.env')\n"
        "SECRET_KEY = env('SECRET_KEY')\n"
        "DEBUG = env.bool('DEBUG', default=False)\n"
        "DATABASES = {'default': env.db()}\n"
        "EMAIL_HOST = config('EMAIL_HOST', default='localhost')\n"
        "API_TOKEN = config('API_TOKEN')\n"
    )

    found = {v.name: (v.required, v.has_default) for v in settings_variables({"s.py": module})}

    assert found == {
        "SECRET_KEY": (True, False),
        "DEBUG": (False, True),
        "DATABASE_URL": (True, False),
        "EMAIL_HOST": (False, True),
        "API_TOKEN": (True, False),
    }


def test_deployer_gives_the_settings_module_and_port():
    module = ast.parse(
        "import os\nPORT = os.environ['PORT']\nMOD = os.environ['DJANGO_SETTINGS_MODULE']\n"
    )
    plan = Plan(env={"DJANGO_SETTINGS_MODULE": "x.settings"})
    plan.variables = settings_variables({"s.py": module})

    assert [row.source for row in sources(plan, set())] == ["deployer", "deployer"]


def test_a_variable_an_add_on_gives_is_neither_missing_nor_the_projects():
    plan = Plan(
        variables=settings_variables(
            {
                "s.py": ast.parse(
                    "import os\nNAME = os.environ['DB_NAME']\nKEY = os.environ['API_KEY']\n"
                )
            }
        )
    )

    warn_missing(plan, set(), {"DB_NAME"})

    assert [row.source for row in sources(plan, set(), {"DB_NAME"})] == ["addon", "missing"]
    assert [w.message.split(",")[0] for w in plan.warnings] == ["The settings require API_KEY"]
