"""A project's sections (projects/sections.py): one address each, one frame, one nav."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from deployer.moved import MOVED
from projects import audit, sections
from projects.models import AuditEntry
from tests.unit.builds.test_views import live_build

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
BOOSTED = {"HTTP_HX_REQUEST": "true", "HTTP_HX_BOOSTED": "true"}
SECTION_KEYS = [section.key for section in sections.SECTIONS]


def section_url(key: str, slug: str = "shop") -> str:
    return reverse(sections.BY_KEY[key].url_name, args=[slug])


def test_every_section_lives_under_the_projects_address():
    assert section_url("overview") == "/projects/shop/"
    for key in SECTION_KEYS[1:]:
        assert section_url(key) == f"/projects/shop/{key}/"


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_each_section_is_a_page_for_the_owner_and_a_member(key, client, project, user, other_user):
    project.members.add(other_user)

    for someone in (user, other_user):
        client.force_login(someone)
        response = client.get(section_url(key))
        assert response.status_code == 200, (key, someone)
        html = response.content.decode()
        assert "<html" in html
        assert "{#" not in html and "{%" not in html  # no template comment shown as text


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_each_section_is_a_404_for_a_stranger(key, client, project, other_user):
    client.force_login(other_user)

    response = client.get(section_url(key))

    assert response.status_code == 404
    assert b"shop" not in response.content


@pytest.mark.parametrize("key", SECTION_KEYS)
def test_the_nav_marks_the_current_section_and_only_it(key, auth_client, project):
    html = auth_client.get(section_url(key)).content.decode()

    nav = html.split('<nav class="section-nav"')[1].split("</nav>")[0]
    current = re.findall(r'<a href="([^"]+)" aria-current="page">([^<]+)</a>', nav)
    assert current == [(section_url(key), sections.BY_KEY[key].label)]
    assert all(section_url(k) in nav for k in SECTION_KEYS)
    assert 'hx-boost="true"' in nav


def test_a_sub_page_of_settings_marks_settings(auth_client, project):
    for name in ("builds:detection", "webhooks:project", "monitoring:notifications"):
        html = auth_client.get(reverse(name, args=[project.slug])).content.decode()
        assert '/projects/shop/settings/" aria-current="page">Settings<' in html, name


def test_an_unknown_section_is_a_404(auth_client, project):
    assert auth_client.get("/projects/shop/nope/").status_code == 404
    assert auth_client.get("/projects/shop/settings/nope/").status_code == 404


def test_the_frame_names_the_section_list_in_one_place():
    with pytest.raises(ValueError):
        sections.nav(object(), "nope")


def test_a_boosted_request_gets_the_whole_page_and_a_poll_its_fragment(auth_client, project):
    url = section_url("deployments")

    boosted = auth_client.get(url, **BOOSTED)
    restored = auth_client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    poll = auth_client.get(url, **HTMX)

    assert boosted.content.decode().startswith("<!doctype html>")
    assert restored.content.decode().startswith("<!doctype html>")
    assert poll.content.decode().strip().startswith('<section class="card"')
    assert "HX-Request" in poll["Vary"] and "HX-Boosted" in poll["Vary"]


def test_the_overview_answers_state_address_live_build_health_and_deploy(
    auth_client, project, user
):
    build = live_build(project, triggered_by=user, commit_author="Ada Lovelace")

    html = auth_client.get(section_url("overview")).content.decode()

    assert re.search(r'id="overview-state"><span class="badge ok">Live<', html)
    assert 'href="http://shop.' in html.split('id="overview-address"')[1]
    live = html.split('id="overview-live"')[1].split("</dd>")[0]
    assert build.short_sha in live and "Ada Lovelace" in live and "by ada" in live
    assert "Uptime, 24 hours" in html.split('id="overview-health"')[1]
    assert "Deploy main</button>" in html
    assert f"Build #{build.pk}" in html.split(f'id="project-{project.pk}-events"')[1]


def test_the_overview_polls_its_card_and_refreshes_the_heading_state(auth_client, project):
    live_build(project)

    html = auth_client.get(section_url("overview"), **HTMX).content.decode()

    assert html.strip().startswith(
        f'<section class="card overview" id="project-{project.pk}-overview"'
    )
    assert re.search(rf'id="project-{project.pk}-state"[^>]*hx-swap-oob="true">Live<', html)


def test_the_activity_section_lists_who_changed_what_for_members(client, project, other_user):
    project.members.add(other_user)
    audit.record(project, AuditEntry.Action.ENV_ADD, actor="ada", summary="DATABASE_URL")
    client.force_login(other_user)

    html = client.get(section_url("activity")).content.decode()

    assert "Variable added" in html
    assert "DATABASE_URL" in html
    assert "Project created" in html  # recorded by create_project


def test_only_the_owner_is_offered_deletion_in_settings(client, project, user, other_user):
    project.members.add(other_user)

    client.force_login(other_user)
    member_page = client.get(section_url("settings")).content.decode()
    client.force_login(user)
    owner_page = client.get(section_url("settings")).content.decode()

    delete = reverse("projects:delete", args=[project.slug])
    assert delete not in member_page
    assert delete in owner_page
    assert owner_page.index('id="notifications"') < owner_page.index('id="delete"')


# Old addresses ------------------------------------------------------------------------------


def _fill(pattern: str) -> str:
    return pattern.replace("<slug:slug>", "shop").replace("<int:pk>", "7")


@pytest.mark.parametrize(("old", "name"), MOVED.items())
def test_an_old_address_redirects_permanently_to_its_new_one(old, name, auth_client, project):
    kwargs = {"slug": "shop", **({"pk": 7} if "<int:pk>" in old else {})}
    new = reverse(name, kwargs=kwargs)

    get = auth_client.get(f"/{_fill(old)}?after=3")
    post = auth_client.post(f"/{_fill(old)}", {"a": "b"})

    assert (get.status_code, get["Location"]) == (301, f"{new}?after=3")
    assert (post.status_code, post["Location"]) == (308, new)


def test_bookmarks_of_the_old_pages_open_the_sections(auth_client, project):
    for old, key in [
        ("/builds/projects/shop/runtime-logs/", "logs"),
        ("/monitoring/shop/health/", "monitoring"),
        ("/domains/shop/", "domains"),
        ("/addons/shop/", "addons"),
        ("/projects/shop/edit/", "settings"),
    ]:
        response = auth_client.get(old, follow=True)
        assert response.redirect_chain == [(section_url(key), 301)], old
        assert response.status_code == 200
