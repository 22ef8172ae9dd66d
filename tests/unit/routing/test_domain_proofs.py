"""Claiming, proving and the periodic retry of custom domains (routing.services)."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import timezone

from projects import services as project_services
from routing import services, tasks
from routing.models import Domain

pytestmark = pytest.mark.django_db

migration = import_module("routing.migrations.0002_domain_proof")


@pytest.fixture
def blog(other_user):
    return project_services.create_project(other_user, slug="blog", repo_url="https://e.com/a/b")


def _hostname_errors(call) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict["hostname"]


def test_a_domain_pending_in_another_project_is_refused(project, blog, fake_caddy):
    services.add_domain(blog, "www.example.com")

    assert _hostname_errors(lambda: services.add_domain(project, "www.example.com")) == [
        services.TAKEN
    ]
    assert Domain.objects.get().project == blog


def test_the_same_domain_twice_in_one_project_says_so(project, fake_caddy):
    services.add_domain(project, "www.example.com")

    assert _hostname_errors(lambda: services.add_domain(project, "WWW.example.com")) == [
        "www.example.com is already one of this project's domains."
    ]


def test_another_projects_default_address_is_refused(project, blog, fake_caddy):
    errors = _hostname_errors(lambda: services.add_domain(project, "blog.apps.example.net"))

    assert errors[0].startswith("Names under apps.example.net are the projects' own addresses")
    assert not Domain.objects.exists()


def test_the_dashboard_host_is_refused(project, fake_caddy, settings):
    settings.DEPLOYER_DASHBOARD_HOST = "deploy.example.net"

    errors = _hostname_errors(lambda: services.add_domain(project, "deploy.example.net"))

    assert errors == [
        "deploy.example.net is the dashboard's own address (DEPLOYER_DASHBOARD_HOST / "
        "ALLOWED_HOSTS); a project cannot claim it."
    ]


def test_a_name_under_the_apps_own_address_needs_no_proof(
    project, make_live, fake_caddy, django_capture_on_commit_callbacks
):
    make_live(project, 32801)

    with django_capture_on_commit_callbacks(execute=True):
        domain = services.add_domain(project, "www.shop.apps.example.net")

    assert domain.state == Domain.State.VERIFIED
    assert fake_caddy.hosts_to_ports()["www.shop.apps.example.net"] == 32801


def test_a_passed_dns_proof_verifies_and_routes_the_domain(
    project, make_live, fake_caddy, local_dns, django_capture_on_commit_callbacks
):
    make_live(project, 32801)
    domain = services.add_domain(project, "www.example.com")
    local_dns.add("_deployer-challenge.www.example.com", "TXT", domain.token)

    with django_capture_on_commit_callbacks(execute=True):
        result = services.check_domain(domain, "dns")

    assert result.ok
    domain.refresh_from_db()
    assert domain.state == Domain.State.VERIFIED and domain.verified_at is not None
    assert domain.last_check_reason == result.reason
    assert fake_caddy.hosts_to_ports()["www.example.com"] == 32801
    assert "www.example.com" not in fake_caddy.challenges()


def test_a_failed_proof_keeps_the_domain_pending_with_the_reason(
    project, make_live, fake_caddy, local_dns, django_capture_on_commit_callbacks
):
    make_live(project, 32801)
    domain = services.add_domain(project, "www.example.com")
    local_dns.add("_deployer-challenge.www.example.com", "TXT", "not-the-token")

    with django_capture_on_commit_callbacks(execute=True):
        result = services.check_domain(domain, "dns")

    domain.refresh_from_db()
    assert domain.state == Domain.State.PENDING
    assert (
        domain.last_check_reason
        == result.reason
        == ("The TXT record _deployer-challenge.www.example.com does not hold this domain's token.")
    )
    assert domain.last_checked_at is not None
    assert "www.example.com" not in fake_caddy.hosts_to_ports()


def test_under_another_projects_verified_domain_only_dns_proves_a_name(
    project, blog, fake_caddy, local_dns, settings
):
    settings.DEPLOYER_ROUTER_ADDRESSES = ["127.0.0.1"]
    Domain.objects.create(project=blog, hostname="example.com", state=Domain.State.VERIFIED)
    local_dns.add("shop.example.com", "A", "127.0.0.1")  # e.g. blog's wildcard at the router
    domain = services.add_domain(project, "shop.example.com")

    result = services.check_domain(domain, "http")

    assert not result.ok
    assert result.reason == (
        "shop.example.com is under a domain another project verified: prove it with the DNS TXT "
        "record _deployer-challenge.shop.example.com."
    )
    assert local_dns.queries == []  # refused before anything was looked up or fetched
    local_dns.add("_deployer-challenge.shop.example.com", "TXT", domain.token)
    assert services.check_domain(domain, "dns").ok


def test_the_periodic_check_verifies_pending_domains_and_drops_stale_ones(
    project, fake_caddy, local_dns, settings
):
    settings.DEPLOYER_DOMAIN_PENDING_DAYS = 7
    proven = services.add_domain(project, "www.example.com")
    waiting = services.add_domain(project, "api.example.com")
    stale = services.add_domain(project, "old.example.com")
    Domain.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(days=8))
    local_dns.add("_deployer-challenge.www.example.com", "TXT", proven.token)

    result = tasks.check_pending_domains()

    assert result == {"verified": 1, "pending": 1, "expired": 1}
    assert Domain.objects.get(pk=proven.pk).state == Domain.State.VERIFIED
    assert Domain.objects.get(pk=waiting.pk).last_check_reason == (
        "There is no DNS record _deployer-challenge.api.example.com."
    )
    assert not Domain.objects.filter(pk=stale.pk).exists()


def test_upgrade_keeps_existing_domains_verified_each_with_its_own_token(project):
    """The data migration: domains routed before proofs existed stay routed."""
    Domain.objects.create(project=project, hostname="a.example.com", token="same")
    Domain.objects.create(project=project, hostname="b.example.com", token="same")

    migration.keep_existing_verified(apps, None)

    domains = list(Domain.objects.all())
    assert {d.state for d in domains} == {Domain.State.VERIFIED}
    assert len({d.token for d in domains}) == 2
    assert domains[0].last_check_reason == migration.KEPT
