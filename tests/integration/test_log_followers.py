"""Many browsers following one build's log at once, on the real PostgreSQL and a threaded
server: the real BuildLog writes (steadily, then a burst longer than what a web process keeps),
followers poll as the sentinel does, and each gets every line once, in order; someone without
a role in the project gets 404 all along, though the lines are kept in the server's memory."""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.utils import timezone

from builds import logfollow, logtail
from builds.buildlog import BuildLog
from builds.models import Build
from projects.models import Project

pytestmark = pytest.mark.django_db(transaction=True)

FOLLOWERS = 8
SENTINEL = re.compile(r'\?after=(\d+)" hx-trigger="([^"]+)"')


def session_cookie(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}


def follow(url: str, cookies: dict[str, str], deadline: float) -> tuple[list[int], bool]:
    """Poll as the sentinel does (at once after a full batch, a moment later otherwise) until
    no sentinel comes back; the line numbers received and whether the log ended."""
    seqs: list[int] = []
    cursor = 0
    with requests.Session() as session:
        session.cookies.update(cookies)
        while time.monotonic() < deadline:
            response = session.get(f"{url}?after={cursor}", headers={"HX-Request": "true"})
            if response.status_code != 200:
                return seqs, False
            seqs += [int(n) for n in re.findall(r'data-seq="(\d+)"', response.text)]
            sentinel = SENTINEL.search(response.text)
            if sentinel is None:
                return seqs, True
            cursor = int(sentinel.group(1))
            if not sentinel.group(2).startswith("load,"):
                time.sleep(0.05)
    return seqs, False


def test_every_follower_gets_every_line_once_in_order_and_an_outsider_none(
    live_server, user, other_user, monkeypatch
):
    monkeypatch.setattr(logtail, "MAX_LINES", 300)  # the burst overflows what is kept
    project = Project.objects.create(
        slug="shop", repo_url="https://example.com/acme/shop.git", owner=user
    )
    Project.objects.create(slug="mine", repo_url=project.repo_url, owner=other_user)
    build = Build.objects.create(
        project=project, state=Build.State.BUILDING, started_at=timezone.now()
    )
    url = f"{live_server.url}/builds/{build.pk}/log/"
    deadline = time.monotonic() + 120
    results: list[tuple[list[int], bool]] = []
    outsider: list[tuple[int, bool]] = []  # (status, whether a line showed)

    def one_follower() -> None:
        results.append(follow(url, session_cookie(user), deadline))

    def the_outsider() -> None:
        with requests.Session() as session:
            session.cookies.update(session_cookie(other_user))
            while time.monotonic() < deadline and not build_done.is_set():
                response = session.get(f"{url}?after=0", headers={"HX-Request": "true"})
                outsider.append((response.status_code, "ziggurat" in response.text))
                time.sleep(0.05)

    build_done = threading.Event()
    threads = [threading.Thread(target=one_follower) for _ in range(FOLLOWERS)]
    threads.append(threading.Thread(target=the_outsider))
    for thread in threads:
        thread.start()
    log = BuildLog(build, max_lines=10_000)
    written = 0
    for n in range(150):
        written += 1
        log(f"ziggurat {written}")
        if n == 75:
            for _ in range(2 * logfollow.LOG_BATCH + 100):  # one burst of 1,100 lines
                written += 1
                log(f"ziggurat {written} <burst> & more")
        time.sleep(0.005)
    log.close()
    Build.objects.filter(pk=build.pk).update(
        state=Build.State.LIVE, finished_at=timezone.now(), log_complete=True
    )
    build_done.set()
    for thread in threads:
        thread.join()

    assert len(results) == FOLLOWERS
    for seqs, ended in results:
        assert ended
        assert seqs == list(range(1, written + 1))
    assert outsider and set(outsider) == {(404, False)}
