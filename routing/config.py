"""Caddy's config for Deployer's server, as a pure function of what should be served.

One route per project with a live deployment, matching its own address and its verified
custom domains, proxying to the container's port published on 127.0.0.1. A pending custom
domain is never routed to the app: it gets only a route answering its challenge token at
/.well-known/deployer-challenge/<token> (plain HTTP only: with HTTPS on, Caddy would request
a certificate for every host in the config, so pending names stay out of it). A last route
answers 404 for every other host and path, rather than Caddy's default empty 200.

With an access log path set, the server logs every request as one JSON line to that file
(`access_logging`), which monitoring.accesslog reads for each app's requests and latency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SERVER_NAME = "deployer"
SERVER_PATH = f"apps/http/servers/{SERVER_NAME}"
LOGGING_PATH = "logging"
ROUTE_ID_PREFIX = "deployer-"
# Dots never appear in project names, so these ids cannot collide with a project's.
DASHBOARD_ROUTE_ID = "deployer.dashboard"
NOT_FOUND_ROUTE_ID = "deployer.not-found"
CHALLENGE_ROUTE_ID_PREFIX = "deployer.challenge."
CHALLENGE_PATH = "/.well-known/deployer-challenge/"
VERIFIED = "verified"  # routing.models.Domain.State.VERIFIED
# A request that reaches an upstream which refuses the connection (a container starting or
# stopping) is retried for this long instead of failing at once.
TRY_DURATION = "5s"
TRY_INTERVAL = "100ms"
# The server's access log entries go to the logger "http.log.access.<this>", which is written
# to the access log file alone (not to Caddy's own log).
ACCESS_LOGGER = f"http.log.access.{SERVER_NAME}"
ACCESS_LOG_NAME = "deployer-access"
# Caddy rolls the file over past this size, keeping this many old ones.
ACCESS_LOG_ROLL_MB = 20
ACCESS_LOG_ROLL_KEEP = 2


@dataclass(frozen=True)
class Site:
    """What one project serves: its hosts, and the loopback port its live container listens
    on (`port`), with those of its other web replicas (`more_ports`), all upstreams of its route."""

    slug: str
    hosts: tuple[str, ...]
    port: int
    more_ports: tuple[int, ...] = ()

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, *self.more_ports)


@dataclass(frozen=True)
class Challenge:
    """A pending custom domain: the host, and the token its challenge path answers."""

    host: str
    token: str


@dataclass(frozen=True)
class Listener:
    """Where Caddy's server listens, and whether it serves HTTPS (from the DEPLOYER_ settings)."""

    bind: str = "127.0.0.1"
    http_port: int = 8080
    https: bool = False
    dashboard_host: str = ""
    dashboard_upstream: str = ""
    access_log: str = ""  # the access log file; "" logs no requests


def route_id(slug: str) -> str:
    return f"{ROUTE_ID_PREFIX}{slug}"


def sites_from(projects, live_deployments, domains, *, base_domain: str) -> list[Site]:
    """Join what the database holds: projects, their live deployments, their custom domains.

    Projects without a live deployment (or whose container has no published port) get no
    route: their hosts fall through to the 404 route. Only verified custom domains are routed.
    """
    ports: dict[int, list[int]] = {}
    # The primary replica first (rows without a replica number are primaries).
    by_replica = sorted(
        live_deployments, key=lambda d: (getattr(d, "replica", 0), d.host_port or 0)
    )
    for deployment in by_replica:
        if deployment.host_port:
            ports.setdefault(deployment.project_id, []).append(deployment.host_port)
    extra_hosts: dict[int, list[str]] = {}
    for domain in domains:
        if domain.state != VERIFIED:
            continue
        extra_hosts.setdefault(domain.project_id, []).append(domain.hostname)
    sites = [
        Site(
            slug=project.slug,
            hosts=(f"{project.slug}.{base_domain}", *sorted(extra_hosts.get(project.pk, []))),
            port=ports[project.pk][0],
            more_ports=tuple(ports[project.pk][1:]),
        )
        for project in projects
        if project.pk in ports
    ]
    return sorted(sites, key=lambda site: site.slug)


def challenges_from(domains) -> list[Challenge]:
    """The pending custom domains, each with the token its challenge path answers."""
    return sorted(
        (Challenge(d.hostname, d.token) for d in domains if d.state != VERIFIED),
        key=lambda challenge: challenge.host,
    )


