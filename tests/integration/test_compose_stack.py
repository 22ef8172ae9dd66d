"""The production install, end to end, on this machine's Docker engine.

The README's stack (docker-compose.yml, built from this repository) comes up with a .env that
scripts/production_env.py generates, on free high ports, under a compose project name and an
installation id of its own: a development stack or another test on the same engine is never
touched. It signs in, deploys a Flask app from a local git repository, gets a 200 through the
stack's Caddy, deletes the project (its container and image go), and brings the stack down,
removing only what it created, even when a step fails.

Select it with `-m compose`; it takes about three minutes (the Deployer image's dependency
layers are reused from the engine's build cache).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import docker
import pytest
import requests

from builds.docker import LABEL_INSTALLATION, LABEL_PROJECT
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import GitRepo

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / ".venv/bin/docker-compose"
UP_TIMEOUT = 300
DEPLOY_TIMEOUT = 300
SHELL_VARIABLES = ("PATH", "HOME", "LANG", "TMPDIR", "DOCKER_HOST", "DOCKER_CONFIG")


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now (the kernel's choice, so never the dev stack's)."""
    sockets, ports = [], []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


class FormFields(HTMLParser):
    """Every <form>'s fields with their initial values, in page order."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({})
        if not self.forms or ("name" not in attrs and tag != "option"):
            return
        fields = self.forms[-1]
        if tag == "input" and attrs.get("type") not in ("checkbox", "submit"):
            fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "input" and attrs.get("type") == "checkbox" and "checked" in attrs:
            fields[attrs["name"]] = "on"
        elif tag == "textarea":
            fields[attrs["name"]] = ""
        elif tag == "select":
            self._select = attrs["name"]
            fields.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in attrs:
            fields[self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def form_fields(html: str, having: str) -> dict[str, str]:
    """The fields of the page's form that has a field named `having`."""
    parser = FormFields()
    parser.feed(html)
    for fields in parser.forms:
        if having in fields:
            return fields
    raise AssertionError(f"no form with a {having!r} field in:\n{html[-3000:]}")


class Stack:
    """One compose project on this engine, with its own name, ports, .env and installation id."""

    def __init__(self, workdir: Path, repo_dir: Path):
        self.name = f"deployer-test-{secrets.token_hex(3)}"
        self.installation = f"compose-{secrets.token_hex(4)}"
        self.image = f"deployer:{self.name}"
        self.other_images: list[str] = []  # tags a test builds besides: removed at the end
        web, pg, redis_port, admin, http = free_ports(5)
        self.web_url = f"http://127.0.0.1:{web}"
        self.http_port = http
        self.env_file = workdir / ".env"
        settings = {
            "DEPLOYER_ENV_FILE": str(self.env_file),
            "DEPLOYER_IMAGE": self.image,
            "DEPLOYER_INSTALLATION_ID": self.installation,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEPLOYER_WEB_PORT": str(web),
            "DEPLOYER_POSTGRES_PORT": str(pg),
            "DEPLOYER_REDIS_PORT": str(redis_port),
            "DEPLOYER_CADDY_ADMIN_PORT": str(admin),
            "DEPLOYER_HTTP_PORT": str(http),
            "DEPLOYER_HTTP_BIND": "127.0.0.1",
            "DEPLOYER_ALLOW_LOCAL_REPOS": "true",
            "DEPLOYER_PLATFORM_BACKUP_INTERVAL": "0",
        }
        generated = subprocess.run(
            ["python3", "scripts/production_env.py", "--file", str(self.env_file), "generate"]
            + ["--domain", "127.0.0.1", "--apps", "localhost", "--http"]
            + [arg for name, value in settings.items() for arg in ("--set", f"{name}={value}")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        self.admin_password = generated.stdout.strip().splitlines()[-1].strip()
        # The worker clones the test's repository from the same path as on the host.
        self.override = workdir / "compose.override.yml"
        self.override.write_text(
            f"services:\n  worker:\n    volumes:\n      - {repo_dir}:{repo_dir}:ro\n"
        )

    @staticmethod
    def shell_env() -> dict[str, str]:
        """Compose prefers the shell's variables to .env's: the test run's own (DATABASE_URL,
        DEPLOYER_HTTP_PORT, DEPLOYER_INSTALLATION_ID...) must not reach the stack."""
        kept = {k: v for k, v in os.environ.items() if k in SHELL_VARIABLES}
        # The version is the image's own (a build argument), never a .env value.
        return {**kept, "DEPLOYER_VERSION": "compose-test"}

    def options(self) -> list[str]:
        files = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(self.override)]
        return ["-p", self.name, "--env-file", str(self.env_file), *files]

    def compose(
        self, *args: str, timeout: float = 120, image: str | None = None
    ) -> subprocess.CompletedProcess:
        """`docker-compose ARGS` on this stack; `image`: run that Deployer image instead."""
        command = [str(COMPOSE), *self.options(), *args]
        env = {**self.shell_env(), "DEPLOYER_IMAGE": image or self.image}
        return subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def upgrade(self, image: str) -> subprocess.CompletedProcess:
        """scripts/upgrade.sh, the README's upgrade, to an image built beforehand."""
        env = {**self.shell_env(), "DEPLOYER_IMAGE": image, "DEPLOYER_SKIP_BUILD": "1"}
        return subprocess.run(
            ["scripts/upgrade.sh", *self.options()],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=UP_TIMEOUT,
            check=False,
        )

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "40").stdout[-8000:]


