from __future__ import annotations

import pytest
from django.utils import timezone

from builds.models import Build, Deployment
from monitoring import observe
from monitoring.checks import ContainerState, Probe
from projects import services as project_services
from tests.unit.deployer.servers import PUBLIC, fake_dns


@pytest.fixture(autouse=True)
def outbound_reaches_test_receivers(settings, monkeypatch):
    """The test receivers listen on loopback, which Deployer refuses unless the operator allows
    it; the names the tests use resolve to a public address without asking DNS."""
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.0/8", "::1/128"]
    names = ["example.com", "hooks.slack.com", "discord.com", "hooks.example.com"]
    return fake_dns(monkeypatch, {name: [[PUBLIC]] for name in names})


@pytest.fixture
def project(user):
    user.email = "ada@example.com"
    user.save()
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git", memory_limit_mb=256
    )


@pytest.fixture
def live(project):
    """A live deployment (rows only: nothing runs)."""
    build = Build.objects.create(
        project=project, state=Build.State.LIVE, plan={"health_path": "/healthz"}
    )
    return Deployment.objects.create(
        project=project,
        build=build,
        container_id="c0ffee",
        container_name="deployer-shop-1",
        host_port=49999,
        state=Deployment.State.LIVE,
        live_at=timezone.now(),
    )


def running(restarts: int = 0, oom: bool = False) -> ContainerState:
    return ContainerState("running", exit_code=0, oom_killed=oom, restart_count=restarts)


def answered(status: int | None = 200, latency_ms: float = 12.0, detail: str = "OK") -> Probe:
    return Probe(status, detail, latency_ms if status is not None else None)


@pytest.fixture
def observation(live):
    """`observation(container, probe, logs=[])` of the `live` deployment."""

    def make(container=None, probe=None, **extra) -> observe.Observation:
        target = observe.Target(
            deployment_id=live.pk,
            container_id=live.container_id,
            host_port=live.host_port,
            path="/healthz",
            host="shop.localhost",
            known_restarts=0,
        )
        return observe.Observation(target, container, probe, **extra)

    return make
