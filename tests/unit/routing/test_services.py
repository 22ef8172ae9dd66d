from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from builds import deletion
from builds.models import Deployment
from projects import services as project_services
from routing import services
from routing.models import Domain

pytestmark = pytest.mark.django_db


def test_sync_writes_the_routes_the_database_says(project, make_live, fake_caddy):
    make_live(project, 32801)
    Domain.objects.create(project=project, hostname="shop.example.com", state=Domain.State.VERIFIED)

    result = services.sync_routes()

    assert result.changed is True
    assert result.routes == 1
    assert fake_caddy.hosts_to_ports() == {
        "shop.apps.example.net": 32801,
        "shop.example.com": 32801,
    }


def test_sync_writes_nothing_when_caddy_already_agrees(project, make_live, fake_caddy):
    make_live(project, 32801)
    services.sync_routes()

    result = services.sync_routes()

    assert result.changed is False
    assert fake_caddy.writes == ["logging", "apps/http/servers/deployer"]  # the first sync's


def test_sync_sends_the_access_log_to_its_own_file(project, make_live, fake_caddy, settings):
    settings.DEPLOYER_ACCESS_LOG = "/srv/deployer/var/log/caddy-access.log"
    make_live(project, 32801)

    services.sync_routes()

    assert fake_caddy.server()["logs"] == {"default_logger_name": "deployer"}
    access = fake_caddy.get("logging")["logs"]["deployer-access"]
    assert access["writer"]["filename"] == "/srv/deployer/var/log/caddy-access.log"
    assert access["include"] == ["http.log.access.deployer"]
    assert fake_caddy.get("logging")["logs"]["default"] == {"exclude": ["http.log.access.deployer"]}
    assert services.projects_by_host() == {"shop.apps.example.net": project.pk}


def test_no_access_log_path_logs_no_requests(project, make_live, fake_caddy, settings):
    settings.DEPLOYER_ACCESS_LOG = ""
    make_live(project, 32801)

    services.sync_routes()

    assert "logs" not in fake_caddy.server()
    assert fake_caddy.get("logging") is None


def test_sync_replaces_drifted_routes(project, make_live, fake_caddy):
    make_live(project, 32801)
    services.sync_routes()
    fake_caddy.server()["routes"] = []  # e.g. Caddy restarted with its initial config

    result = services.sync_routes()

    assert result.changed is True
    assert fake_caddy.hosts_to_ports() == {"shop.apps.example.net": 32801}


def test_sync_removes_routes_the_database_no_longer_has(project, make_live, fake_caddy, user):
    other = project_services.create_project(user, slug="blog", repo_url="https://e.com/a/b")
    make_live(project, 32801)
    make_live(other, 32802)
    services.sync_routes()

    other.delete()
    services.sync_routes()

    assert fake_caddy.hosts_to_ports() == {"shop.apps.example.net": 32801}


def test_unreachable_caddy_is_a_routing_error_in_words(project, make_live, fake_caddy):
    make_live(project, 32801)
    fake_caddy.down = True

    with pytest.raises(services.RoutingError, match="not answering"):
        services.sync_routes()


def test_point_project_routes_to_the_new_deployment(project, make_live, fake_caddy):
    make_live(project, 32801)
    services.sync_routes()
    new = make_live(project, 32802)

    ports = services.point_project(project, new)

    assert ports == [32802]
    assert fake_caddy.hosts_to_ports() == {"shop.apps.example.net": 32802}


def test_point_project_routes_to_every_web_replica_of_the_live_build(
    project, make_live, fake_caddy
):
    make_live(project, 32801)
    services.sync_routes()
    new = make_live(project, 32803)
    Deployment.objects.create(
        project=project,
        build=new.build,
        container_id="c32802",
        host_port=32802,
        replica=1,
        state=Deployment.State.LIVE,
    )

    ports = services.point_project(project, new)

    assert ports == [32803, 32802]  # the primary first, then by replica
    route = next(r for r in fake_caddy.server()["routes"] if r["@id"] == "deployer-shop")
    assert route["handle"][0]["upstreams"] == [
        {"dial": "127.0.0.1:32803"},
        {"dial": "127.0.0.1:32802"},
    ]


def test_added_domain_is_stored_normalised_pending_and_not_routed(
    project, make_live, fake_caddy, django_capture_on_commit_callbacks
):
    make_live(project, 32801)

    with django_capture_on_commit_callbacks(execute=True):
        domain = services.add_domain(project, "  WWW.Shop.COM. ")

    assert domain.hostname == "www.shop.com"
    assert domain.state == Domain.State.PENDING
    assert "www.shop.com" not in fake_caddy.hosts_to_ports()
    assert fake_caddy.challenges()["www.shop.com"] == (domain.challenge_path, domain.token)


def test_removed_domain_stops_being_routed_after_commit(
    project, make_live, fake_caddy, django_capture_on_commit_callbacks
):
    make_live(project, 32801)
    with django_capture_on_commit_callbacks(execute=True):
        domain = services.add_domain(project, "www.shop.com")

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_domain(domain)

    assert "www.shop.com" not in fake_caddy.hosts_to_ports()
    assert not Domain.objects.exists()


def test_a_domain_belongs_to_one_project_whatever_its_case(project, user, fake_caddy):
    other = project_services.create_project(user, slug="blog", repo_url="https://e.com/a/b")
    services.add_domain(project, "www.shop.com")

    with pytest.raises(ValidationError) as caught:
        services.add_domain(other, "WWW.SHOP.COM")

    assert caught.value.message_dict == {"hostname": [services.TAKEN]}


def test_invalid_domain_is_refused_keyed_by_field(project, fake_caddy):
    with pytest.raises(ValidationError) as caught:
        services.add_domain(project, "blog.apps.example.net")

    assert list(caught.value.message_dict) == ["hostname"]
    assert "projects' own addresses" in caught.value.message_dict["hostname"][0]
    assert not Domain.objects.exists()


def test_domain_change_with_caddy_down_is_saved_and_logged(
    project, fake_caddy, django_capture_on_commit_callbacks, caplog
):
    fake_caddy.down = True

    with django_capture_on_commit_callbacks(execute=True):
        services.add_domain(project, "www.shop.com")

    assert Domain.objects.filter(hostname="www.shop.com").exists()
    assert "Routes not updated after domain www.shop.com added" in caplog.text


def test_deleting_a_project_removes_its_route(
    project, make_live, fake_caddy, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(deletion, "remove_docker_resources", lambda slug: [])
    make_live(project, 32801)
    Domain.objects.create(project=project, hostname="www.shop.com", state=Domain.State.VERIFIED)
    services.sync_routes()

    with django_capture_on_commit_callbacks(execute=True):
        deletion.delete_project(project)

    assert fake_caddy.hosts_to_ports() == {}
    assert not Domain.objects.exists()


def test_addresses_link_with_the_http_port_unless_it_is_80(project, settings):
    Domain.objects.create(project=project, hostname="www.shop.com", state=Domain.State.VERIFIED)

    assert [a.url for a in services.addresses(project)] == [
        "http://shop.apps.example.net:8080/",
        "http://www.shop.com:8080/",
    ]
    settings.DEPLOYER_HTTP_PORT = 80
    assert services.addresses(project)[0].url == "http://shop.apps.example.net/"
    settings.DEPLOYER_HTTPS = True
    assert services.addresses(project)[0].url == "https://shop.apps.example.net/"
