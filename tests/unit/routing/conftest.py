from __future__ import annotations

import pytest

from builds.models import Build, Deployment
from projects import services as project_services
from routing import caddy
from tests.dnsserver import LocalDNS


@pytest.fixture
def project(user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git"
    )


@pytest.fixture
def make_live():
    """`make_live(project, port)`: a live deployment of the project on 127.0.0.1:`port`."""

    def make(project, port: int) -> Deployment:
        build = Build.objects.create(project=project, state=Build.State.LIVE)
        Deployment.objects.filter(project=project, state=Deployment.State.LIVE).update(
            state=Deployment.State.SUPERSEDED
        )
        return Deployment.objects.create(
            project=project,
            build=build,
            container_id=f"c{port}",
            host_port=port,
            state=Deployment.State.LIVE,
        )

    return make


class FakeCaddy:
    """Caddy's admin API at the seam: a config tree in memory, and the writes it received."""

    def __init__(self) -> None:
        self.config: dict = {}
        self.writes: list[str] = []
        self.down = False

    def get(self, path: str):
        self._check()
        node = self.config
        for key in path.split("/"):
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def put(self, path: str, value) -> None:
        self._check()
        *parents, last = path.split("/")
        node = self.config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
        self.writes.append(path)

    def challenges(self) -> dict[str, tuple[str, str]]:
        """Host: (challenge path, body) of every static challenge route."""
        answer = {}
        for route in (self.server() or {}).get("routes", []):
            if route.get("@id", "").startswith("deployer.challenge."):
                match = route["match"][0]
                answer[match["host"][0]] = (match["path"][0], route["handle"][0]["body"])
        return answer

    def server(self) -> dict | None:
        return self.get("apps/http/servers/deployer")

    def hosts_to_ports(self) -> dict[str, int]:
        answer = {}
        for route in (self.server() or {}).get("routes", []):
            handler = route["handle"][0]
            if not route.get("match") or handler["handler"] != "reverse_proxy":
                continue
            dial = route["handle"][0]["upstreams"][0]["dial"]
            for host in route["match"][0]["host"]:
                answer[host] = int(dial.rsplit(":", 1)[1])
        return answer

    def _check(self) -> None:
        if self.down:
            raise caddy.CaddyUnavailable(
                "Caddy's admin API at http://127.0.0.1:2019 is not answering"
            )


@pytest.fixture
def fake_caddy(monkeypatch) -> FakeCaddy:
    fake = FakeCaddy()
    monkeypatch.setattr(caddy, "get", fake.get)
    monkeypatch.setattr(caddy, "put", fake.put)
    return fake


@pytest.fixture(autouse=True)
def _routing_settings(settings):
    settings.DEPLOYER_BASE_DOMAIN = "apps.example.net"
    settings.DEPLOYER_HTTP_PORT = 8080
    settings.DEPLOYER_HTTP_BIND = "127.0.0.1"
    settings.DEPLOYER_HTTPS = False
    settings.DEPLOYER_DASHBOARD_HOST = ""
    settings.DEPLOYER_ROUTER_ADDRESSES = ["127.0.0.1"]


@pytest.fixture
def local_dns(settings):
    """A DNS server on 127.0.0.1 that Deployer's resolver asks instead of the system's."""
    with LocalDNS() as server:
        settings.DEPLOYER_DNS_NAMESERVERS = ["127.0.0.1"]
        settings.DEPLOYER_DNS_PORT = server.port
        settings.DEPLOYER_DOMAIN_CHECK_TIMEOUT = 2.0
        yield server
