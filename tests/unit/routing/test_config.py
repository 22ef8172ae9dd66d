"""Caddy's server config is a pure function of projects, live deployments and domains."""

from __future__ import annotations

from types import SimpleNamespace as Row

from routing import config
from routing.config import Listener, Site


def _project(pk: int, slug: str):
    return Row(pk=pk, slug=slug)


def _live(project_id: int, port: int | None):
    return Row(project_id=project_id, host_port=port)


def _domain(project_id: int, hostname: str, state: str = "verified", token: str = "t0k3n"):
    return Row(project_id=project_id, hostname=hostname, state=state, token=token)


def _sites(projects, live, domains=()):
    return config.sites_from(projects, live, domains, base_domain="apps.example.net")


def test_each_live_project_gets_one_route_for_its_address_and_its_domains():
    sites = _sites(
        [_project(1, "shop"), _project(2, "blog")],
        [_live(1, 32801), _live(2, 32802)],
        [_domain(1, "www.shop.com"), _domain(1, "shop.com")],
    )

    assert sites == [
        Site("blog", ("blog.apps.example.net",), 32802),
        Site("shop", ("shop.apps.example.net", "shop.com", "www.shop.com"), 32801),
    ]


def test_project_without_a_live_deployment_gets_no_route():
    sites = _sites([_project(1, "shop"), _project(2, "draft")], [_live(1, 32801)])

    assert [site.slug for site in sites] == ["shop"]


def test_live_deployment_without_a_published_port_gets_no_route():
    assert _sites([_project(1, "shop")], [_live(1, None)]) == []


def test_route_proxies_the_hosts_to_the_loopback_port_and_retries_while_it_switches():
    server = config.server_config([Site("shop", ("shop.apps.example.net",), 32801)], Listener())

    route = server["routes"][0]
    assert route["@id"] == "deployer-shop"
    assert route["match"] == [{"host": ["shop.apps.example.net"]}]
    assert route["terminal"] is True
    (handler,) = route["handle"]
    assert handler["handler"] == "reverse_proxy"
    assert handler["upstreams"] == [{"dial": "127.0.0.1:32801"}]
    assert handler["load_balancing"] == {"try_duration": "5s", "try_interval": "100ms"}


def test_last_route_answers_404_for_any_other_host():
    server = config.server_config([Site("shop", ("shop.apps.example.net",), 32801)], Listener())

    fallback = server["routes"][-1]
    assert "match" not in fallback
    assert fallback["handle"][0]["handler"] == "static_response"
    assert fallback["handle"][0]["status_code"] == 404


def test_development_listener_is_plain_http_on_loopback():
    server = config.server_config([], Listener(bind="127.0.0.1", http_port=8080, https=False))

    assert server["listen"] == ["127.0.0.1:8080"]
    assert server["automatic_https"] == {"disable": True}


def test_https_listener_leaves_automatic_https_on():
    server = config.server_config([], Listener(bind="", http_port=80, https=True))

    assert server["listen"] == [":443"]
    assert "automatic_https" not in server


def test_dashboard_host_gets_its_route_first():
    listener = Listener(dashboard_host="deploy.example.net", dashboard_upstream="127.0.0.1:8000")

    server = config.server_config([Site("shop", ("shop.apps.example.net",), 32801)], listener)

    assert [route["@id"] for route in server["routes"]] == [
        "deployer.dashboard",
        "deployer-shop",
        "deployer.not-found",
    ]
    assert server["routes"][0]["handle"][0]["upstreams"] == [{"dial": "127.0.0.1:8000"}]


def test_same_state_gives_the_same_config_whatever_the_query_order():
    projects = [_project(1, "shop"), _project(2, "blog")]
    live = [_live(1, 32801), _live(2, 32802)]
    domains = [_domain(1, "b.shop.com"), _domain(1, "a.shop.com")]

    first = config.server_config(_sites(projects, live, domains), Listener())
    second = config.server_config(_sites(projects[::-1], live[::-1], domains[::-1]), Listener())

    assert first == second


def test_upstream_port_reads_a_projects_route_back():
    server = config.server_config([Site("shop", ("shop.apps.example.net",), 32801)], Listener())

    assert config.upstream_port(server, "shop") == 32801
    assert config.upstream_port(server, "blog") is None
    assert config.upstream_port(None, "shop") is None


def test_pending_domain_is_not_routed_to_the_app():
    sites = _sites(
        [_project(1, "shop")],
        [_live(1, 32801)],
        [_domain(1, "www.shop.com", state="pending"), _domain(1, "shop.com")],
    )

    assert sites == [Site("shop", ("shop.apps.example.net", "shop.com"), 32801)]


def test_pending_domain_gets_only_its_challenge_route_answering_the_token():
    domains = [_domain(1, "www.shop.com", state="pending", token="abc123"), _domain(1, "shop.com")]
    server = config.server_config([], Listener(), config.challenges_from(domains))

    challenge, not_found = server["routes"]
    assert challenge == {
        "@id": "deployer.challenge.www.shop.com",
        "match": [{"host": ["www.shop.com"], "path": ["/.well-known/deployer-challenge/abc123"]}],
        "handle": [
            {
                "handler": "static_response",
                "status_code": 200,
                "headers": {"Content-Type": ["text/plain; charset=utf-8"]},
                "body": "abc123",
            }
        ],
        "terminal": True,
    }
    assert not_found["@id"] == config.NOT_FOUND_ROUTE_ID


def test_with_https_pending_domains_stay_out_of_the_config():
    """Caddy requests a certificate for every host it is given: not for unproven names."""
    domains = [_domain(1, "www.shop.com", state="pending")]
    server = config.server_config([], Listener(https=True), config.challenges_from(domains))

    assert [route["@id"] for route in server["routes"]] == [config.NOT_FOUND_ROUTE_ID]


def test_caddys_initial_config_is_the_workers_server_with_no_site():
    initial = config.initial_config(
        "127.0.0.1:2019", "/srv/caddy", config.Listener(bind="0.0.0.0", http_port=80)
    )

    server = initial["apps"]["http"]["servers"][config.SERVER_NAME]
    assert server == config.server_config([], config.Listener(bind="0.0.0.0", http_port=80))
    assert [route["@id"] for route in server["routes"]] == [config.NOT_FOUND_ROUTE_ID]
    assert initial["admin"] == {"listen": "127.0.0.1:2019", "config": {"persist": True}}
    assert initial["storage"]["root"] == "/srv/caddy"