def server_config(
    sites: Iterable[Site], listener: Listener, challenges: Iterable[Challenge] = ()
) -> dict:
    """The whole `apps/http/servers/deployer` object: listen addresses, routes, HTTPS policy."""
    routes = []
    if not listener.https:
        routes += [_challenge_route(challenge) for challenge in challenges]
    if listener.dashboard_host and listener.dashboard_upstream:
        routes.append(
            _proxy_route(DASHBOARD_ROUTE_ID, [listener.dashboard_host], listener.dashboard_upstream)
        )
    routes += [
        _proxy_route(
            route_id(site.slug), list(site.hosts), [f"127.0.0.1:{port}" for port in site.ports]
        )
        for site in sites
    ]
    routes.append(NOT_FOUND_ROUTE)
    logs = {"logs": {"default_logger_name": SERVER_NAME}} if listener.access_log else {}
    if listener.https:
        # Caddy obtains certificates for the hosts and adds its own port-80 redirect server.
        return {"listen": [f"{listener.bind}:443"], "routes": routes, **logs}
    return {
        "listen": [f"{listener.bind}:{listener.http_port}"],
        "routes": routes,
        # Any port but 80 would otherwise be taken for HTTPS.
        "automatic_https": {"disable": True},
        **logs,
    }


def access_logging(path: str) -> dict | None:
    """Caddy's `logging` object: the server's access entries as JSON lines in `path`, kept out
    of Caddy's own log; None when no path is set."""
    if not path:
        return None
    return {
        "logs": {
            "default": {"exclude": [ACCESS_LOGGER]},
            ACCESS_LOG_NAME: {
                "writer": {
                    "output": "file",
                    "filename": path,
                    "roll_size_mb": ACCESS_LOG_ROLL_MB,
                    "roll_keep": ACCESS_LOG_ROLL_KEEP,
                },
                "encoder": {"format": "json"},
                "include": [ACCESS_LOGGER],
            },
        }
    }


def projects_by_host(sites: Iterable[Site], project_ids: Mapping[str, int]) -> dict[str, int]:
    """{host: project id} of every routed host: how a request in the access log is attributed."""
    return {host: project_ids[site.slug] for site in sites for host in site.hosts}


def _proxy_route(route_id: str, hosts: list[str], upstreams: str | list[str]) -> dict:
    """A reverse proxy to one upstream or several (web replicas): Caddy picks one at random
    per request and, within the try duration, tries another when one refuses."""
    dials = [upstreams] if isinstance(upstreams, str) else upstreams
    return {
        "@id": route_id,
        "match": [{"host": hosts}],
        "handle": [
            {
                "handler": "reverse_proxy",
                "upstreams": [{"dial": dial} for dial in dials],
                "load_balancing": {"try_duration": TRY_DURATION, "try_interval": TRY_INTERVAL},
            }
        ],
        "terminal": True,
    }


def _challenge_route(challenge: Challenge) -> dict:
    return {
        "@id": f"{CHALLENGE_ROUTE_ID_PREFIX}{challenge.host}",
        "match": [{"host": [challenge.host], "path": [f"{CHALLENGE_PATH}{challenge.token}"]}],
        "handle": [
            {
                "handler": "static_response",
                "status_code": 200,
                "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
                "body": challenge.token,
            }
        ],
        "terminal": True,
    }


NOT_FOUND_ROUTE = {
    "@id": NOT_FOUND_ROUTE_ID,
    "handle": [
        {
            "handler": "static_response",
            "status_code": 404,
            "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
            "body": "No app is deployed at {http.request.host}.\n",
        }
    ],
    "terminal": True,
}


def upstream_port(server: Mapping | None, slug: str) -> int | None:
    """The (first) port a project's route in `server` proxies to; None when it has no route."""
    ports = upstream_ports(server, slug)
    return ports[0] if ports else None


def upstream_ports(server: Mapping | None, slug: str) -> list[int]:
    """Every port a project's route in `server` proxies to (one per web replica)."""
    for route in (server or {}).get("routes") or []:
        if route.get("@id") == route_id(slug):
            upstreams = route["handle"][0]["upstreams"]
            return [int(upstream["dial"].rsplit(":", 1)[1]) for upstream in upstreams]
    return []


def initial_config(admin: str, storage: str, listener: Listener) -> dict:
    """The config Caddy starts with before Deployer sets its routes: the admin endpoint, and
    Deployer's server with no site yet (so every host gets the 404 route)."""
    return {
        "admin": {"listen": admin, "config": {"persist": True}},
        "storage": {"module": "file_system", "root": storage},
        "apps": {"http": {"servers": {SERVER_NAME: server_config([], listener)}}},
    }


if __name__ == "__main__":  # scripts/caddy.sh: python3 -m routing.config ADMIN STORAGE BIND PORT
    import json
    import sys

    admin, storage, bind, port = sys.argv[1:5]
    print(json.dumps(initial_config(admin, storage, Listener(bind=bind, http_port=int(port)))))
