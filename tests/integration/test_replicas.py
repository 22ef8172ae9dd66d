"""N web replicas behind the real Caddy: each health-checked, all listed as the route's
upstreams, all retired after a redeploy, and no request failed while it went on."""

from __future__ import annotations

import time

import pytest

from builds import docker as docker_seam
from builds import services as build_services
from builds.models import Build, Deployment
from routing import caddy, config
from tests.integration.apps import FLASK_APP
from tests.integration.conftest import build_log, deploy, http_get, wait_until
from tests.integration.test_routing import Load, through_caddy, wait_for_answer

pytestmark = pytest.mark.django_db(transaction=True)


def app(version: int) -> dict[str, str]:
    return {
        **FLASK_APP,
        "app.py": FLASK_APP["app.py"].replace("from v1", f"from v{version}")
        + "\n\n@app.get('/who')\ndef who():\n    import socket\n    return socket.gethostname()\n",
    }


def _live(project) -> list[Deployment]:
    return list(project.deployments.filter(state="live").order_by("replica"))


@pytest.fixture(scope="module")
def router():
    from tests.integration.test_routing import start_caddy

    start_caddy()


def test_two_replicas_serve_behind_caddy_and_a_redeploy_drops_no_request(
    router, celery_worker, git_repo, make_project, docker_client
):
    repo = git_repo(app(1))
    project = make_project(repo, web_replicas=2)

    first = deploy(project)
    assert first.state == Build.State.LIVE, first.failure_reason + build_log(first)
    old = _live(project)
    assert [d.replica for d in old] == [0, 1]
    assert {d.build_id for d in old} == {first.pk}
    log = build_log(first)
    assert log.count("Started container deployer-") == 2
    assert log.count(") answered 200 after") == 2  # each replica passed its own check
    # Each replica answers on its own loopback port; the route lists both.
    for deployment in old:
        assert http_get(deployment.host_port) == (200, "hello from v1")
    server = caddy.get(config.SERVER_PATH)
    assert config.upstream_ports(server, project.slug) == [d.host_port for d in old]
    wait_for_answer(project.app_host, "hello from v1")
    served_by = {through_caddy(project.app_host, "/who")[1] for _ in range(40)}
    assert len(served_by) == 2  # Caddy spreads requests over both

    # Reconciling with the engine keeps every live replica.
    build_services.reconcile_with_engine()
    assert all(docker_client.containers.get(d.container_id).status == "running" for d in old)

    with Load(project.app_host) as load:
        repo.commit({"app.py": app(2)["app.py"]}, "v2")
        second = deploy(project)
        assert second.state == Build.State.LIVE, second.failure_reason + build_log(second)
        wait_for_answer(project.app_host, "hello from v2")
        time.sleep(1)

    # Same bound as the one-replica redeploy test (test_routing): a reset at the very instant
    # Caddy swaps its listener is the kernel's, not the switch's.
    assert load.failures_besides_resets(at_most=1) == []
    assert sum(load.bodies.values()) > 30
    assert set(load.bodies) <= {"hello from v1", "hello from v2"}
    new = _live(project)
    assert [d.replica for d in new] == [0, 1] and {d.build_id for d in new} == {second.pk}
    assert config.upstream_ports(caddy.get(config.SERVER_PATH), project.slug) == [
        d.host_port for d in new
    ]

    # Both old replicas are retired after the drain.
    def old_gone() -> bool:
        """the previous build's replicas were removed"""
        ids = {d.container_id for d in old}
        return not [
            c
            for c in docker_seam.containers(docker_client, f"org.deployer.project={project.slug}")
            if c.id in ids
        ]

    wait_until(old_gone, timeout=60)
    assert set(
        Deployment.objects.filter(pk__in=[d.pk for d in old]).values_list("state", flat=True)
    ) == {"superseded"}
