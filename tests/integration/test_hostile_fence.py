"""App containers are fenced (issue 18, part 7), on the real engine: what a deployed app's
HostConfig says, and what a container can and cannot reach, proven from inside containers."""

from __future__ import annotations

import contextlib
import json
import os

import docker
import pytest
from django.conf import settings

from builds.models import Build, Deployment
from builds.pipeline import fence
from builds.pipeline.errors import StageError
from builds.pipeline.fence import Fence, host_config
from tests.integration.conftest import (
    TEST_LABEL,
    build_log,
    default_bridge_gateway,
    deploy,
    http_get,
)

pytestmark = pytest.mark.django_db(transaction=True)

PROBE_IMAGE = "python:3.11-slim"

# A stdlib-only app with its own Dockerfile and no USER: it answers with the uid it runs as.
APP_PY = """\
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

{start}

class App(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"uid={{os.getuid()}}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), App).serve_forever()
"""
OWN_APP = {
    "Dockerfile": (
        "FROM python:3.11-slim\n"
        "RUN mkdir /data && chmod 700 /data\n"
        "COPY app.py /app.py\n"
        'CMD ["python", "-u", "/app.py"]\n'
    ),
    "app.py": APP_PY.format(start=""),
}
# The same app, needing root at start: it writes into a folder only root may write.
ROOT_NEEDING_APP = {**OWN_APP, "app.py": APP_PY.format(start="open('/data/state', 'w').write('x')")}

# The same app, answering with the CPU limit its cgroup had when it started and has now
# ("quota period", "max" for none; cgroup v2 or v1).
CPU_LIMIT = """\
def cpu_limit():
    try:
        return " ".join(open("/sys/fs/cgroup/cpu.max").read().split())
    except OSError:
        quota = open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read().strip()
        period = open("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read().strip()
        return f"{'max' if quota == '-1' else quota} {period}"


BOOT = cpu_limit()
"""
BOOT_CPU_APP = {
    **OWN_APP,
    "app.py": APP_PY.format(start=CPU_LIMIT).replace(
        'f"uid={os.getuid()}"', 'f"{BOOT} / {cpu_limit()}"'
    ),
}

# Tries each (name, host, port) with a 2 s timeout and prints what happened, as JSON.
PROBE = """\
import json, os, socket, sys
result = {}
for name, host, port in json.loads(sys.argv[1]):
    try:
        socket.create_connection((host, port), timeout=2).close()
        result[name] = "connected"
    except OSError as exc:
        result[name] = type(exc).__name__
result["docker.sock"] = os.path.exists("/var/run/docker.sock")
print(json.dumps(result))
"""


def live_container(docker_client, build: Build):
    deployment = Deployment.objects.get(build=build)
    return docker_client.containers.get(deployment.container_id), deployment


def labels(slug: str) -> dict[str, str]:
    return {"org.deployer.managed": "1", "org.deployer.project": slug, TEST_LABEL: "1"}


def fence_of(slug: str, **changes) -> Fence:
    values = {
        "network": fence.network_name(slug),
        "memory_mb": 128,
        "cpus": 0.5,
        "pids_limit": settings.DEPLOYER_APP_PIDS_LIMIT,
        "user": "10001:10001",
        **changes,
    }
    return Fence(**values)


