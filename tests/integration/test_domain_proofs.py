"""Custom domains are proven before a real Caddy routes them to the app.

A local DNS server on 127.0.0.1 (tests/dnsserver.py) stands in for the domain's DNS, through
DEPLOYER_DNS_NAMESERVERS / DEPLOYER_DNS_PORT; the router's address is 127.0.0.1 and its HTTP
port the Caddy port of the settings. Proofs run in the test process, as from the page.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from builds.models import Build
from routing import services
from routing.models import Domain
from routing.tasks import check_pending_domains
from tests.dnsserver import LocalDNS
from tests.integration.conftest import deploy
from tests.integration.test_routing import flask_app, router, through_caddy, wait_for_answer

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["router"]  # the fixture, imported for its use here


@pytest.fixture
def local_dns(settings):
    with LocalDNS() as server:
        settings.DEPLOYER_DNS_NAMESERVERS = ["127.0.0.1"]
        settings.DEPLOYER_DNS_PORT = server.port
        settings.DEPLOYER_DOMAIN_CHECK_TIMEOUT = 3.0
        settings.DEPLOYER_ROUTER_ADDRESSES = ["127.0.0.1"]
        settings.DEPLOYER_ROUTER_HTTP_PORT = settings.DEPLOYER_HTTP_PORT
        yield server


@pytest.fixture
def live_project(router, celery_worker, git_repo, make_project):
    project = make_project(git_repo(flask_app(1)))
    assert deploy_live(project)
    wait_for_answer(project.app_host, "hello from v1")
    return project


def deploy_live(project) -> bool:
    return deploy(project).state == Build.State.LIVE


def test_pending_domain_is_not_routed_until_its_http_token_is_proven(live_project, local_dns):
    hostname = f"www.{live_project.slug}.example.test"
    domain = services.add_domain(live_project, hostname)

    assert through_caddy(hostname) == (404, f"No app is deployed at {hostname}.\n")
    assert through_caddy(hostname, "/anything") == (404, f"No app is deployed at {hostname}.\n")
    assert through_caddy(hostname, domain.challenge_path) == (200, domain.token)
    assert through_caddy(hostname, "/.well-known/deployer-challenge/" + "0" * 32)[0] == 404

    local_dns.add(hostname, "A", "127.0.0.1")
    result = services.check_domain(domain, "http")

    assert result.ok, result.reason
    assert Domain.objects.get(pk=domain.pk).state == Domain.State.VERIFIED
    wait_for_answer(hostname, "hello from v1")
    assert through_caddy(live_project.app_host) == (200, "hello from v1")


def test_http_proof_fails_while_the_name_points_elsewhere(live_project, local_dns):
    hostname = f"www.{live_project.slug}.example.test"
    domain = services.add_domain(live_project, hostname)
    local_dns.add(hostname, "A", "127.0.0.2")

    result = services.check_domain(domain, "http")

    assert result.reason == f"{hostname} must resolve only to this server (127.0.0.1)."
    assert Domain.objects.get(pk=domain.pk).state == Domain.State.PENDING
    assert through_caddy(hostname)[0] == 404


def test_dns_txt_proof_routes_the_domain_and_a_wrong_token_does_not(live_project, local_dns):
    right = services.add_domain(live_project, f"api.{live_project.slug}.example.test")
    wrong = services.add_domain(live_project, f"www.{live_project.slug}.example.test")
    local_dns.add(right.challenge_name, "TXT", right.token)
    local_dns.add(wrong.challenge_name, "TXT", right.token)  # another domain's token

    result = check_pending_domains()  # the beat task, run here against the local DNS

    assert result == {"verified": 1, "pending": 1, "expired": 0}
    wait_for_answer(right.hostname, "hello from v1")
    wrong.refresh_from_db()
    assert wrong.state == Domain.State.PENDING
    assert wrong.last_check_reason == (
        f"The TXT record {wrong.challenge_name} does not hold this domain's token."
    )
    assert through_caddy(wrong.hostname) == (404, f"No app is deployed at {wrong.hostname}.\n")


def test_dashboard_host_and_another_projects_address_are_refused(
    live_project, make_project, git_repo, settings
):
    settings.DEPLOYER_DASHBOARD_HOST = "deploy.example.test"
    intruder = make_project(git_repo(flask_app(2)))

    for hostname, message in [
        ("deploy.example.test", "deploy.example.test is the dashboard's own address"),
        (live_project.app_host, f"Names under {settings.DEPLOYER_BASE_DOMAIN.lower()} are"),
    ]:
        with pytest.raises(ValidationError) as caught:
            services.add_domain(intruder, hostname)
        assert caught.value.message_dict["hostname"][0].startswith(message)

    assert not Domain.objects.exists()
    assert through_caddy(live_project.app_host) == (200, "hello from v1")
