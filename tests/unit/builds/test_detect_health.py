"""Health-check path: only routes whose full URL is certain are trusted."""

from __future__ import annotations

from tests.unit.builds import trees

BLUEPRINT = """\
from flask import Blueprint

bp = Blueprint("ops", __name__, url_prefix="/ops")


@bp.get("/healthz")
def healthz():
    return "ok"
"""


def test_route_on_the_app_object_is_the_health_path(detect):
    plan = detect({"app.py": trees.FLASK_APP})

    assert plan.health_path == "/health"
    assert any(e.file == "app.py" and e.line == 6 for e in plan.evidence)


def test_route_on_a_blueprint_is_not_trusted_because_of_its_prefix(detect):
    app = "from flask import Flask\n\nfrom ops import bp\n\napp = Flask(__name__)\napp.register_blueprint(bp)\n"
    plan = detect({"app.py": app, "ops.py": BLUEPRINT})

    assert plan.health_path == "/"
    assert "no-health-endpoint" in plan.warning_codes()


def test_healthz_is_preferred_over_status(detect):
    app = trees.FASTAPI_APP + '\n\n@app.get("/status")\ndef status():\n    return {}\n'
    plan = detect({"main.py": app})

    assert plan.health_path == "/healthz"


def test_django_health_route_comes_from_the_root_urlconf_only(detect):
    app_urls = 'from django.urls import path\n\nurlpatterns = [path("ping/", view)]\n'
    plan = detect(
        trees.django_project(**{"mysite/urls.py": "urlpatterns = []\n", "shop/urls.py": app_urls})
    )

    assert plan.health_path == "/"


def test_django_health_check_package_include_is_recognised(detect):
    urls = 'from django.urls import include, path\n\nurlpatterns = [path("ht/", include("health_check.urls"))]\n'
    plan = detect(trees.django_project(**{"mysite/urls.py": urls}))

    assert plan.health_path == "/ht/"


def test_uwsgi_added_as_a_server_brings_its_compiler(detect):
    plan = detect({"app.py": trees.FLASK_APP, "Procfile": "web: uwsgi --http :$PORT -w app:app\n"})

    assert plan.extra_packages == ["uwsgi"]
    assert "gcc" in plan.build_packages