def run_in_container(docker_client, slug: str, command: list[str], **changes) -> str:
    """Run `command` in a fenced container on `slug`'s network; its output once it exits.

    Tried again when the container vanished before its output was read: parallel test
    sessions on the same engine remove every container labelled `org.deployer.test`.
    """
    for attempt in range(3):
        try:
            return _run_once(docker_client, slug, command, **changes)
        except (docker.errors.NotFound, docker.errors.APIError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _run_once(docker_client, slug: str, command: list[str], **changes) -> str:
    limits = fence_of(slug, **changes)
    container = docker_client.containers.run(
        PROBE_IMAGE,
        command,
        detach=True,
        labels=labels(slug),
        user=limits.user,
        **host_config(limits),
    )
    try:
        container.wait(timeout=120)
        return container.logs(stdout=True, stderr=True).decode()
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(v=True, force=True)


def probe(docker_client, slug: str, targets: list[tuple[str, str, int]]) -> dict:
    output = run_in_container(docker_client, slug, ["python", "-c", PROBE, json.dumps(targets)])
    return json.loads(output.strip().splitlines()[-1])


def test_deployed_app_runs_fenced_and_as_uid_10001_though_its_image_sets_no_user(
    celery_worker, git_repo, make_project, docker_client
):
    project = make_project(git_repo(OWN_APP), memory_limit_mb=192)

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason
    container, deployment = live_container(docker_client, build)
    config = container.attrs["HostConfig"]
    assert config["CapDrop"] == ["ALL"] and not config["CapAdd"]
    assert config["SecurityOpt"] == ["no-new-privileges:true"]
    assert config["PidsLimit"] == settings.DEPLOYER_APP_PIDS_LIMIT
    # Its CPU limit came once it answered (it booted on idle cores at half the weight).
    assert config["CpuQuota"] == round(settings.DEPLOYER_APP_CPUS * config["CpuPeriod"])
    assert (config["NanoCpus"], config["CpuShares"]) == (0, 1024)
    assert config["Memory"] == config["MemorySwap"] == 192 * 1024 * 1024
    assert config["LogConfig"] == {
        "Type": settings.DEPLOYER_APP_LOG_DRIVER,
        "Config": {
            "max-size": settings.DEPLOYER_APP_LOG_MAX_SIZE,
            "max-file": str(settings.DEPLOYER_APP_LOG_MAX_FILES),
        },
    }
    assert config["NetworkMode"] == f"deployer-{project.slug}"
    assert list(container.attrs["NetworkSettings"]["Networks"]) == [f"deployer-{project.slug}"]
    assert {b["HostIp"] for b in container.attrs["NetworkSettings"]["Ports"]["8000/tcp"]} == {
        "127.0.0.1"
    }
    network = docker_client.networks.get(f"deployer-{project.slug}")
    assert network.attrs["Labels"]["org.deployer.managed"] == "1"
    assert network.attrs["Labels"]["org.deployer.project"] == project.slug
    assert http_get(deployment.host_port) == (200, "uid=10001")
    assert container.exec_run(["id", "-u"]).output.decode().strip() == "10001"
    assert "It runs as uid 10001 (Deployer's app user) because its image sets no USER" in (
        build_log(build)
    )


def test_an_app_boots_without_a_cpu_quota_and_runs_within_it_from_its_first_request_on(
    celery_worker, git_repo, make_project, docker_client
):
    project = make_project(git_repo(BOOT_CPU_APP))

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason + build_log(build)
    container, deployment = live_container(docker_client, build)
    limited = f"{round(settings.DEPLOYER_APP_CPUS * 100_000)} 100000"
    # No quota when it started; its quota from its first request on, set before the switch.
    assert http_get(deployment.host_port) == (200, f"max 100000 / {limited}")
    # The app cannot lift its own limit: the cgroup files are read-only inside.
    lift = container.exec_run(
        [
            "sh",
            "-c",
            "echo max > /sys/fs/cgroup/cpu.max || echo -1 > /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        ]
    )
    assert lift.exit_code != 0
    assert http_get(deployment.host_port) == (200, f"max 100000 / {limited}")


def test_other_projects_and_platform_services_are_unreachable_from_inside_a_container(
    celery_worker, git_repo, make_project, docker_client
):
    a = make_project(git_repo(OWN_APP))
    b = make_project(git_repo(OWN_APP))
    build_a, build_b = deploy(a), deploy(b)
    assert build_a.state == build_b.state == Build.State.LIVE
    container_a, deployment_a = live_container(docker_client, build_a)
    address_a = container_a.attrs["NetworkSettings"]["Networks"][f"deployer-{a.slug}"]["IPAddress"]
    gateway_b = docker_client.networks.get(f"deployer-{b.slug}").attrs["IPAM"]["Config"][0][
        "Gateway"
    ]

    # The positive control: a container on A's own network reaches A by name.
    own = probe(docker_client, a.slug, [("a-by-name", container_a.name, 8000)])
    assert own["a-by-name"] == "connected"

    seen = probe(
        docker_client,
        b.slug,
        [
            ("a-by-name", container_a.name, 8000),
            ("a-by-address", address_a, 8000),
            ("a-published-port-via-gateway", gateway_b, deployment_a.host_port),
            ("postgresql", gateway_b, 5432),
            ("redis", gateway_b, 6379),
            ("caddy-admin", gateway_b, 2019),
            ("docker-api", gateway_b, 2375),
            ("docker-api-tls", gateway_b, 2376),
            ("postgresql-default-bridge", default_bridge_gateway(docker_client), 5432),
        ],
    )

    assert seen.pop("docker.sock") is False
    assert all(outcome != "connected" for outcome in seen.values()), seen
    assert http_get(deployment_a.host_port) == (200, "uid=10001")  # A still answers


def test_a_fork_bomb_stops_at_the_pids_limit(celery_worker, git_repo, make_project, docker_client):
    project = make_project(git_repo(OWN_APP))
    assert deploy(project).state == Build.State.LIVE
    bomb = (
        "import os, time\n"
        "count = 0\n"
        "while True:\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as exc:\n"
        "        print('forked', count, 'then', exc.errno, flush=True)\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(30)\n"
        "        os._exit(0)\n"
        "    count += 1\n"
        "os.killpg(0, 9)\n"
    )

    output = run_in_container(docker_client, project.slug, ["python", "-c", bomb], pids_limit=64)

    forked = int(output.split("forked ")[1].split()[0])
    assert 0 < forked <= 64
    assert "then 11" in output  # EAGAIN: the limit, not memory, stopped it
    assert docker_client.ping()


def test_a_chatty_container_keeps_its_log_within_size_times_files(
    celery_worker, git_repo, make_project, docker_client
):
    project = make_project(git_repo(OWN_APP))
    assert deploy(project).state == Build.State.LIVE
    limits = fence_of(project.slug, log_max_size="100k", log_max_files=2)
    chatty = "import sys\nfor i in range(60000):\n    print('x' * 80, i)\n"
    container = docker_client.containers.run(
        PROBE_IMAGE,
        ["python", "-c", chatty],
        detach=True,
        labels=labels(project.slug),
        user=limits.user,
        **host_config(limits),
    )
    try:
        container.wait(timeout=120)
        container.reload()
        assert container.attrs["HostConfig"]["LogConfig"]["Config"] == {
            "max-size": "100k",
            "max-file": "2",
        }
        log_path = container.attrs["LogPath"]
        if not os.access(log_path, os.R_OK):
            pytest.skip(f"the engine's log file {log_path} is not readable from the tests")
        files = [log_path, f"{log_path}.1", f"{log_path}.2"]
        total = sum(os.path.getsize(path) for path in files if os.path.exists(path))
        assert not os.path.exists(f"{log_path}.2")
        assert 0 < total <= 2 * 100 * 1024
    finally:
        container.remove(v=True, force=True)


def test_root_needing_image_fails_saying_why_and_runs_once_the_owner_opts_in_to_root(
    celery_worker, git_repo, make_project, docker_client
):
    project = make_project(git_repo(ROOT_NEEDING_APP))

    failed = deploy(project)

    assert failed.state == Build.State.FAILED
    assert "It runs as uid 10001 (Deployer's app user) because its image sets no USER" in (
        failed.failure_reason
    )
    assert '"Run the own image as root" (run_as_root)' in failed.failure_reason

    project.run_as_root = True
    project.save()
    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason
    container, deployment = live_container(docker_client, build)
    assert http_get(deployment.host_port) == (200, "uid=0")
    config = container.attrs["HostConfig"]
    assert config["CapDrop"] == ["ALL"]
    assert set(config["CapAdd"]) == set(fence.ROOT_CAPABILITIES)
    assert config["SecurityOpt"] == ["no-new-privileges:true"]


def test_a_runtime_the_engine_lacks_is_refused_naming_the_setting(docker_client):
    with pytest.raises(StageError) as refused:
        fence.check_runtime(docker_client, "no-such-runtime", setting="DEPLOYER_CONTAINER_RUNTIME")

    assert "DEPLOYER_CONTAINER_RUNTIME='no-such-runtime'" in str(refused.value)
    assert "runc" in str(refused.value)


def test_deleting_the_project_removes_its_network(
    celery_worker, git_repo, make_project, docker_client
):
    from builds import deletion

    project = make_project(git_repo(OWN_APP))
    assert deploy(project).state == Build.State.LIVE
    assert docker_client.networks.list(names=[f"deployer-{project.slug}"])

    assert deletion.delete_project(project) == []

    assert not docker_client.networks.list(
        filters={"label": f"org.deployer.project={project.slug}"}
    )


def test_the_release_command_runs_inside_the_same_fence(celery_worker, git_repo, make_project):
    release = (
        "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status && echo uid=$(id -u)"
        " && echo pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)"
    )
    files = {
        "requirements.txt": "gunicorn>=22\n",
        "app.py": "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'ok']\n",
        "Procfile": f"web: gunicorn app:app --bind 0.0.0.0:$PORT\nrelease: {release}\n",
    }
    project = make_project(git_repo(files))

    build = deploy(project)

    assert build.state == Build.State.LIVE, build.failure_reason
    log = build_log(build)
    assert "CapEff:\t0000000000000000" in log
    assert "NoNewPrivs:\t1" in log
    assert "uid=10001" in log
    assert f"pids={settings.DEPLOYER_APP_PIDS_LIMIT}" in log
