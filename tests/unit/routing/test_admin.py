from __future__ import annotations

import pytest
from django.urls import reverse

from routing.models import Domain

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_user(
        username="root", password="correct horse battery", is_staff=True, is_superuser=True
    )
    client.force_login(admin)
    return client


def test_admin_adds_a_domain_under_the_same_rules(admin_client, project, fake_caddy):
    url = reverse("admin:routing_domain_add")

    refused = admin_client.post(url, {"project": project.pk, "hostname": "blog.apps.example.net"})
    added = admin_client.post(url, {"project": project.pk, "hostname": "WWW.Shop.com"})

    assert refused.status_code == 200
    assert "projects&#x27; own addresses" in refused.content.decode()
    assert added.status_code == 302
    assert list(Domain.objects.values_list("hostname", flat=True)) == ["www.shop.com"]


def test_admin_lists_and_deletes_domains(admin_client, project, fake_caddy):
    domain = Domain.objects.create(
        project=project, hostname="www.shop.com", state=Domain.State.VERIFIED
    )

    listing = admin_client.get(reverse("admin:routing_domain_changelist"))
    deleted = admin_client.post(
        reverse("admin:routing_domain_delete", args=[domain.pk]), {"post": "yes"}
    )

    assert "www.shop.com" in listing.content.decode()
    assert deleted.status_code == 302
    assert not Domain.objects.exists()


def test_admin_action_reconciles_routes(admin_client, project, make_live, fake_caddy):
    make_live(project, 32801)
    domain = Domain.objects.create(
        project=project, hostname="www.shop.com", state=Domain.State.VERIFIED
    )

    response = admin_client.post(
        reverse("admin:routing_domain_changelist"),
        {"action": "reconcile_routes", "_selected_action": [domain.pk]},
        follow=True,
    )

    assert "Caddy&#x27;s routes updated: 1 route(s)." in response.content.decode()
    assert fake_caddy.hosts_to_ports()["www.shop.com"] == 32801


def test_admin_adds_domains_pending_and_proves_them_only_through_the_check(
    admin_client, project, fake_caddy, local_dns
):
    admin_client.post(
        reverse("admin:routing_domain_add"), {"project": project.pk, "hostname": "www.shop.com"}
    )
    domain = Domain.objects.get()
    assert domain.state == Domain.State.PENDING
    local_dns.add(domain.challenge_name, "TXT", domain.token)

    response = admin_client.post(
        reverse("admin:routing_domain_changelist"),
        {"action": "check_now", "_selected_action": [domain.pk]},
        follow=True,
    )

    shown = [str(message) for message in response.context["messages"]]
    assert "www.shop.com: The TXT record _deployer-challenge.www.shop.com holds the token." in shown
    assert Domain.objects.get().state == Domain.State.VERIFIED
