"""Pages stay flat: the queries a page makes do not grow with projects, builds or log lines.

Each test counts a page's queries, adds more of what it lists, and counts again (times are
for bench/control_plane.py, never asserted here).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api import tokens
from builds import logtail, selectors
from builds.models import Build, BuildLogLine
from monitoring import metric_charts
from monitoring import selectors as monitoring_selectors
from monitoring.models import HealthCheck, MetricSample
from projects import paging
from projects import services as project_services
from tests.unit.builds.test_views import HTMX, add_lines, live_build, make_build, seqs

pytestmark = pytest.mark.django_db


def queries(client, url: str, **headers) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    return [q["sql"] for q in captured.captured_queries]


def add_projects(user, count: int, *, builds: int = 2) -> list:
    start = user.owned_projects.count()
    made = []
    for n in range(start, start + count):
        project = project_services.create_project(
            user, slug=f"app-{n:03d}", repo_url="https://example.com/a/b.git"
        )
        for b in range(builds):
            live_build(project, sha=f"{n % 10}{b % 10}" * 20)
        made.append(project)
    return made


@pytest.fixture
def project(user):
    return project_services.create_project(user, slug="shop", repo_url="https://example.com/a.git")


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_user(
        username="root", password="correct horse battery", is_staff=True, is_superuser=True
    )
    client.force_login(staff)
    return client


@pytest.mark.parametrize(
    ("url_name", "headers"),
    [("projects:list", {}), ("builds:overview", HTMX), ("builds:ship-report", {})],
)
def test_project_lists_make_the_same_queries_for_3_or_9_projects(
    auth_client, user, url_name, headers
):
    add_projects(user, 3)
    few = len(queries(auth_client, reverse(url_name), **headers))
    add_projects(user, 6, builds=3)

    assert len(queries(auth_client, reverse(url_name), **headers)) == few


def test_projects_list_shows_one_page_of_projects_and_a_link_to_the_next(
    auth_client, user, monkeypatch
):
    monkeypatch.setattr(paging, "PROJECTS_PER_PAGE", 2)
    add_projects(user, 5, builds=0)

    first = auth_client.get(reverse("projects:list")).content.decode()
    last = auth_client.get(reverse("projects:list") + "?page=3").content.decode()

    assert "app-000" in first and "app-001" in first and "app-002" not in first
    assert 'href="?page=2" rel="next"' in first
    assert "Projects 5\u20135 of 5" in last and "app-004" in last
    assert 'rel="next"' not in last


def test_overview_fragment_polls_the_page_it_shows(auth_client, user, monkeypatch):
    monkeypatch.setattr(paging, "PROJECTS_PER_PAGE", 2)
    add_projects(user, 3, builds=0)

    html = auth_client.get(reverse("builds:overview") + "?page=2", **HTMX).content.decode()

    assert f'hx-get="{reverse("builds:overview")}?page=2"' in html
    assert "app-002" in html and "app-000" not in html


def test_ship_report_keeps_the_last_five_builds_that_went_live_per_project(user):
    project, other = add_projects(user, 2, builds=0)
    shipped = [live_build(project, sha=f"{n}" * 40) for n in range(7)]
    rollback = live_build(project, sha="f" * 40, rollback_of=shipped[0])
    failed = make_build(project, Build.State.FAILED, finished_ago=timedelta(minutes=1))
    other_build = live_build(other, sha="e" * 40)

    rows = selectors.ship_rows([project, other])

    newest_first = sorted(shipped, key=lambda b: (b.created_at, b.pk), reverse=True)
    assert [b.pk for b in rows[0].builds] == [b.pk for b in newest_first[:5]]
    assert rollback not in rows[0].builds and failed not in rows[0].builds
    assert [b.pk for b in rows[1].builds] == [other_build.pk]


def test_project_sections_make_the_same_queries_for_2_or_30_builds(auth_client, user):
    (project,) = add_projects(user, 1)
    urls = [reverse("projects:detail", args=[project.slug])] + [
        reverse(name, args=[project.slug])
        for name in [
            "builds:deployments",
            "projects:environment",
            "routing:project",
            "monitoring:health",
            "projects:activity",
            "projects:settings",
        ]
    ]
    few = {url: len(queries(auth_client, url)) for url in urls}
    for n in range(28):
        live_build(project, sha=f"{n % 10}" * 40)

    assert {url: len(queries(auth_client, url)) for url in urls} == few


def test_api_project_list_makes_the_same_queries_for_3_or_9_projects(client, user):
    _, raw = tokens.create_token(user, "ci")
    add_projects(user, 3, builds=1)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    queries(client, "/api/v1/projects", **auth)  # the first use stamps the token's last use
    few = len(queries(client, "/api/v1/projects", **auth))
    add_projects(user, 6, builds=1)

    assert len(queries(client, "/api/v1/projects", **auth)) == few


ADMIN_LISTS = [
    "builds/build",
    "builds/deployment",
    "builds/buildlogline",
    "monitoring/healthcheck",
    "monitoring/healthevent",
    "webhooks/delivery",
    "projects/auditentry",
]


@pytest.mark.parametrize("changelist", ADMIN_LISTS)
def test_admin_lists_of_big_tables_count_at_most_a_cap_and_list_no_distinct_values(
    staff_client, user, changelist
):
    (project,) = add_projects(user, 1, builds=3)
    build = project.builds.first()
    add_lines(build, *[f"line {n}" for n in range(30)])
    HealthCheck.objects.bulk_create(
        HealthCheck(project=project, state="healthy", ok=True) for _ in range(30)
    )

    sqls = queries(staff_client, f"/admin/{changelist}/")

    counts = [sql for sql in sqls if "COUNT(" in sql]
    assert counts and all("LIMIT 10000" in sql for sql in counts)
    assert not any(sql.startswith("SELECT DISTINCT") and "DATE_TRUNC" not in sql for sql in sqls)


def test_admin_log_lines_list_newest_build_first_along_the_unique_index(staff_client, user):
    (project,) = add_projects(user, 1, builds=2)
    older, newer = project.builds.order_by("pk")
    add_lines(older, "old one")
    add_lines(newer, "new one", "new two")

    sqls = queries(staff_client, "/admin/builds/buildlogline/")
    html = staff_client.get("/admin/builds/buildlogline/?stage=building").content.decode()

    listing = next(sql for sql in sqls if sql.startswith('SELECT "builds_buildlogline"."id"'))
    assert 'ORDER BY "builds_buildlogline"."build_id" DESC, "builds_buildlogline"."seq" DESC' in (
        listing
    )
    assert "Building" in html  # the stage filter lists the stages without reading the lines


def test_log_poll_makes_the_same_queries_with_a_long_log(auth_client, project):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two")
    url = reverse("builds:log-lines", args=[build.pk])
    auth_client.get(url, **HTMX)  # the session is known from here on (builds/logaccess.py)
    logtail.clear()  # each poll reads its lines from the database, as the first one does
    few = len(queries(auth_client, url + "?after=1", **HTMX))
    BuildLogLine.objects.bulk_create(
        BuildLogLine(build=build, seq=n, text=f"line {n}") for n in range(3, 3000)
    )
    Build.objects.filter(pk=build.pk).update(log_line_count=2999)
    logtail.clear()

    assert len(queries(auth_client, url + "?after=1", **HTMX)) == few


def test_cpu_trend_averaged_in_the_database_draws_what_the_samples_draw(user):
    (project,) = add_projects(user, 1, builds=0)
    now = timezone.now()
    samples = [
        MetricSample(project=project, at=now - timedelta(seconds=50 * n), cpu_percent=n % 17)
        for n in range(72)
    ] + [MetricSample(project=project, at=now - timedelta(minutes=30, seconds=1))]  # no CPU
    MetricSample.objects.bulk_create(samples)
    start = now - monitoring_selectors.TREND_SPAN

    drawn = monitoring_selectors.metric_trends([project.pk], now=now)[project.pk]

    expected = metric_charts.sparkline(
        [metric_charts.Value(s.at, s.cpu_percent) for s in samples if s.at >= start],
        start=start,
        end=now,
        label="CPU %, last hour",
        slots=monitoring_selectors.TREND_SLOTS,
    )
    assert drawn == expected and 'class="sparkline"' in drawn


def test_build_page_shows_the_last_lines_of_a_long_log_and_offers_the_rest(
    auth_client, project, monkeypatch
):
    monkeypatch.setattr("builds.views.BUILD_PAGE_LINES", 3)
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two", "three", "four", "five")

    html = auth_client.get(reverse("builds:detail", args=[build.pk])).content.decode()

    assert seqs(html) == [3, 4, 5]
    assert "2 earlier lines not shown here" in html
    assert reverse("builds:log-text", args=[build.pk]) in html
    assert "?after=5" in html  # following goes on from the last line shown
