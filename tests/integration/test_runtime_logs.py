"""The logs section on the real engine: a live app's output is followed line by line with the
engine's timestamps as cursor, filtered, downloaded, with the project's secrets hidden, and an
app that floods its output costs a bounded read."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from builds.models import Build, Deployment
from builds.pipeline.runtime_logs import moment
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import deploy, http_get, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "tok-runtime-0123456789abcdef"

NOISY_APP = {
    **FLASK_APP,
    "app.py": FLASK_APP["app.py"] + "\n\n@app.get('/say/<word>')\n"
    "def say(word):\n"
    "    print(f'said {word} with', os.environ['API_TOKEN'], flush=True)\n"
    "    return 'ok'\n\n\n"
    "@app.get('/flood')\n"
    "def flood():\n"
    "    for _ in range(3000):\n"
    "        print('x' * 2000, flush=True)\n"
    "    return 'flooded'\n",
}


def _port(project) -> int:
    return Deployment.objects.get(project=project, state=Deployment.State.LIVE).host_port


def _cursor(html: str) -> str:
    return re.search(r'after=([^"&]+)"', html)[1].replace("%3A", ":")


@pytest.mark.parametrize(
    "engine_from_worker", [False, True], ids=["engine-here", "asked-of-worker"]
)
def test_the_output_is_followed_filtered_and_downloaded_with_secrets_hidden(
    celery_worker, git_repo, make_project, user, settings, engine_from_worker
):
    # As in the compose deployment, where only the worker has the engine: the same page,
    # read through the worker's relay (deployer/engine_relay.py).
    settings.DEPLOYER_ENGINE_FROM_WORKER = engine_from_worker
    project = make_project(git_repo(NOISY_APP), env={"API_TOKEN": TOKEN})
    assert deploy(project).state == Build.State.LIVE
    port = _port(project)
    client = Client()
    client.force_login(user)
    url = reverse("builds:runtime-logs", args=[project.slug])
    assert http_get(port, "/say/first") == (200, "ok")

    def shown(word, **params):
        html = client.get(url, params).content.decode()
        return html if f"said {word}" in html else None

    page = wait_until(lambda: shown("first"), timeout=30)
    assert "said first with ********" in page and TOKEN not in page
    cursor = _cursor(page)

    assert http_get(port, "/say/second") == (200, "ok")
    follow = {"after": cursor, "c": project.deployments.get(state="live").container_id[:12]}
    more = wait_until(lambda: shown("second", **follow), timeout=30)
    assert "said first" not in more  # only what came after the cursor
    assert moment(_cursor(more)) > moment(cursor)

    filtered = client.get(url, {"q": "SECOND"}).content.decode()
    assert "said second" in filtered and "said first" not in filtered

    download = client.get(reverse("builds:runtime-logs-text", args=[project.slug]), {"lines": 50})
    text = download.content.decode()
    assert "said first with ********" in text and "said second" in text and TOKEN not in text


def test_an_app_flooding_its_output_costs_a_bounded_read(
    celery_worker, git_repo, make_project, user
):
    project = make_project(git_repo(NOISY_APP), env={"API_TOKEN": TOKEN})
    assert deploy(project).state == Build.State.LIVE
    assert http_get(_port(project), "/flood") == (200, "flooded")
    client = Client()
    client.force_login(user)

    page = client.get(reverse("builds:runtime-logs", args=[project.slug]), {"window": "1h"})

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('class="log-line"') <= 200  # DEPLOYER_RUNTIME_LOG_LINES
    assert len(html) < 3_000_000  # one read holds at most 2 MB of output
