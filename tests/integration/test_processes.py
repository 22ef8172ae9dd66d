"""Process types and cron jobs on the real engine.

A Procfile's worker consumes a queue in a real Redis (the redis:7.0 image, on the project's
own network, published on 127.0.0.1 for the test): it runs with the app's
environment, is started again by the engine after its process is killed, is replaced by the
new build's after a redeploy, comes back with a rollback, and goes with the project. A cron
job runs from the live image through the real Celery worker, its output recorded and its
secrets hidden.
"""

from __future__ import annotations

import pytest
import redis

from builds import deletion
from builds import docker as docker_seam
from builds import services as build_services
from builds.installation import project_labels
from builds.models import Build
from builds.pipeline import fence
from builds.pipeline.run import free_port
from deployer.celery import task
from processes import cron_jobs, services
from processes.models import CronRun, Process
from projects import services as project_services
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import build_log, deploy, wait_for_build, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

# A Redis client in a few lines of the protocol, so the app needs no package for it.
WORKER = """\
import os, socket

VERSION = "v1"
sock = socket.create_connection((os.environ["QUEUE_HOST"], 6379))
replies = sock.makefile("rb")


def reply():
    line = replies.readline().rstrip(b"\\r\\n")
    kind, rest = line[:1], line[1:]
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b"$":
        return None if int(rest) < 0 else replies.read(int(rest) + 2)[:-2].decode()
    if kind == b"*":
        return None if int(rest) < 0 else [reply() for _ in range(int(rest))]
    return rest.decode()


def call(*parts):
    sock.sendall(
        f"*{len(parts)}\\r\\n".encode()
        + b"".join(f"${len(p.encode())}\\r\\n{p}\\r\\n".encode() for p in parts)
    )
    return reply()


print(f"worker {VERSION} pid {os.getpid()}", flush=True)
call("RPUSH", "started", f"{VERSION}:{os.getpid()}")
while True:
    item = call("BLPOP", "jobs", "2")
    if item:
        call("RPUSH", "done", f"{VERSION}:{item[1]}:{os.environ.get('GREETING', 'none')}")
"""

APP = {
    **FLASK_APP,
    "worker.py": WORKER,
    "Procfile": "web: gunicorn app:app --bind 0.0.0.0:$PORT\nworker: exec python worker.py\n",
}


@pytest.fixture
def queue(docker_client):
    """`queue(slug)`: a real Redis on the project's network, and a client to it from here."""

    def start(slug: str) -> redis.Redis:
        network = fence.ensure_network(docker_client, slug, project_labels(slug))
        port = free_port()
        docker_client.containers.run(
            "redis:7.0",
            ["redis-server", "--save", "", "--appendonly", "no"],
            name=f"deployer-{slug}-queue",
            detach=True,
            # Kept by reconciling as an add-on is: it stands in for the Redis add-on.
            labels={**project_labels(slug), docker_seam.LABEL_ROLE: "addon"},
            network=network,
            ports={"6379/tcp": ("127.0.0.1", port)},
        )
        client = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
        wait_until(lambda: _pings(client), timeout=30)
        return client

    return start


def _pings(client: redis.Redis) -> bool:
    """the test's Redis answers"""
    try:
        return client.ping()
    except redis.RedisError:
        return False


def _container_of(process: Process, docker_client):
    return docker_client.containers.get(process.container_id)


def _done(client: redis.Redis, expected: str) -> bool:
    return expected in client.lrange("done", 0, -1)