CACHE_TAG = "deployer:test-stack-cache"


def remove_everything_of(stack: Stack, client: docker.DockerClient) -> None:
    """What the stack made: its compose project (containers, network, volumes), the apps its
    worker made (by installation label), its image tags."""
    stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", timeout=180)
    for label in (
        f"com.docker.compose.project={stack.name}",
        f"{LABEL_INSTALLATION}={stack.installation}",
    ):
        for container in client.containers.list(all=True, filters={"label": label}):
            container.remove(v=True, force=True)
        for volume in client.volumes.list(filters={"label": label}):
            volume.remove(force=True)
        for network in client.networks.list(filters={"label": label}):
            network.remove()
        for image in client.images.list(filters={"label": label}):
            client.images.remove(image.id, force=True)
    # The newest stack image stays tagged as the next run's cache; every other platform image
    # a run left untagged (this commit's earlier stack, the previous commit's, the broken one)
    # is pruned, so a long-lived machine keeps one platform image, not one per run.
    try:
        client.images.get(stack.image).tag(CACHE_TAG)
    except docker.errors.ImageNotFound:
        pass
    for tag in (stack.image, *stack.other_images):
        try:
            client.images.remove(tag, noprune=True)
        except docker.errors.ImageNotFound:
            pass
    client.images.prune(filters={"dangling": True, "label": "org.deployer.role=platform"})


@pytest.fixture
def stack(tmp_path, docker_client):
    if not COMPOSE.exists():
        pytest.fail(".venv/bin/docker-compose is missing (pip install -r requirements-dev.txt)")
    repo_dir = tmp_path / "repos"
    repo_dir.mkdir()
    made = Stack(tmp_path, repo_dir)
    made.repo_dir = repo_dir
    try:
        yield made
    finally:
        remove_everything_of(made, docker_client)


def wait_until(what: str, seconds: float, check, stack: Stack):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(2)
    pytest.fail(f"{what} did not happen within {seconds:.0f} s\n{stack.logs()}")


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def bring_up(stack: Stack, image: str | None = None) -> float:
    """`up -d` and wait for /healthz; returns the seconds it took."""
    started = time.monotonic()
    up = stack.compose("up", "-d", timeout=UP_TIMEOUT, image=image)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    wait_until("/healthz answering 200", UP_TIMEOUT, lambda: healthy(stack.web_url), stack)
    return time.monotonic() - started


