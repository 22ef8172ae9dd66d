"""Pull-request previews on the real worker, engine, git and Caddy.

Signed GitHub `pull_request` deliveries to /hooks/<project>/: an opened pull request answers
with its branch's code at pr-<n>-<project>.<base domain> while production still answers with
main; a push to the branch updates it; a fork's waits for approval; the limit queues the
third; closing removes its containers, images, network, routes and rows.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docker
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from addons.models import AddOn
from builds.models import Build
from previews import services
from previews.models import Preview
from projects import services as project_services
from projects.models import Project
from tests.integration.apps import ARTICLE_DJANGO_APP, FLASK_APP
from tests.integration.conftest import (
    build_log,
    deploy,
    http_get,
    remove_labelled,
    wait_for_build,
    wait_until,
)
from tests.integration.test_routing import start_caddy
from webhooks import providers
from webhooks import services as webhook_services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)

MISSING_SHA = "0123456789abcdef0123456789abcdef01234567"


def git(cwd, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def pull_request(project, *, number: int, action: str, branch: str, sha: str, fork=False):
    """What GitHub sends, signed with the project's secret; (status, answer)."""
    secret = webhook_services.endpoint_for(project).decrypted_secret()
    head_repo = "stranger/app" if fork else "acme/app"
    body = json.dumps(
        {
            "action": action,
            "number": number,
            "pull_request": {
                "number": number,
                "title": f"PR {number}",
                "html_url": f"https://github.com/acme/app/pull/{number}",
                "base": {"ref": "main", "repo": {"full_name": "acme/app"}},
                "head": {"ref": branch, "sha": sha, "repo": {"full_name": head_repo}},
            },
            "sender": {"login": "octocat"},
        }
    ).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + providers.hmac_sha256_hex(secret, body),
    }
    response = Client().post(
        f"/hooks/{project.slug}/", data=body, content_type="application/json", headers=headers
    )
    return response.status_code, response.json()


def host_of(slug: str) -> str:
    return f"{slug}.{settings.DEPLOYER_BASE_DOMAIN}"


def through_caddy(slug: str) -> tuple[int, str]:
    return http_get(settings.DEPLOYER_HTTP_PORT, "/", host=host_of(slug))


def answers(slug: str, body: str) -> None:
    """Wait until Caddy serves `body` at the slug's address: a build is live in the database a
    moment before its route is written (builds/runner.py's switch)."""

    def served():
        try:
            return through_caddy(slug) == (200, body)
        except OSError:
            return False

    served.__doc__ = f"{slug} answers {body!r} through Caddy"
    wait_until(served, timeout=30)


def live(build: Build) -> Build:
    finished = wait_for_build(build, timeout=400)
    assert finished.state == Build.State.LIVE, finished.failure_reason + "\n" + build_log(finished)
    return finished


def queued_build(answer: tuple[int, dict]) -> Build:
    status, body = answer
    assert status == 202, body
    assert body["result"] == "queued", body
    return Build.objects.get(pk=body["build"])


@pytest.fixture
def children(docker_client):
    """Slugs of preview projects to clean up by label, whatever the test left."""
    slugs: list[str] = []
    yield slugs

    def deletions_done():
        """the worker finished removing the previews it was asked to remove"""
        return not Project.objects.filter(slug__in=slugs, deleting_at__isnull=False).exists()

    with contextlib.suppress(pytest.fail.Exception):
        wait_until(deletions_done, timeout=60)
    for slug in slugs:
        # An image the worker removes while it is listed is gone already: that is the goal.
        with contextlib.suppress(docker.errors.NotFound):
            remove_labelled(docker_client, f"org.deployer.project={slug}")