def test_a_worker_consumes_a_queue_survives_a_crash_and_is_replaced_on_redeploy(
    celery_worker, git_repo, make_project, docker_client, queue
):
    repo = git_repo(APP)
    project = make_project(repo, env={"GREETING": "hello-worker"})
    project_services.add_env_var(project, "QUEUE_HOST", f"deployer-{project.slug}-queue")
    jobs = queue(project.slug)

    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason + build_log(first)
    assert first.plan["processes"] == {"worker": "exec python worker.py"}
    worker = wait_until(
        lambda: Process.objects.filter(build=first, name="worker", state="running").first(),
        timeout=60,
    )
    container = _container_of(worker, docker_client)
    assert container.labels[docker_seam.LABEL_PROCESS] == "worker"
    assert container.labels[docker_seam.LABEL_ROLE] == "process"
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert container.attrs["HostConfig"]["NetworkMode"] == fence.network_name(project.slug)
    assert container.attrs["HostConfig"]["CapDrop"] == ["ALL"]

    # It consumes the queue, with the project's environment.
    jobs.rpush("jobs", "a")
    wait_until(lambda: _done(jobs, "v1:a:hello-worker"), timeout=60)

    # Its process is killed: the engine starts it again and it goes on consuming.
    pid = wait_until(lambda: jobs.lindex("started", 0), timeout=30).split(":")[1]
    assert (
        docker_seam.run_in(
            docker_client, worker.container_id, ["sh", "-c", f"kill -9 {pid}"]
        ).exit_code
        == 0
    )
    wait_until(lambda: jobs.llen("started") >= 2, timeout=60)
    services.observe_processes()
    worker.refresh_from_db()
    assert worker.restart_count >= 1 and worker.state == "running"
    jobs.rpush("jobs", "b")
    wait_until(lambda: _done(jobs, "v1:b:hello-worker"), timeout=60)

    # A redeploy: the new build's worker starts after the web switch, the old one goes.
    repo.commit({"worker.py": WORKER.replace('VERSION = "v1"', 'VERSION = "v2"')}, "v2")
    second = deploy(project)
    assert second.state == Build.State.LIVE, second.failure_reason + build_log(second)
    wait_until(lambda: any(s.startswith("v2:") for s in jobs.lrange("started", 0, -1)), timeout=60)
    wait_until(lambda: Process.objects.filter(pk=worker.pk, state="stopped").exists(), timeout=60)
    assert Process.objects.get(pk=worker.pk).stop_reason == f"Replaced by build #{second.pk}."
    with pytest.raises(Exception):  # noqa: B017 - docker's NotFound: the old container is gone
        docker_client.containers.get(worker.container_id)
    jobs.rpush("jobs", "c")
    wait_until(lambda: _done(jobs, "v2:c:hello-worker"), timeout=60)

    # Reconciling with the engine leaves the live build's worker alone.
    new_worker = Process.objects.get(build=second, state="running")
    build_services.reconcile_with_engine()
    assert _container_of(new_worker, docker_client).status == "running"

    # A rollback runs the process types of the rolled-back build's plan.
    rollback = wait_for_build(build_services.request_rollback(project, first))
    assert rollback.state == Build.State.LIVE, rollback.failure_reason
    wait_until(lambda: jobs.lrange("started", -1, -1)[0].startswith("v1:"), timeout=60)
    # The v2 worker stops once the v1 one runs; until then either may take a job.
    wait_until(
        lambda: Process.objects.filter(pk=new_worker.pk, state="stopped").exists(), timeout=60
    )
    jobs.rpush("jobs", "d")
    wait_until(lambda: _done(jobs, "v1:d:hello-worker"), timeout=60)

    # Deleting the project removes its process containers.
    deletion.delete_project(project)
    labelled = f"{docker_seam.LABEL_PROJECT}={project.slug}"
    assert not [
        c
        for c in docker_seam.containers(docker_client, labelled)
        if c.labels.get(docker_seam.LABEL_ROLE) == "process"
    ]


def test_a_cron_job_runs_from_the_live_image_and_its_run_is_recorded(
    celery_worker, git_repo, make_project
):
    project = make_project(git_repo(FLASK_APP), env={"SECRET_TOKEN": "s3cr3t-t0k3n-value"})
    build = deploy(project)
    assert build.state == Build.State.LIVE, build.failure_reason + build_log(build)
    job = cron_jobs.create_job(
        project,
        name="report",
        schedule="* * * * *",
        command="python -c \"import flask; print('cron ran with flask', flask.__name__)\"; "
        'echo "token=$SECRET_TOKEN"; exit 3',
    )

    # Due every minute: the tick sends it to the real worker.
    assert cron_jobs.tick() == [job.pk]
    run = wait_until(
        lambda: CronRun.objects.filter(job=job, finished_at__isnull=False).first(), timeout=120
    )

    assert (run.state, run.exit_code, run.build_id) == ("failed", 3, build.pk)
    assert "cron ran with flask flask" in run.output
    assert "token=********" in run.output and "s3cr3t-t0k3n-value" not in run.output

    # Run now, a second time: recorded apart; the one-off containers are gone.
    task("processes.tasks.run_cron_job").delay(job.pk, None)
    wait_until(lambda: job.runs.filter(finished_at__isnull=False).count() == 2, timeout=120)
    with docker_seam.client() as client:
        assert not [
            c
            for c in docker_seam.containers(client, f"{docker_seam.LABEL_PROJECT}={project.slug}")
            if c.labels.get(docker_seam.LABEL_ROLE) == "cron"
        ]
