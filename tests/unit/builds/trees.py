"""File contents shared by the detection tests: small, realistic app sources."""

from __future__ import annotations

FLASK_APP = """\
from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health():
    return "ok"
"""

FLASK_FACTORY = """\
from flask import Flask


def create_app(config=None):
    app = Flask(__name__)

    @app.route("/healthz")
    def healthz():
        return "ok"

    return app
"""

FASTAPI_APP = """\
from fastapi import FastAPI

app = FastAPI(title="api")


@app.get("/healthz")
def healthz():
    return {"ok": True}
"""

STARLETTE_APP = """\
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def ping(request):
    return PlainTextResponse("pong")


app = Starlette(routes=[Route("/ping", ping)])
"""


def manage_py(settings: str = "mysite.settings") -> str:
    return f"""\
#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
"""


def wsgi_py(settings: str = "mysite.settings") -> str:
    return f"""\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")
application = get_wsgi_application()
"""


ASGI_PY = """\
import os

from django.core.asgi import get_asgi_application

application = get_asgi_application()
"""

PRODUCTION_SETTINGS = """\
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = os.environ.get("DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "").split(",")
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
DATABASES = {"default": dj_database_url.config()}
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
"""

STARTPROJECT_SETTINGS = """\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz"
DEBUG = True
ALLOWED_HOSTS = []
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
STATIC_URL = "static/"
"""

URLS_WITH_HEALTH = """\
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home),
    path("healthz/", views.healthz),
]
"""


def django_project(settings: str = PRODUCTION_SETTINGS, **extra: str) -> dict[str, str]:
    """A `startproject`-shaped tree named mysite."""
    return {
        "manage.py": manage_py(),
        "mysite/__init__.py": "",
        "mysite/settings.py": settings,
        "mysite/urls.py": URLS_WITH_HEALTH,
        "mysite/wsgi.py": wsgi_py(),
        "mysite/asgi.py": ASGI_PY,
        "requirements.txt": "Django==5.2.1\n",
        **extra,
    }
