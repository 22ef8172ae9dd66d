from __future__ import annotations

import pytest
from django.urls import reverse

from projects import services as project_services
from routing.models import Domain

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def others_project(other_user):
    return project_services.create_project(other_user, slug="secret", repo_url="https://e.com/a/b")


def test_domains_page_needs_a_login(client, project):
    response = client.get(reverse("routing:project", args=[project.slug]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["project", "add", "check", "delete"])
def test_someone_elses_project_is_404_for_every_view(auth_client, others_project, name):
    domain = Domain.objects.create(project=others_project, hostname="www.secret.com")
    args = [others_project.slug] + ([domain.pk] if name in ("check", "delete") else [])
    url = reverse(f"routing:{name}", args=args)

    response = (
        auth_client.get(url) if name == "project" else auth_client.post(url, {"hostname": "x.com"})
    )

    assert response.status_code == 404
    assert Domain.objects.filter(pk=domain.pk).exists()
    assert not Domain.objects.filter(hostname="x.com").exists()


def test_a_domain_of_another_project_cannot_be_deleted_through_mine(
    auth_client, project, others_project
):
    domain = Domain.objects.create(project=others_project, hostname="www.secret.com")

    response = auth_client.post(reverse("routing:delete", args=[project.slug, domain.pk]))

    assert response.status_code == 404
    assert Domain.objects.filter(pk=domain.pk).exists()


def test_fragment_lists_the_addresses_as_links_once_live(auth_client, project, make_live):
    make_live(project, 32801)
    Domain.objects.create(project=project, hostname="www.shop.com", state=Domain.State.VERIFIED)

    response = auth_client.get(reverse("routing:project", args=[project.slug]), **HTMX)

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="domains">')
    assert "<html" not in html
    assert '<a href="http://shop.apps.example.net:8080/">' in html
    assert '<a href="http://www.shop.com:8080/">' in html


def test_addresses_are_text_until_something_is_live(auth_client, project):
    html = auth_client.get(reverse("routing:project", args=[project.slug]), **HTMX).content.decode()

    assert "http://shop.apps.example.net:8080/" in html
    assert '<a href="http://shop.apps.example.net:8080/">' not in html
    assert "answer once a deploy succeeds" in html


def test_without_javascript_the_page_is_whole(auth_client, project):
    html = auth_client.get(reverse("routing:project", args=[project.slug])).content.decode()

    assert "<html" in html
    assert 'id="domains"' in html


def test_htmx_add_answers_the_fragment_with_the_new_domain(auth_client, project, fake_caddy):
    response = auth_client.post(
        reverse("routing:add", args=[project.slug]), {"hostname": "WWW.Shop.com"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="domains"' in html and "<html" not in html
    assert "www.shop.com added, pending: prove it is yours" in html
    assert "_deployer-challenge.www.shop.com" in html
    assert Domain.objects.get().hostname == "www.shop.com"


def test_add_without_javascript_redirects_to_the_domains_section(auth_client, project, fake_caddy):
    response = auth_client.post(
        reverse("routing:add", args=[project.slug]), {"hostname": "shop.com"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/projects/shop/domains/"
    assert Domain.objects.filter(project=project, hostname="shop.com").exists()


def test_invalid_domain_is_shown_next_to_the_field(auth_client, project, fake_caddy):
    response = auth_client.post(
        reverse("routing:add", args=[project.slug]), {"hostname": "10.0.0.1"}, **HTMX
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "not an IP address" in html
    assert 'value="10.0.0.1"' in html
    assert not Domain.objects.exists()


def test_domain_taken_by_another_project_is_refused_without_naming_it(
    auth_client, project, others_project, fake_caddy
):
    Domain.objects.create(project=others_project, hostname="www.shop.com")

    response = auth_client.post(
        reverse("routing:add", args=[project.slug]), {"hostname": "www.shop.com"}, **HTMX
    )

    html = response.content.decode()
    assert "This domain is already claimed by another project (pending or verified)." in html
    assert "secret" not in html


def test_htmx_delete_answers_the_fragment_without_the_domain(auth_client, project, fake_caddy):
    domain = Domain.objects.create(project=project, hostname="www.shop.com")

    response = auth_client.post(reverse("routing:delete", args=[project.slug, domain.pk]), **HTMX)

    html = response.content.decode()
    assert 'id="domains"' in html
    assert "www.shop.com removed." in html
    assert "http://www.shop.com:8080/" not in html
    assert not Domain.objects.exists()


def test_add_and_delete_need_post(auth_client, project):
    assert auth_client.get(reverse("routing:add", args=[project.slug])).status_code == 405


def test_the_domains_section_and_both_overviews_show_the_addresses(auth_client, project, make_live):
    make_live(project, 32801)

    page = auth_client.get(reverse("routing:project", args=[project.slug])).content.decode()
    project_overview = auth_client.get(project.get_absolute_url()).content.decode()
    overview = auth_client.get(reverse("builds:overview"), **HTMX).content.decode()

    assert '<section class="card" id="domains">' in page
    assert 'for="id_hostname">Add a custom domain' in page
    link = '<a href="http://shop.apps.example.net:8080/">http://shop.apps.example.net:8080/</a>'
    assert link in page
    assert link in project_overview
    assert link in overview


def test_a_deployer_may_not_add_a_domain(client, project, other_user, fake_caddy):
    """Domains are the owner's (issue 24's roles): a deployer is refused and nothing is claimed."""
    project.members.add(other_user)  # a deployer, the default role
    client.force_login(other_user)

    response = client.post(
        reverse("routing:add", args=[project.slug]), {"hostname": "www.shop.com"}, **HTMX
    )

    assert response.status_code == 403
    assert not Domain.objects.exists()


def test_an_added_domain_waits_for_its_proof(auth_client, project, fake_caddy):
    response = auth_client.post(
        reverse("routing:add", args=[project.slug]), {"hostname": "www.shop.com"}, **HTMX
    )

    domain = Domain.objects.get()
    html = response.content.decode()
    assert domain.state == Domain.State.PENDING and domain.project == project
    assert f"<code>{domain.token}</code>" in html
    assert f"http://www.shop.com/.well-known/deployer-challenge/{domain.token}" in html
    assert "pending" in html


def test_htmx_check_answers_the_fragment_with_the_reason(
    auth_client, project, fake_caddy, local_dns
):
    domain = Domain.objects.create(project=project, hostname="www.shop.com")

    response = auth_client.post(
        reverse("routing:check", args=[project.slug, domain.pk]), {"method": "dns"}, **HTMX
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="domains">')
    assert (
        "www.shop.com is not verified yet: There is no DNS record _deployer-challenge.www.shop.com."
        in html
    )
    domain.refresh_from_db()
    assert domain.state == Domain.State.PENDING


def test_check_without_javascript_verifies_and_redirects(
    auth_client, project, make_live, fake_caddy, local_dns, django_capture_on_commit_callbacks
):
    make_live(project, 32801)
    domain = Domain.objects.create(project=project, hostname="www.shop.com")
    local_dns.add("_deployer-challenge.www.shop.com", "TXT", domain.token)

    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(
            reverse("routing:check", args=[project.slug, domain.pk]), {"method": "dns"}
        )

    assert response.status_code == 302
    domain.refresh_from_db()
    assert domain.state == Domain.State.VERIFIED
    assert fake_caddy.hosts_to_ports()["www.shop.com"] == 32801
    page = auth_client.get(response["Location"]).content.decode()
    assert "www.shop.com is verified and now leads to shop." in page


def test_adding_the_dashboard_host_is_refused_on_the_page(auth_client, project, settings):
    settings.ALLOWED_HOSTS = ["deploy.example.net", "testserver"]

    response = auth_client.post(
        reverse("routing:add", args=[project.slug]), {"hostname": "deploy.example.net"}, **HTMX
    )

    assert "deploy.example.net is the dashboard&#x27;s own address" in response.content.decode()
    assert not Domain.objects.exists()


def test_app_links_leave_out_pending_domains(auth_client, project, make_live):
    make_live(project, 32801)
    Domain.objects.create(project=project, hostname="www.shop.com")
    Domain.objects.create(project=project, hostname="shop.com", state=Domain.State.VERIFIED)

    html = auth_client.get(reverse("builds:overview"), **HTMX).content.decode()

    assert '<a href="http://shop.com:8080/">' in html
    assert "www.shop.com" not in html


def test_the_http_proof_is_not_offered_without_router_addresses(auth_client, project, settings):
    settings.DEPLOYER_ROUTER_ADDRESSES = []
    Domain.objects.create(project=project, hostname="www.shop.com")

    html = auth_client.get(reverse("routing:project", args=[project.slug]), **HTMX).content.decode()

    assert 'value="dns">Check DNS record' in html
    assert "Check HTTP token" not in html