def sign_in(stack: Stack) -> requests.Session:
    session = requests.Session()
    login = session.get(f"{stack.web_url}/accounts/login/", timeout=10)
    fields = form_fields(login.text, "username")
    fields.update(username="admin", password=stack.admin_password)
    signed_in = session.post(
        f"{stack.web_url}/accounts/login/", data=fields, timeout=10, allow_redirects=False
    )
    assert signed_in.status_code == 302, signed_in.text[-2000:]
    return session


def csrf(session: requests.Session) -> dict[str, str]:
    """What a form with only a button posts: the CSRF token, which is the cookie's value."""
    return {"csrfmiddlewaretoken": session.cookies["csrftoken"]}


def app_answer(stack: Stack, slug: str, timeout: float = 5) -> requests.Response:
    return requests.get(
        f"http://127.0.0.1:{stack.http_port}/",
        headers={"Host": f"{slug}.localhost"},
        timeout=timeout,
    )


def deploy_flask_app(stack: Stack, session: requests.Session, slug: str) -> tuple[float, GitRepo]:
    """Create a project from a local git repository, deploy it, wait until Caddy serves it."""
    (stack.repo_dir / slug).mkdir()
    repo = GitRepo(stack.repo_dir / slug)
    repo.commit(FLASK_APP, "a flask app")
    new = session.get(f"{stack.web_url}/projects/new/", timeout=10)
    fields = form_fields(new.text, "slug")
    fields.update(slug=slug, repo_url=repo.url, branch="main")
    created = session.post(f"{stack.web_url}/projects/new/", data=fields, timeout=10)
    assert created.url.rstrip("/").endswith(f"/projects/{slug}"), created.text[-3000:]
    queued = session.post(
        f"{stack.web_url}/builds/projects/{slug}/deploy/", data=csrf(session), timeout=10
    )
    assert "/builds/" in queued.url, queued.text[-3000:]
    build_url = queued.url.rstrip("/")

    def served() -> bool:
        try:
            answer = app_answer(stack, slug)
        except requests.RequestException:
            return False
        if answer.status_code != 200:
            log = session.get(f"{build_url}/log.txt", timeout=10).text
            assert "failed" not in log.lower()[-400:], log[-3000:]
        return answer.status_code == 200 and answer.text == "hello from v1"

    started = time.monotonic()
    wait_until("the app answering 200 through Caddy", DEPLOY_TIMEOUT, served, stack)
    return time.monotonic() - started, repo


