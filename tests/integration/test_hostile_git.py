"""Git is a parser, not a shell; credentials go only where their owner sent them.

Attacks on the real worker, engine and git: a repository whose committed configuration,
attributes, hooks and a (fake) signed commit would each run a committed script, deployed
through the worker and previewed in the web process; a private repository served over HTTP
with basic auth whose token must appear nowhere but in the owner's encrypted field.
"""

from __future__ import annotations

import base64
import io
import subprocess
import tarfile
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.db import connection
from django.urls import reverse

from builds import preview
from builds.models import Build
from builds.pipeline import clone
from projects import services
from tests.hostile_repos import make_hostile_repo, markers
from tests.integration.conftest import build_log, deploy, http_get

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "tok-Xq81ZzPrivateRepo"
# The checkout goes into the image whole: if .git (or its config) carried the token, so would it.
COPY_ALL_DOCKERFILE = (
    "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n"
    'CMD ["sh", "-c", "exec python -m http.server $PORT"]\n'
)


def test_a_hostile_git_configuration_runs_nothing_in_the_worker(
    celery_worker, make_project, tmp_path
):
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    repo = tmp_path / "evil"
    sha = make_hostile_repo(repo, marker_dir, {"Dockerfile": COPY_ALL_DOCKERFILE})
    project = make_project(_Repo(repo), framework="dockerfile")

    build = deploy(project)

    assert markers(marker_dir) == []
    assert build.state == Build.State.LIVE, build.failure_reason
    assert build.commit_sha == sha
    assert (build.commit_author, build.commit_message) == (
        "Mallory <mallory@example.com>",
        "hostile",
    )


def test_a_hostile_git_configuration_runs_nothing_in_the_detection_preview(client, user, tmp_path):
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    repo = tmp_path / "evil"
    sha = make_hostile_repo(repo, marker_dir, {"app.py": "from flask import Flask\n"})
    project = services.create_project(user, slug="evil-preview", repo_url=f"file://{repo}")
    client.force_login(user)
    row, _ = preview.request_preview(project)

    preview.run_preview(row.pk)  # what the worker's task runs
    page = reverse("builds:detection", args=[project.slug]) + f"?preview={row.pk}"
    response = client.get(page)

    assert response.status_code == 200
    assert response.context["detection"].commit == sha
    assert markers(marker_dir) == []


# A private repository over HTTP with basic auth ----------------------------------------------


class _Repo:
    def __init__(self, path: Path, url: str | None = None):
        self.path, self.url = path, url or f"file://{path}"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _http_backend(root: Path, user: str, token: str):
    """A WSGI app around `git http-backend` that answers 401 without the right credentials."""
    expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
    seen = {"authorised": 0, "refused": 0}

    def app(environ, start_response):
        if environ.get("HTTP_AUTHORIZATION") != expected:
            seen["refused"] += 1
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
            return [b"no"]
        seen["authorised"] += 1
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        cgi_env = {
            "GIT_PROJECT_ROOT": str(root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": environ["PATH_INFO"],
            "QUERY_STRING": environ.get("QUERY_STRING", ""),
            "REQUEST_METHOD": environ["REQUEST_METHOD"],
            "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
            "CONTENT_LENGTH": str(len(body)),
            "GIT_PROTOCOL": environ.get("HTTP_GIT_PROTOCOL", ""),
            "PATH": "/usr/bin:/bin",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
        }
        result = subprocess.run(
            ["git", "http-backend"], input=body, env=cgi_env, capture_output=True, check=True
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        headers = [tuple(line.split(": ", 1)) for line in head.decode().split("\r\n") if line]
        status = next((value for name, value in headers if name.lower() == "status"), "200 OK")
        start_response(status, [(n, v) for n, v in headers if n.lower() != "status"])
        return [payload]

    return app, seen


@pytest.fixture
def private_http_repo(tmp_path):
    """(URL with the token in it, the repository's working copy, request counters)."""
    root = tmp_path / "served"
    root.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = {
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@x",
        "PATH": "/usr/bin:/bin",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    (work / "Dockerfile").write_text(COPY_ALL_DOCKERFILE)
    (work / "index.html").write_text("private app\n")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["commit", "-qm", "private"],
        ["clone", "-q", "--bare", ".", str(root / "private.git")],
    ):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)
    app, seen = _http_backend(root, "deploy", TOKEN)
    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://deploy:{TOKEN}@127.0.0.1:{server.server_port}/private.git"
    yield url, seen
    server.shutdown()
    server.server_close()


def _grep_tree(root: Path, needle: bytes) -> list[str]:
    return [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    ]


def test_the_token_reaches_git_only_in_its_environment_never_the_checkout(
    private_http_repo, tmp_path, user
):
    url, seen = private_http_repo
    project = services.create_project(user, slug="private-clone", repo_url=url)
    dest = tmp_path / "checkout"

    clone.clone_commit(
        project.repo_url,
        "main",
        dest,
        log=lambda _: None,
        allow_file=True,
        credentials=services.git_credentials(project),
    )

    assert (dest / "index.html").read_text() == "private app\n"
    assert seen["authorised"] > 0
    assert (dest / ".git" / "config").is_file()
    for needle in (TOKEN, base64.b64encode(f"deploy:{TOKEN}".encode()).decode()):
        assert _grep_tree(dest, needle.encode()) == []


def test_without_the_token_the_private_repository_is_refused(private_http_repo, tmp_path):
    url, seen = private_http_repo

    with pytest.raises(clone.StageError):
        clone.clone_commit(
            clone.public_url(url), "main", tmp_path / "c", log=lambda _: None, allow_file=True
        )
    assert seen["refused"] > 0 and seen["authorised"] == 0


def test_the_token_is_absent_from_the_image_the_build_log_and_the_database(
    celery_worker, private_http_repo, make_project, docker_client
):
    url, seen = private_http_repo
    project = make_project(_Repo(Path("/nonexistent"), url), framework="dockerfile")

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason
    assert seen["authorised"] > 0
    assert http_get(_port(build))[0] == 200
    layers = _image_files(docker_client, build.image_id)
    assert any(name.endswith("app/index.html") for name in layers)  # the checkout is in it
    assert [name for name, data in layers.items() if TOKEN.encode() in data] == []
    assert TOKEN not in build_log(build)
    assert "projects_project" in _database_rows_containing(project.slug)  # the search works
    assert _database_rows_containing(TOKEN) == []


def _port(build) -> int:
    return build.deployments.order_by("-pk").first().host_port


def _image_files(docker_client, image_id: str) -> dict[str, bytes]:
    """Every file of every layer of the image (from `docker save`), by path inside the layer."""
    saved = io.BytesIO(b"".join(docker_client.images.get(image_id).save()))
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=saved) as outer:
        for member in outer.getmembers():
            if not member.isfile():
                continue
            data = outer.extractfile(member).read()
            files[member.name] = data
            try:
                with tarfile.open(fileobj=io.BytesIO(data)) as layer:
                    for inner in layer.getmembers():
                        if inner.isfile():
                            files[f"{member.name}:{inner.name}"] = layer.extractfile(inner).read()
            except tarfile.ReadError:
                pass  # the manifest and config are JSON, not layers
    return files


def _database_rows_containing(needle: str) -> list[str]:
    """table names whose rows, as text, contain `needle` (every table of the schema)."""
    found = []
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT count(*) FROM {quoted} t WHERE t::text LIKE %s", [f"%{needle}%"]
            )
            if cursor.fetchone()[0]:
                found.append(table)
    return found
