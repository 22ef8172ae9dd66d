from __future__ import annotations

import pytest
from django.urls import reverse

from projects import services as project_services
from tests.unit.builds.test_views import SHA1, SHA2, live_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user):
    return project_services.create_project(user, slug="shop", repo_url="https://example.com/a.git")


def test_build_page_shows_the_ship_report_of_a_live_build(auth_client, project):
    build = live_build(
        project,
        SHA1,
        image_size=219_600_000,
        dependency_layer_cached=True,
        seconds_to_healthy=1.4,
        memory_usage_bytes=95 * 1024 * 1024,
        stage_timings={"building": {"seconds": 2.5}},
    )

    html = auth_client.get(reverse("builds:detail", args=[build.pk])).content.decode()

    assert 'aria-label="Ship report"' in html
    assert "layer from cache" in html
    assert "209.4\xa0MB" in html  # Django's filesizeformat: binary megabytes
    assert "95.0\xa0MB" in html
    assert "1.4 s" in html


def test_ship_report_compares_projects_side_by_side(auth_client, user, project):
    other = project_services.create_project(user, slug="api", repo_url="https://example.com/b.git")
    live_build(
        project, SHA1, stage_timings={"building": {"seconds": 4.0}}, plan={"framework": "django"}
    )
    live_build(
        project, SHA2, stage_timings={"building": {"seconds": 2.0}}, plan={"framework": "django"}
    )
    live_build(
        other, SHA1, stage_timings={"building": {"seconds": 1.0}}, plan={"framework": "fastapi"}
    )

    html = auth_client.get(reverse("builds:ship-report")).content.decode()

    assert html.index(">api<") < html.index(">shop<")
    assert "fastapi" in html and "django" in html
    assert "3.0 s" in html  # shop's median image build over its two live builds


def test_ship_report_lists_only_the_users_projects(client, other_user, project):
    client.force_login(other_user)

    html = client.get(reverse("builds:ship-report")).content.decode()

    assert ">shop<" not in html
    assert "No projects yet" in html


def test_ship_report_needs_a_login(client):
    assert client.get(reverse("builds:ship-report")).status_code == 302