@pytest.fixture
def fake_git_host():
    """A git host's commit status API on loopback (the worker allows 127.0.0.0/8 in tests)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            seen.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/repos/acme/app", seen
    server.shutdown()
    server.server_close()


@override_settings(DEPLOYER_OUTBOUND_ALLOW_NETWORKS=["127.0.0.0/8"])
def test_pull_request_previews_open_update_approve_queue_and_close(
    celery_worker, git_repo, make_project, children, docker_client, fake_git_host
):
    start_caddy()
    repo = git_repo(FLASK_APP)
    project = make_project(repo)
    project_services.add_env_var(project, "GREETING", "howdy", preview_value="hi")
    project_services.add_env_var(project, "PAYMENT_KEY", "sk_live_only", production_only=True)
    status_url, statuses = fake_git_host
    services.save_settings(
        project,
        enabled=True,
        max_running=2,
        idle_hours=0,
        status_api_url=status_url,
        status_token="status-token",
    )
    children += [f"pr-{n}-{project.slug}" for n in (7, 8, 9, 10)]
    production = live(deploy(project))
    answers(project.slug, "howdy from v1")

    # Opened: the branch's code answers at pr-7-<project> while production stays on main.
    git(repo.path, "checkout", "--quiet", "-b", "feature")
    head = repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", "from pr 7")}, "pr 7")
    git(repo.path, "checkout", "--quiet", "main")
    build = queued_build(
        pull_request(project, number=7, action="opened", branch="feature", sha=head)
    )
    assert build.project.slug == f"pr-7-{project.slug}"
    live(build)
    answers(f"pr-7-{project.slug}", "hi from pr 7")
    assert through_caddy(project.slug) == (200, "howdy from v1")
    preview_container = docker_client.containers.get(build.deployments.get().container_id)
    config = preview_container.attrs["HostConfig"]
    assert config["CpuQuota"] == round(settings.DEPLOYER_PREVIEW_CPUS * config["CpuPeriod"])
    assert preview_container.attrs["HostConfig"]["Memory"] == min(
        project.memory_limit_mb, settings.DEPLOYER_PREVIEW_MEMORY_MB
    ) * (1024**2)
    preview_env = "\n".join(preview_container.attrs["Config"]["Env"])
    assert "sk_live_only" not in preview_env and "PAYMENT_KEY" not in preview_env
    production_container = docker_client.containers.get(production.deployments.get().container_id)
    assert "PAYMENT_KEY=sk_live_only" in production_container.attrs["Config"]["Env"]

    def success_reported():
        """the fake git host got the preview's success status"""
        return [s["body"] for s in statuses if s["body"]["state"] == "success"]

    reported = wait_until(success_reported, timeout=30)[0]
    assert reported["target_url"].startswith(f"http://pr-7-{project.slug}.")
    assert statuses[0]["path"] == f"/repos/acme/app/statuses/{head}"
    assert statuses[0]["body"]["state"] == "pending"

    # A push to the branch: the preview follows it, production does not.
    git(repo.path, "checkout", "--quiet", "feature")
    pushed = repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", "from pr 7 v2")}, "v2")
    git(repo.path, "checkout", "--quiet", "main")
    live(
        queued_build(
            pull_request(project, number=7, action="synchronize", branch="feature", sha=pushed)
        )
    )
    answers(f"pr-7-{project.slug}", "hi from pr 7 v2")
    assert through_caddy(project.slug) == (200, "howdy from v1")

    # A fork's pull request (its commit published by the host as refs/pull/8/head) builds
    # nothing until someone approves it.
    git(repo.path, "checkout", "--quiet", "-b", "fork-work", "main")
    forked = repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", "from a fork")}, "f")
    git(repo.path, "checkout", "--quiet", "main")
    git(repo.path, "update-ref", "refs/pull/8/head", forked)
    git(repo.path, "branch", "--quiet", "-D", "fork-work")
    status, answer = pull_request(
        project, number=8, action="opened", branch="patch-1", sha=forked, fork=True
    )
    assert (status, answer["result"]) == (200, "held"), answer
    fork_preview = Preview.objects.get(project=project, number=8)
    assert fork_preview.state == Preview.State.WAITING_APPROVAL
    assert not Project.objects.filter(slug=f"pr-8-{project.slug}").exists()
    assert through_caddy(f"pr-8-{project.slug}")[0] != 200

    decision = services.approve(fork_preview, project.owner)
    assert decision.verdict == "queued", decision.reason
    live(decision.build)
    answers(f"pr-8-{project.slug}", "hi from a fork")

    # A third pull request waits: two previews run, the most this project allows.
    git(repo.path, "checkout", "--quiet", "-b", "third", "main")
    third = repo.commit({"app.py": FLASK_APP["app.py"].replace("from v1", "from pr 9")}, "9")
    git(repo.path, "checkout", "--quiet", "main")
    status, answer = pull_request(project, number=9, action="opened", branch="third", sha=third)
    assert (status, answer["result"]) == (200, "held"), answer
    assert "2 previews are running" in answer["reason"]

    # Closing PR 7 removes everything of its preview, and PR 9 takes its slot.
    seven = Project.objects.get(slug=f"pr-7-{project.slug}")
    status, answer = pull_request(project, number=7, action="closed", branch="feature", sha=pushed)
    assert (status, answer["result"]) == (200, "removed"), answer

    def seven_gone():
        """the preview's project row is deleted by the worker"""
        return not Project.objects.filter(pk=seven.pk).exists()

    wait_until(seven_gone, timeout=120)
    label = f"org.deployer.project=pr-7-{project.slug}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []
    assert docker_client.images.list(filters={"label": label}) == []
    assert docker_client.networks.list(filters={"label": label}) == []
    assert not Build.objects.filter(project_id=seven.pk).exists()

    def route_gone():
        """Caddy no longer routes pr-7 (the route goes once the row is deleted)"""
        return through_caddy(f"pr-7-{project.slug}")[0] == 404

    wait_until(route_gone, timeout=30)

    def nine_started():
        """the worker gave PR 9 the freed slot"""
        preview = Preview.objects.get(project=project, number=9)
        build = Build.objects.filter(project__slug=f"pr-9-{project.slug}").first()
        return build if preview.state == Preview.State.ACTIVE and build else None

    live(wait_until(nine_started, timeout=60))
    answers(f"pr-9-{project.slug}", "hi from pr 9")

    # Closed twice: recorded as such; nothing else changes.
    status, answer = pull_request(project, number=7, action="closed", branch="feature", sha=pushed)
    assert (status, answer["result"]) == (200, "duplicate"), answer

    # A branch deleted before its build: the preview's build fails and says why; production
    # is untouched. (The limit frees a slot first: PR 8 stops.)
    services.stop(Preview.objects.get(project=project, number=8), project.owner)
    failed = wait_for_build(
        queued_build(
            pull_request(project, number=10, action="opened", branch="gone", sha=MISSING_SHA)
        )
    )
    assert failed.state == Build.State.FAILED
    assert "not found" in failed.failure_reason
    assert through_caddy(project.slug) == (200, "howdy from v1")
    assert project.builds.count() == 1
    verdicts = set(Delivery.objects.filter(project=project).values_list("verdict", flat=True))
    assert verdicts == {"queued", "held", "removed", "duplicate"}