def test_compose_stack_installs_deploys_through_caddy_deletes_and_goes_away(stack, docker_client):
    started = time.monotonic()
    built = stack.compose("build", "migrate", timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    bring_up(stack)
    install_seconds = time.monotonic() - started
    services = stack.compose("ps", "--format", "{{.Service}} {{.Status}}").stdout
    for service in ("web", "worker", "caddy", "postgres", "redis"):
        assert re.search(rf"^{service} Up", services, re.M), services

    session = sign_in(stack)
    slug = "shop"
    deploy_seconds, _ = deploy_flask_app(stack, session, slug)
    ours = f"{LABEL_INSTALLATION}={stack.installation}"
    assert docker_client.containers.list(filters={"label": [ours, f"{LABEL_PROJECT}={slug}"]})
    # The web has no Docker socket here: the Logs section asks the worker for the output.
    logs_page = session.get(f"{stack.web_url}/projects/{slug}/logs/", timeout=30).text
    assert "Listening at" in logs_page, logs_page[-3000:]

    deleted = session.post(
        f"{stack.web_url}/projects/{slug}/delete/", data=csrf(session), timeout=10
    )
    assert deleted.status_code == 200, deleted.text[-2000:]

    def gone() -> bool:
        labels = {"label": [ours, f"{LABEL_PROJECT}={slug}"]}
        return not docker_client.containers.list(all=True, filters=labels) and not (
            docker_client.images.list(filters=labels)
        )

    wait_until("the project's container and image going away", 120, gone, stack)
    print(
        f"\ncompose stack: up and healthy in {install_seconds:.0f} s (build included), "
        f"first deploy served through Caddy in {deploy_seconds:.0f} s"
    )

    down = stack.compose("down", "--volumes", "--timeout", "10", timeout=180)
    assert down.returncode == 0, down.stderr[-2000:]
    left = docker_client.containers.list(
        all=True, filters={"label": f"com.docker.compose.project={stack.name}"}
    )
    assert left == []


class RequestLoop(threading.Thread):
    """Clients asking the app through Caddy without pause, each on a new connection."""

    def __init__(self, stack: Stack, slug: str):
        super().__init__(daemon=True)
        self.stack, self.slug = stack, slug
        self.ok, self.failures = 0, []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                answer = app_answer(self.stack, self.slug)
                if answer.status_code == 200:
                    self.ok += 1
                else:
                    self.failures.append(f"{answer.status_code}: {answer.text[:100]}")
            except requests.RequestException as exc:
                self.failures.append(repr(exc)[:200])

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


def previous_commit() -> str:
    """HEAD~1, or the newest earlier commit that can run this compose file's `migrate` service
    (`manage.py platform migrate`: deployer/upgrade.py): after a merge, HEAD~1 may be the line
    that never had it."""
    commits = subprocess.run(
        ["git", "rev-list", "--skip=1", "-n", "50", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert commits.stdout.strip(), f"HEAD~1 is needed (a full clone): {commits.stderr[-500:]}"
    for commit in commits.stdout.split():
        has = subprocess.run(
            ["git", "cat-file", "-e", f"{commit}:deployer/upgrade.py"], cwd=ROOT, check=False
        )
        if has.returncode == 0:
            return commit
    raise AssertionError("no earlier commit has deployer/upgrade.py: nothing to upgrade from")


def build_previous_commit(stack: Stack, docker_client) -> str:
    """The Deployer image of this repository's previous commit, from `git archive`."""
    tag = f"{stack.image}-previous"
    stack.other_images.append(tag)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", previous_commit()],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert archive.returncode == 0, archive.stderr[-500:]
    built = subprocess.run(
        ["docker", "build", "-q", "-t", tag, "--build-arg", "DEPLOYER_VERSION=previous", "-"],
        input=archive.stdout,
        capture_output=True,
        timeout=600,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return tag


def build_with_a_failing_migration(stack: Stack) -> str:
    """This version plus a migration that fails: an upgrade that must not happen."""
    tag = f"{stack.image}-broken"
    stack.other_images.append(tag)
    dockerfile = (
        f"FROM {stack.image}\n"
        "RUN printf 'from django.db import migrations\\n\\n"
        'def fail(apps, schema_editor):\\n    raise RuntimeError("this migration fails")\\n\\n'
        "class Migration(migrations.Migration):\\n"
        '    dependencies = [("deployer", "0001_platform")]\\n'
        "    operations = [migrations.RunPython(fail)]\\n' "
        "> /app/deployer/migrations/9999_fails.py\n"
    )
    built = subprocess.run(
        ["docker", "build", "-q", "-t", tag, "-"],
        input=dockerfile.encode(),
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return tag


def deployer_version(session: requests.Session, stack: Stack) -> str:
    body = session.get(f"{stack.web_url}/healthz", timeout=10).json()
    return body["platform"]["services"]["Deployer"]["version"]


def test_upgrade_from_the_previous_commit_keeps_the_app_serving(stack, docker_client):
    previous = build_previous_commit(stack, docker_client)
    built = stack.compose("build", "migrate", timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    bring_up(stack, image=previous)
    session = sign_in(stack)
    _, repo = deploy_flask_app(stack, session, "shop")
    assert deployer_version(session, stack) == "previous"

    loop = RequestLoop(stack, "shop")
    loop.start()
    # A build in flight when the worker is replaced: its release step takes 20 s.
    repo.commit(
        {
            "app.py": FLASK_APP["app.py"].replace("from v1", "from v2"),
            "Procfile": "release: sleep 20\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\n",
        },
        "v2 with a slow release step",
    )
    in_flight = session.post(
        f"{stack.web_url}/builds/projects/shop/deploy/", data=csrf(session), timeout=10
    )
    assert "/builds/" in in_flight.url, in_flight.text[-3000:]
    time.sleep(4)  # claimed by the previous version's worker
    try:
        started = time.monotonic()
        upgraded = stack.upgrade(stack.image)
        assert upgraded.returncode == 0, upgraded.stdout[-3000:] + upgraded.stderr[-3000:]
        wait_until("/healthz answering 200", UP_TIMEOUT, lambda: healthy(stack.web_url), stack)
        upgrade_seconds = time.monotonic() - started
        time.sleep(5)  # the new worker's first route reconcile reloads Caddy
    finally:
        loop.stop()

    assert loop.failures == [], f"{len(loop.failures)} failed of {loop.ok}: {loop.failures[:5]}"
    assert loop.ok > 50
    # The old worker finished the build it held before it stopped: v2 is live.
    session = sign_in(stack)

    def v2_live() -> bool:
        if app_answer(stack, "shop").text == "hello from v2":
            return True
        page = session.get(in_flight.url, timeout=10).text
        assert 'class="failure"' not in page, page[-3000:]
        return False

    wait_until("v2 serving", 180, v2_live, stack)
    assert "<h2>Live</h2>" in session.get(in_flight.url, timeout=10).text
    assert deployer_version(session, stack) == "compose-test"
    # The new version's migrations ran once, before its web and worker started, and once more
    # finding nothing to do (the service's run at `up`); never two at once (an advisory lock).
    assert "Applying" not in stack.compose("logs", "--no-color", "migrate").stdout
    web_before = stack.compose("ps", "-q", "web").stdout.strip()

    # An upgrade whose migration fails replaces nothing: the running version keeps serving.
    broken = build_with_a_failing_migration(stack)
    failed = stack.upgrade(broken)
    assert failed.returncode != 0
    assert "this migration fails" in failed.stdout + failed.stderr
    assert "nothing was replaced" in failed.stderr
    assert stack.compose("ps", "-q", "web").stdout.strip() == web_before
    assert healthy(stack.web_url)
    assert app_answer(stack, "shop").status_code == 200
    print(
        f"\nupgrade from the previous commit (a build in flight): healthy in {upgrade_seconds:.0f} s, "
        f"{len(loop.failures)} failed of {loop.ok + len(loop.failures)} requests through Caddy"
    )


def test_a_missing_or_malformed_env_value_stops_the_stack_with_its_name(stack):
    text = stack.env_file.read_text()
    stack.env_file.write_text(re.sub(r"^SECRET_KEY=.*$", "SECRET_KEY=", text, flags=re.M))

    missing = stack.compose("up", "-d")

    assert missing.returncode != 0
    assert "SECRET_KEY" in missing.stderr and "is missing from .env" in missing.stderr
    assert stack.compose("ps", "-a", "-q").stdout.strip() == ""  # nothing was started

    stack.env_file.write_text(
        re.sub(r"^DEPLOYER_SECRETS_KEY=.*$", "DEPLOYER_SECRETS_KEY=not-a-key", text, flags=re.M)
    )
    malformed = stack.compose("up", "-d", timeout=UP_TIMEOUT)

    assert malformed.returncode != 0
    assert "migrate" in malformed.stderr
    assert "DEPLOYER_SECRETS_KEY must be comma-separated Fernet keys" in stack.logs()
    assert stack.compose("ps", "-q", "web").stdout.strip() == ""
