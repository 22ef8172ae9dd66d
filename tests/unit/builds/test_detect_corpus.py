"""A corpus of small repositories, each with the plan detection must produce for it.

Every case states framework, entry point, start command, Python version,
package manager and the exact set of warning codes; some state more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from builds.pipeline.detection.installer import UV_INSTALL
from builds.pipeline.plan import Overrides
from tests.unit.builds import trees

UVICORN = "uvicorn.workers.UvicornWorker"


def gunicorn(entry: str, asgi: bool = False) -> str:
    worker = f" -k {UVICORN}" if asgi else ""
    return (
        f"gunicorn {entry} --bind 0.0.0.0:$PORT --workers ${{WEB_CONCURRENCY:-2}}{worker}"
        " --access-logfile -"
    )


@dataclass
class Case:
    name: str
    files: dict[str, str]
    framework: str
    entrypoint: str | None
    start: str
    python: str
    manager: str
    warnings: set[str] = field(default_factory=set)
    more: dict[str, Any] = field(default_factory=dict)
    available: tuple[str, ...] = ("3.11",)
    overrides: Overrides | None = None


PINNED_FLASK = "flask==3.0.3\ngunicorn==23.0.0\n"
PINNED_FASTAPI = "fastapi==0.115.0\nuvicorn==0.30.0\n"

CASES = [
    Case(
        "flask app.py with pip requirements",
        {"requirements.txt": PINNED_FLASK, "app.py": trees.FLASK_APP},
        "flask",
        "app:app",
        gunicorn("app:app"),
        "3.11",
        "pip",
        more={
            "extra_packages": [],
            "health_path": "/health",
            "dependency_files": ["requirements.txt"],
        },
    ),
    Case(
        "flask without gunicorn gets it as an extra package",
        {"requirements.txt": "flask==3.0.3\n", "app.py": trees.FLASK_APP},
        "flask",
        "app:app",
        gunicorn("app:app"),
        "3.11",
        "pip",
        more={"extra_packages": ["gunicorn"]},
    ),
    Case(
        "flask wsgi.py calling a factory from a package",
        {
            "requirements.txt": PINNED_FLASK,
            "myapp/__init__.py": trees.FLASK_FACTORY,
            "wsgi.py": "from myapp import create_app\n\napp = create_app()\n",
        },
        "flask",
        "wsgi:app",
        gunicorn("wsgi:app"),
        "3.11",
        "pip",
    ),
    Case(
        "flask factory only is served with gunicorn's call syntax",
        {"requirements.txt": PINNED_FLASK, "myapp/__init__.py": trees.FLASK_FACTORY},
        "flask",
        "myapp:create_app()",
        gunicorn("'myapp:create_app()'"),
        "3.11",
        "pip",
    ),
    Case(
        "flask src layout with PEP 621 dependencies",
        {
            "pyproject.toml": '[project]\nname = "hello"\nrequires-python = ">=3.11"\n'
            'dependencies = ["flask==3.0.3", "gunicorn==23.0.0"]\n',
            "src/hello/__init__.py": "",
            "src/hello/app.py": trees.FLASK_APP,
        },
        "flask",
        "hello.app:app",
        gunicorn("hello.app:app"),
        "3.11",
        "pep621",
        more={
            "env": {"PYTHONPATH": "/app/src"},
            "python_spec": ">=3.11",
            "install_steps": [f"{UV_INSTALL} flask==3.0.3 gunicorn==23.0.0"],
        },
    ),
    Case(
        "FLASK_APP in .flaskenv wins over other candidates",
        {
            "requirements.txt": PINNED_FLASK,
            ".flaskenv": "FLASK_APP=server:make_app()\nFLASK_DEBUG=0\n",
            "server.py": trees.FLASK_FACTORY.replace("create_app", "make_app"),
            "app.py": trees.FLASK_APP,
        },
        "flask",
        "server:make_app()",
        gunicorn("'server:make_app()'"),
        "3.11",
        "pip",
    ),
    Case(
        "flask with Poetry lock and caret python",
        {
            "pyproject.toml": '[tool.poetry]\nname = "svc"\nversion = "1.0"\n\n'
            '[tool.poetry.dependencies]\npython = "^3.12"\nflask = "^3.0"\ngunicorn = "^23"\n',
            "poetry.lock": '[[package]]\nname = "flask"\nversion = "3.0.3"\n\n'
            '[package.dependencies]\nwerkzeug = ">=3"\n\n'
            '[[package]]\nname = "werkzeug"\nversion = "3.0.3"\n\n'
            '[[package]]\nname = "gunicorn"\nversion = "23.0.0"\n',
            "app.py": trees.FLASK_APP,
        },
        "flask",
        "app:app",
        gunicorn("app:app"),
        "3.12",
        "poetry",
        available=("3.11", "3.12", "3.13"),
        more={"dependency_files": ["pyproject.toml", "poetry.lock"], "extra_packages": []},
    ),
    Case(
        "flask with Pipfile.lock and Pipfile python_version",
        {
            "Pipfile": '[packages]\nflask = "*"\n\n[requires]\npython_version = "3.12"\n',
            "Pipfile.lock": '{"_meta": {}, "default": {"flask": {"version": "==3.0.3"}, '
            '"gunicorn": {"version": "==23.0.0"}}, "develop": {"pytest": {}}}',
            "app.py": trees.FLASK_APP,
        },
        "flask",
        "app:app",
        gunicorn("app:app"),
        "3.12",
        "pipenv",
        available=("3.11", "3.12"),
        more={"dependency_files": ["Pipfile", "Pipfile.lock"], "extra_packages": []},
    ),
    Case(
        "flask with a Pipfile but no lock",
        {"Pipfile": '[packages]\nflask = "*"\n', "app.py": trees.FLASK_APP},
        "flask",
        "app:app",
        gunicorn("app:app"),
        "3.11",
        "pipenv",
        warnings={"no-lock-file", "unpinned-dependencies"},
        more={
            "install_steps": [
                f"{UV_INSTALL} flask gunicorn",
            ]
        },
    ),
    Case(
        "flask with setup.py read but never run",
        {
            "setup.py": "from setuptools import setup\n\nREQUIRES = ['flask==3.0.3']\n"
            "setup(name='svc', install_requires=REQUIRES, python_requires='>=3.11')\n",
            "svc/__init__.py": "",
            "svc/app.py": trees.FLASK_APP,
        },
        "flask",
        "svc.app:app",
        gunicorn("svc.app:app"),
        "3.11",
        "setuptools",
        more={"python_spec": ">=3.11"},
    ),
    Case(
        "flask with setup.cfg install_requires",
        {
            "setup.cfg": "[metadata]\nname = svc\n\n[options]\npython_requires = >=3.10\n"
            "install_requires =\n    flask==3.0.3\n    gunicorn==23.0.0\n",
            "app.py": trees.FLASK_APP,
        },
        "flask",
        "app:app",
        gunicorn("app:app"),
        "3.11",
        "setuptools",
    ),
    Case(
        "flask with runtime.txt",
        {
            "runtime.txt": "python-3.12.4\n",
            "requirements.txt": PINNED_FLASK,
            "app.py": trees.FLASK_APP,
        },
        "flask",
        "app:app",
        gunicorn("app:app"),
        "3.12",
        "pip",
        available=("3.11", "3.12"),
    ),
    Case(
        "flask app instance in a package __init__",
        {"requirements.txt": PINNED_FLASK, "app/__init__.py": trees.FLASK_APP},
        "flask",
        "app:app",
        gunicorn("app:app"),
        "3.11",
        "pip",
    ),
    Case(
        "flask through a module import and another variable name",
        {
            "requirements.txt": PINNED_FLASK,
            "application.py": "import flask\n\napplication = flask.Flask(__name__)\n",
        },
        "flask",
        "application:application",
        gunicorn("application:application"),
        "3.11",
        "pip",
        warnings={"no-health-endpoint"},
        more={"health_path": "/"},
    ),
    Case(
        "flask with secrets, debug and sqlite in the source",
        {
            "requirements.txt": "flask\nflask-sqlalchemy\n",
            "app.py": trees.FLASK_APP + '\napp.config["SECRET_KEY"] = "dev"\napp.debug = True\n'
            'app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"\n',
        },
        "flask",
        "app:app",
        gunicorn("app:app"),
        "3.11",
        "pip",
        warnings={"hardcoded-secret-key", "debug-true", "sqlite-database", "unpinned-dependencies"},
    ),
    Case(
        "fastapi main.py with uvicorn pinned",
        {"requirements.txt": PINNED_FASTAPI, "main.py": trees.FASTAPI_APP},
        "fastapi",
        "main:app",
        gunicorn("main:app", asgi=True),
        "3.11",
        "pip",
        more={"extra_packages": ["gunicorn"], "health_path": "/healthz"},
    ),
    Case(
        "fastapi without uvicorn gets both server packages",
        {"requirements.txt": "fastapi==0.115.0\n", "main.py": trees.FASTAPI_APP},
        "fastapi",
        "main:app",
        gunicorn("main:app", asgi=True),
        "3.11",
        "pip",
        more={"extra_packages": ["gunicorn", "uvicorn"]},
    ),
    Case(
        "fastapi in app/main.py",
        {
            "requirements.txt": PINNED_FASTAPI,
            "app/__init__.py": "",
            "app/main.py": trees.FASTAPI_APP,
        },
        "fastapi",
        "app.main:app",
        gunicorn("app.main:app", asgi=True),
        "3.11",
        "pip",
    ),
    Case(
        "fastapi with uv.lock and requires-python",
        {
            "pyproject.toml": '[project]\nname = "api"\nversion = "0.1.0"\nrequires-python = ">=3.12"\n'
            'dependencies = ["fastapi>=0.110", "uvicorn>=0.30"]\n',
            "uv.lock": 'version = 1\n\n[[package]]\nname = "api"\nversion = "0.1.0"\n'
            'source = { virtual = "." }\ndependencies = [{ name = "fastapi" }, { name = "uvicorn" }]\n\n'
            '[[package]]\nname = "fastapi"\nversion = "0.115.0"\n\n'
            '[[package]]\nname = "uvicorn"\nversion = "0.30.0"\n',
            "main.py": trees.FASTAPI_APP,
        },
        "fastapi",
        "main:app",
        gunicorn("main:app", asgi=True),
        "3.12",
        "uv",
        available=("3.11", "3.12"),
        more={"dependency_files": ["pyproject.toml", "uv.lock"], "extra_packages": ["gunicorn"]},
    ),
    Case(
        "fastapi in src/<package>/main.py",
        {
            "pyproject.toml": '[project]\nname = "api"\ndependencies = ["fastapi==0.115.0", "uvicorn==0.30.0"]\n',
            "src/api/__init__.py": "",
            "src/api/main.py": trees.FASTAPI_APP,
        },
        "fastapi",
        "api.main:app",
        gunicorn("api.main:app", asgi=True),
        "3.11",
        "pep621",
        more={"env": {"PYTHONPATH": "/app/src"}},
    ),
    Case(
        "fastapi with an annotated assignment and .python-version",
        {
            ".python-version": "3.12\n",
            "requirements.txt": PINNED_FASTAPI,
            "main.py": "from fastapi import FastAPI\n\napp: FastAPI = FastAPI()\n",
        },
        "fastapi",
        "main:app",
        gunicorn("main:app", asgi=True),
        "3.12",
        "pip",
        available=("3.12",),
        warnings={"no-health-endpoint"},
    ),
    Case(
        "starlette app is served over ASGI",
        {"requirements.txt": "starlette==0.38.0\nuvicorn==0.30.0\n", "app.py": trees.STARLETTE_APP},
        "starlette",
        "app:app",
        gunicorn("app:app", asgi=True),
        "3.11",
        "pip",
        more={"health_path": "/ping"},
    ),
    Case(
        "django project ready for production",
        trees.django_project(),
        "django",
        "mysite.wsgi:application",
        gunicorn("mysite.wsgi:application"),
        "3.11",
        "pip",
        more={
            "release_command": "python manage.py migrate --noinput",
            "env": {"DJANGO_SETTINGS_MODULE": "mysite.settings"},
            "health_path": "/healthz/",
            "extra_packages": ["gunicorn"],
        },
    ),
    Case(
        "django straight from startproject",
        trees.django_project(
            trees.STARTPROJECT_SETTINGS, **{"mysite/urls.py": "urlpatterns = []\n"}
        ),
        "django",
        "mysite.wsgi:application",
        gunicorn("mysite.wsgi:application"),
        "3.11",
        "pip",
        warnings={
            "hardcoded-secret-key",
            "debug-true",
            "empty-allowed-hosts",
            "no-static-root",
            "no-health-endpoint",
        },
        more={"static_command": None, "sqlite_databases": ["/app/db.sqlite3"]},
    ),
    Case(
        "django settings chosen by an expression",
        {
            **trees.django_project(),
            "manage.py": trees.manage_py().replace(
                '"mysite.settings"',
                "'mysite.production' if 'WEBSITE_HOSTNAME' in os.environ else 'mysite.settings'",
            ),
            "mysite/production.py": "from .settings import *\n\nDEBUG = False\n",
        },
        "django",
        "mysite.wsgi:application",
        gunicorn("mysite.wsgi:application"),
        "3.11",
        "pip",
        more={"env": {"DJANGO_SETTINGS_MODULE": "mysite.production"}},
    ),
    Case(
        "django split settings package prefers production",
        {
            "manage.py": trees.manage_py("config.settings.local"),
            "config/__init__.py": "",
            "config/settings/__init__.py": "",
            "config/settings/base.py": trees.PRODUCTION_SETTINGS.replace("mysite.", "config."),
            "config/settings/local.py": 'from .base import *\n\nDEBUG = True\nSECRET_KEY = "local"\n',
            "config/settings/production.py": "from .base import *  # noqa\n\nDEBUG = False\n",
            "config/wsgi.py": trees.wsgi_py("config.settings.production"),
            "config/urls.py": trees.URLS_WITH_HEALTH,
            "requirements.txt": "Django==5.2.1\ngunicorn==23.0.0\n",
        },
        "django",
        "config.wsgi:application",
        gunicorn("config.wsgi:application"),
        "3.11",
        "pip",
        more={
            "env": {"DJANGO_SETTINGS_MODULE": "config.settings.production"},
            "extra_packages": [],
        },
    ),
    Case(
        "django with channels is served over ASGI",
        trees.django_project(**{"requirements.txt": "Django==5.2.1\nchannels==4.1.0\n"}),
        "django",
        "mysite.asgi:application",
        gunicorn("mysite.asgi:application", asgi=True),
        "3.11",
        "pip",
        more={"extra_packages": ["gunicorn", "uvicorn[standard]"]},
    ),
    Case(
        "django with Poetry and a tilde python",
        {
            **trees.django_project(),
            "requirements.txt": "",
            "pyproject.toml": '[tool.poetry]\nname = "site"\n\n[tool.poetry.dependencies]\n'
            'python = "~3.11"\ndjango = "^5.2"\n',
            "poetry.lock": '[[package]]\nname = "django"\nversion = "5.2.1"\n',
        },
        "django",
        "mysite.wsgi:application",
        gunicorn("mysite.wsgi:application"),
        "3.11",
        "poetry",
        available=("3.11", "3.12"),
    ),
    Case(
        "django requirements including another file",
        {
            **trees.django_project(),
            "requirements.txt": "-r requirements/base.txt\n",
            "requirements/base.txt": "Django==5.2.1\ngunicorn==23.0.0\n",
        },
        "django",
        "mysite.wsgi:application",
        gunicorn("mysite.wsgi:application"),
        "3.11",
        "pip",
        more={
            "dependency_files": ["requirements.txt", "requirements/base.txt"],
            "extra_packages": [],
        },
    ),
    Case(
        "procfile web line wins over inference",
        {
            "Procfile": "web: gunicorn app:app\n",
            "requirements.txt": PINNED_FLASK,
            "app.py": trees.FLASK_APP,
        },
        "flask",
        "app:app",
        "gunicorn app:app",
        "3.11",
        "pip",
        more={"kind": "procfile"},
    ),
    Case(
        "procfile chained web line is split into release and web",
        {
            **trees.django_project(),
            "Procfile": "web: python manage.py migrate --noinput && gunicorn mysite.wsgi --bind 0.0.0.0:$PORT\n",
        },
        "django",
        "mysite.wsgi:application",
        "gunicorn mysite.wsgi --bind 0.0.0.0:$PORT",
        "3.11",
        "pip",
        more={"kind": "procfile", "release_command": "python manage.py migrate --noinput"},
    ),
    Case(
        "procfile uvicorn without $PORT",
        {
            "Procfile": "web: uvicorn main:app\n",
            "requirements.txt": "fastapi==0.115.0\n",
            "main.py": trees.FASTAPI_APP,
        },
        "fastapi",
        "main:app",
        "uvicorn main:app",
        "3.11",
        "pip",
        warnings={"no-port-binding"},
        more={"extra_packages": ["uvicorn"]},
    ),
    Case(
        "procfile runserver is a development server",
        {**trees.django_project(), "Procfile": "web: python manage.py runserver 0.0.0.0:$PORT\n"},
        "django",
        "mysite.wsgi:application",
        "python manage.py runserver 0.0.0.0:$PORT",
        "3.11",
        "pip",
        warnings={"dev-server"},
        more={"release_command": None},
    ),
    Case(
        "procfile python app.py calling app.run",
        {
            "Procfile": "web: python app.py\n",
            "requirements.txt": PINNED_FLASK,
            "app.py": trees.FLASK_APP
            + '\nif __name__ == "__main__":\n    app.run(host="0.0.0.0")\n',
        },
        "flask",
        "app:app",
        "python app.py",
        "3.11",
        "pip",
        warnings={"dev-server"},
    ),
    Case(
        "procfile release line",
        {
            "Procfile": "release: ./bin/migrate\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\n",
            "requirements.txt": PINNED_FLASK,
            "app.py": trees.FLASK_APP,
        },
        "flask",
        "app:app",
        "gunicorn app:app --bind 0.0.0.0:$PORT",
        "3.11",
        "pip",
        more={"release_command": "./bin/migrate"},
    ),
    Case(
        "procfile fastapi run adds the CLI",
        {
            "Procfile": "web: fastapi run main.py --port $PORT\n",
            "requirements.txt": "fastapi==0.115.0\n",
            "main.py": trees.FASTAPI_APP,
        },
        "fastapi",
        "main:app",
        "fastapi run main.py --port $PORT",
        "3.11",
        "pip",
        more={"extra_packages": ["fastapi-cli[standard]"]},
    ),
    Case(
        "procfile hypercorn and python -m uvicorn are recognised servers",
        {
            "Procfile": "web: python -m uvicorn main:app --host 0.0.0.0 --port $PORT\n",
            "requirements.txt": PINNED_FASTAPI,
            "main.py": trees.FASTAPI_APP,
        },
        "fastapi",
        "main:app",
        "python -m uvicorn main:app --host 0.0.0.0 --port $PORT",
        "3.11",
        "pip",
        more={"extra_packages": []},
    ),
    Case(
        "procfile hypercorn is added when missing",
        {
            "Procfile": "web: hypercorn main:app --bind 0.0.0.0:$PORT\n",
            "requirements.txt": PINNED_FASTAPI,
            "main.py": trees.FASTAPI_APP,
        },
        "fastapi",
        "main:app",
        "hypercorn main:app --bind 0.0.0.0:$PORT",
        "3.11",
        "pip",
        more={"extra_packages": ["hypercorn"]},
    ),
    Case(
        "psycopg2 from source needs a build stage",
        {
            **trees.django_project(),
            "requirements.txt": "Django==5.2.1\npsycopg2==2.9.9\ngunicorn==23.0.0\n",
        },
        "django",
        "mysite.wsgi:application",
        gunicorn("mysite.wsgi:application"),
        "3.11",
        "pip",
        more={
            "build_packages": ["gcc", "libc6-dev", "python3-dev", "libpq-dev"],
            "runtime_packages": ["libpq5"],
        },
    ),
    Case(
        "psycopg2-binary needs no system packages",
        {**trees.django_project(), "requirements.txt": "Django==5.2.1\npsycopg2-binary==2.9.9\n"},
        "django",
        "mysite.wsgi:application",
        gunicorn("mysite.wsgi:application"),
        "3.11",
        "pip",
        more={"build_packages": [], "runtime_packages": []},
    ),
    Case(
        "gunicorn.conf.py workers are honoured and its pitfalls reported",
        {
            "requirements.txt": PINNED_FLASK,
            "app.py": trees.FLASK_APP,
            "gunicorn.conf.py": 'import os\n\nworkers = 4\nbind = "unix:/tmp/app.sock"\ndaemon = True\n'
            'raw_env = [os.environ["API_TOKEN"]]\n',
        },
        "flask",
        "app:app",
        "gunicorn app:app --bind 0.0.0.0:$PORT --access-logfile -",
        "3.11",
        "pip",
        warnings={"gunicorn-unix-socket", "gunicorn-daemon", "gunicorn-needs-env"},
    ),
    Case(
        "start command from the project settings",
        {"requirements.txt": PINNED_FLASK, "app.py": trees.FLASK_APP},
        "flask",
        "app:app",
        "gunicorn app:app -w 3",
        "3.11",
        "pip",
        overrides=Overrides(start_command="gunicorn app:app -w 3"),
        more={"kind": "inferred"},
    ),
    Case(
        "entry point from the project settings",
        {
            "requirements.txt": PINNED_FASTAPI,
            "service/__init__.py": "",
            "service/api.py": trees.FASTAPI_APP,
            "main.py": trees.FLASK_APP,
        },
        "fastapi",
        "service.api:app",
        gunicorn("service.api:app", asgi=True),
        "3.11",
        "pip",
        overrides=Overrides(entrypoint="service.api:app"),
        more={"extra_packages": ["gunicorn"]},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_tree_gets_its_expected_plan(detect, case: Case):
    plan = detect(case.files, case.overrides, available=case.available)

    assert plan.framework == case.framework
    assert plan.entrypoint == case.entrypoint
    assert plan.start_command == case.start
    assert plan.python_version == case.python
    assert plan.package_manager == case.manager
    assert set(plan.warning_codes()) == case.warnings, plan.warnings
    for name, expected in case.more.items():
        assert getattr(plan, name) == expected, name


def test_corpus_has_at_least_thirty_trees():
    assert len(CASES) >= 30