def live_port(project) -> int:
    return project.deployments.get(state="live").host_port


def test_a_preview_of_a_project_with_a_database_gets_its_own_empty_one(
    celery_worker, git_repo, make_project, children, docker_client
):
    repo = git_repo(ARTICLE_DJANGO_APP)
    project = make_project(repo)
    children.append(f"pr-3-{project.slug}")
    call_command("addon", "create", project.slug, "postgres")
    production_db = AddOn.objects.get(project=project)
    live(deploy(project))
    assert http_get(live_port(project), "/add?text=production-row") == (200, "added")

    git(repo.path, "checkout", "--quiet", "-b", "db-feature")
    head = repo.commit({"mysite/extra.py": "VERSION = 2\n"}, "feature")
    git(repo.path, "checkout", "--quiet", "main")
    status, answer = pull_request(project, number=3, action="opened", branch="db-feature", sha=head)
    assert (status, answer["result"]) == (202, "queued"), answer
    assert "database is being created" in answer["reason"]

    def preview_build():
        """the worker created the preview's database, then queued its build"""
        return Build.objects.filter(project__slug=f"pr-3-{project.slug}").first()

    build = live(wait_until(preview_build, timeout=120))
    child = build.project
    own_db = AddOn.objects.get(project=child)
    assert own_db.container_name != production_db.container_name
    assert own_db.password() != production_db.password()
    assert http_get(live_port(child), "/") == (200, "0 notes: ")
    assert http_get(live_port(project), "/") == (200, "1 notes: production-row")
    preview_env = docker_client.containers.get(build.deployments.get().container_id).attrs
    assert production_db.password() not in "\n".join(preview_env["Config"]["Env"])

    status, answer = pull_request(project, number=3, action="closed", branch="db-feature", sha=head)
    assert answer["result"] == "removed"

    def gone():
        """the preview's project, its database container and volume are removed"""
        label = f"org.deployer.project={child.slug}"
        return not (
            Project.objects.filter(pk=child.pk).exists()
            or docker_client.containers.list(all=True, filters={"label": label})
            or docker_client.volumes.list(filters={"label": label})
        )

    wait_until(gone, timeout=120)
    assert docker_client.containers.get(production_db.container_name).status == "running"
    assert http_get(live_port(project), "/") == (200, "1 notes: production-row")
