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

import re
import secrets
import socket
import subprocess
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
        web, pg, redis_port, admin, http = free_ports(5)
        self.web_url = f"http://127.0.0.1:{web}"
        self.http_port = http
        self.env_file = workdir / ".env"
        settings = {
            "DEPLOYER_ENV_FILE": str(self.env_file),
            "DEPLOYER_IMAGE": self.image,
            "DEPLOYER_VERSION": "compose-test",
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

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(COMPOSE), "-p", self.name, "--env-file", str(self.env_file)]
        command += ["-f", str(ROOT / "docker-compose.yml"), "-f", str(self.override), *args]
        return subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "40").stdout[-8000:]


def remove_everything_of(stack: Stack, client: docker.DockerClient) -> None:
    """What the stack made: its compose project (containers, network, volumes), the apps its
    worker made (by installation label), its image tag. Layers stay as the next run's cache."""
    stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", timeout=180)
    for label in (
        f"com.docker.compose.project={stack.name}",
        f"{LABEL_INSTALLATION}={stack.installation}",
    ):
        for container in client.containers.list(all=True, filters={"label": label}):
            container.remove(force=True)
        for volume in client.volumes.list(filters={"label": label}):
            volume.remove(force=True)
        for network in client.networks.list(filters={"label": label}):
            network.remove()
        for image in client.images.list(filters={"label": label}):
            client.images.remove(image.id, force=True)
    try:
        client.images.remove(stack.image, noprune=True)
    except docker.errors.ImageNotFound:
        pass


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


def test_compose_stack_installs_deploys_through_caddy_deletes_and_goes_away(stack, docker_client):
    started = time.monotonic()
    built = stack.compose("build", timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    up = stack.compose("up", "-d", timeout=UP_TIMEOUT)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    wait_until("/healthz answering 200", UP_TIMEOUT, lambda: healthy(stack.web_url), stack)
    install_seconds = time.monotonic() - started
    services = stack.compose("ps", "--format", "{{.Service}} {{.Status}}").stdout
    for service in ("web", "worker", "beat", "caddy", "postgres", "redis"):
        assert re.search(rf"^{service} Up", services, re.M), services

    session = requests.Session()
    login = session.get(f"{stack.web_url}/accounts/login/", timeout=10)
    fields = form_fields(login.text, "username")
    fields.update(username="admin", password=stack.admin_password)
    signed_in = session.post(
        f"{stack.web_url}/accounts/login/", data=fields, timeout=10, allow_redirects=False
    )
    assert signed_in.status_code == 302, signed_in.text[-2000:]

    (stack.repo_dir / "shop").mkdir()
    repo = GitRepo(stack.repo_dir / "shop")
    repo.commit(FLASK_APP, "a flask app")
    slug = "shop"
    new = session.get(f"{stack.web_url}/projects/new/", timeout=10)
    fields = form_fields(new.text, "slug")
    fields.update(slug=slug, repo_url=repo.url, branch="main")
    created = session.post(f"{stack.web_url}/projects/new/", data=fields, timeout=10)
    assert created.url.rstrip("/").endswith(f"/projects/{slug}"), created.text[-3000:]
    # The Deploy button's form carries only the CSRF token, which is the cookie's value.
    csrf = {"csrfmiddlewaretoken": session.cookies["csrftoken"]}
    queued = session.post(f"{stack.web_url}/builds/projects/{slug}/deploy/", data=csrf, timeout=10)
    assert "/builds/" in queued.url, queued.text[-3000:]
    build_url = queued.url.rstrip("/")

    def served() -> bool:
        try:
            answer = requests.get(
                f"http://127.0.0.1:{stack.http_port}/",
                headers={"Host": f"{slug}.localhost"},
                timeout=5,
            )
        except requests.RequestException:
            return False
        if answer.status_code != 200:
            log = session.get(f"{build_url}/log.txt", timeout=10).text
            assert "failed" not in log.lower()[-400:], log[-3000:]
        return answer.status_code == 200 and answer.text == "hello from v1"

    deploy_started = time.monotonic()
    wait_until("the app answering 200 through Caddy", DEPLOY_TIMEOUT, served, stack)
    deploy_seconds = time.monotonic() - deploy_started
    ours = f"{LABEL_INSTALLATION}={stack.installation}"
    assert docker_client.containers.list(filters={"label": [ours, f"{LABEL_PROJECT}={slug}"]})

    deleted = session.post(f"{stack.web_url}/projects/{slug}/delete/", data=csrf, timeout=10)
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
