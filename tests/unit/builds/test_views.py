"""The dashboard's build pages and fragments, through the test client (Celery dispatch captured)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from builds import preview, selectors
from builds.models import Build, BuildLogLine, Deployment, DetectionPreview
from projects import services as project_services
from tests.unit.builds.engine_fakes import FakeLogs

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SHA1 = "a" * 40
SHA2 = "b" * 40
LONG_AGO = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _no_celery(monkeypatch):
    """Builds are queued but never run: the task is the seam that leaves this process."""
    sent: list[int] = []
    monkeypatch.setattr("builds.tasks.run_build.delay", sent.append)
    return sent


@pytest.fixture
def others_project(other_user):
    return project_services.create_project(
        other_user, slug="secret-app", repo_url="https://example.com/acme/secret.git"
    )


def make_build(project, state=Build.State.QUEUED, *, finished_ago=None, **fields) -> Build:
    now = timezone.now()
    if finished_ago is not None:
        fields.setdefault("finished_at", now - finished_ago)
        fields.setdefault("started_at", now - finished_ago - timedelta(seconds=30))
    elif state in Build.RUNNING_STATES:
        fields.setdefault("started_at", now - timedelta(seconds=5))
    return Build.objects.create(project=project, state=state, **fields)


def add_lines(build: Build, *texts: str) -> None:
    """As builds.buildlog.BuildLog writes them: each line, then the build's line count."""
    start = build.log_lines.count()
    BuildLogLine.objects.bulk_create(
        BuildLogLine(build=build, seq=start + i, stage=build.state, text=text)
        for i, text in enumerate(texts, start=1)
    )
    Build.objects.filter(pk=build.pk).update(log_line_count=start + len(texts))


def go_live(build: Build, *, port: int = 32768, ago: timedelta = LONG_AGO) -> Deployment:
    Deployment.objects.filter(project=build.project, state=Deployment.State.LIVE).update(
        state=Deployment.State.SUPERSEDED
    )
    return Deployment.objects.create(
        project=build.project,
        build=build,
        container_id=f"c{build.pk}",
        container_name=f"deployer-{build.project.slug}-{build.pk}",
        host_port=port,
        state=Deployment.State.LIVE,
        live_at=timezone.now() - ago,
    )


def live_build(project, sha: str = SHA1, **fields) -> Build:
    build = make_build(
        project,
        Build.State.LIVE,
        finished_ago=LONG_AGO,
        commit_sha=sha,
        commit_message="Add the shop",
        image_id=f"sha256:{sha}",
        image_tag=f"deployer/{project.slug}:x",
        **fields,
    )
    go_live(build)
    return build


def seqs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-seq="(\d+)"', html)]


# Log lines: the cursor ----------------------------------------------------------------------


def test_log_lines_returns_only_the_lines_after_the_cursor(auth_client, project):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two", "three", "four")

    html = auth_client.get(reverse("builds:log-lines", args=[build.pk]) + "?after=2", **HTMX)

    assert seqs(html.content.decode()) == [3, 4]


def test_running_build_answers_with_a_sentinel_carrying_the_next_cursor(auth_client, project):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two", "three")

    html = auth_client.get(
        reverse("builds:log-lines", args=[build.pk]) + "?after=1", **HTMX
    ).content.decode()

    sentinel = re.search(r'<div class="log-sentinel" hx-get="([^"]+)"', html)
    assert sentinel.group(1) == reverse("builds:log-lines", args=[build.pk]) + "?after=3"
    assert 'hx-swap="outerHTML"' in html
    assert "load delay:250ms" in html  # DEPLOYER_LOG_POLL_MS


def test_no_new_lines_keeps_the_same_cursor_while_running(auth_client, project):
    build = make_build(project, Build.State.CLONING)
    add_lines(build, "one")

    html = auth_client.get(
        reverse("builds:log-lines", args=[build.pk]) + "?after=1", **HTMX
    ).content.decode()

    assert seqs(html) == []
    assert "?after=1" in html


def test_an_idle_poll_reads_the_build_but_not_the_lines(
    auth_client, project, django_assert_num_queries
):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one", "two")
    url = reverse("builds:log-lines", args=[build.pk]) + "?after=2"

    with django_assert_num_queries(3):  # session, user, build
        html = auth_client.get(url, **HTMX).content.decode()

    assert "?after=2" in html


def test_finished_build_with_no_lines_left_gets_no_sentinel(auth_client, project):
    build = make_build(project, Build.State.LIVE, finished_ago=LONG_AGO)
    add_lines(build, "one", "two")

    html = auth_client.get(
        reverse("builds:log-lines", args=[build.pk]) + "?after=0", **HTMX
    ).content.decode()

    assert seqs(html) == [1, 2]
    assert "log-sentinel" not in html


def test_just_finished_build_keeps_following_for_the_workers_last_lines(auth_client, project):
    build = make_build(project, Build.State.LIVE, finished_ago=timedelta(seconds=1))

    html = auth_client.get(reverse("builds:log-lines", args=[build.pk]), **HTMX).content.decode()

    assert "log-sentinel" in html


def test_a_long_backlog_comes_in_batches_fetched_without_delay(auth_client, project, monkeypatch):
    monkeypatch.setattr("builds.logfollow.LOG_BATCH", 2)
    build = make_build(project, Build.State.LIVE, finished_ago=LONG_AGO)
    add_lines(build, "one", "two", "three")

    first = auth_client.get(reverse("builds:log-lines", args=[build.pk]), **HTMX).content.decode()
    second = auth_client.get(
        reverse("builds:log-lines", args=[build.pk]) + "?after=2", **HTMX
    ).content.decode()

    assert seqs(first) == [1, 2]
    assert 'hx-trigger="load, retry delay:2s"' in first
    assert seqs(second) == [3]
    assert "log-sentinel" not in second


def test_log_text_is_html_escaped_in_the_page(auth_client, project):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "<script>alert(1)</script>")

    html = auth_client.get(reverse("builds:log-lines", args=[build.pk]), **HTMX).content.decode()

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_bad_cursor_starts_from_the_beginning(auth_client, project):
    build = make_build(project, Build.State.BUILDING)
    add_lines(build, "one")

    html = auth_client.get(reverse("builds:log-lines", args=[build.pk]) + "?after=x", **HTMX)

    assert seqs(html.content.decode()) == [1]


# Build page ---------------------------------------------------------------------------------


def test_build_page_shows_the_log_so_far_and_a_sentinel_after_its_last_line(auth_client, project):
    build = make_build(project, Build.State.BUILDING, stage_timings={"cloning": {"seconds": 1.5}})
    add_lines(build, "==> Cloning", "Fetching main")

    html = auth_client.get(reverse("builds:detail", args=[build.pk])).content.decode()

    assert seqs(html) == [1, 2]
    assert "?after=2" in html
    assert 'hx-trigger="every 2s' in html  # the status area polls while running


def test_failure_reason_comes_first_on_a_failed_build_page(auth_client, project):
    build = make_build(
        project,
        Build.State.FAILED,
        finished_ago=LONG_AGO,
        failure_stage=Build.State.BUILDING,
        failure_reason="pip could not find a version that satisfies flask==99",
        stage_timings={"cloning": {"seconds": 1.0}, "detecting": {"seconds": 0.2}},
    )
    add_lines(build, "==> Building", "ERROR: No matching distribution found for flask==99")

    html = auth_client.get(reverse("builds:detail", args=[build.pk])).content.decode()

    reason = html.index("pip could not find a version")
    assert "Failed while building" in html
    assert reason < html.index('class="stages"')
    assert reason < html.index("ERROR: No matching distribution")
    assert 'class="log-sentinel"' not in html
    assert 'hx-trigger="every 2s' not in html  # nothing left to refresh


def test_stage_progress_names_each_stage_state_in_text(auth_client, project):
    build = make_build(
        project,
        Build.State.FAILED,
        finished_ago=LONG_AGO,
        failure_stage=Build.State.BUILDING,
        failure_reason="boom",
        stage_timings={"cloning": {"seconds": 1.25}, "building": {"seconds": 40}},
    )

    steps = selectors.build_steps(build)
    html = auth_client.get(reverse("builds:detail", args=[build.pk])).content.decode()

    assert [(s.label, s.status) for s in steps] == [
        ("Cloning", "done"),
        ("Detecting", "skipped"),
        ("Building", "failed"),
        ("Releasing", "skipped"),
        ("Starting", "skipped"),
        ("Health checking", "skipped"),
        ("Switching", "skipped"),
    ]
    assert re.search(
        r"Cloning</span>\s*<span class=\"step-status\">done</span>\s*"
        r"<span class=\"step-seconds\">1.2 s",
        html,
    )
    assert re.search(r"Building</span>\s*<span class=\"step-status\">failed", html)


def test_running_stage_is_current_and_later_ones_wait(project):
    build = make_build(project, Build.State.DETECTING, stage_timings={"cloning": {"seconds": 2}})

    statuses = [step.status for step in selectors.build_steps(build)]

    assert statuses == ["done", "current", "pending", "pending", "pending", "pending", "pending"]


def test_status_fragment_for_htmx_is_one_root_element_with_its_target_id(auth_client, project):
    build = make_build(project, Build.State.BUILDING)

    response = auth_client.get(reverse("builds:detail", args=[build.pk]), **HTMX)
    html = response.content.decode().strip()

    assert html.startswith(f'<section class="card build-status" id="build-{build.pk}-status"')
    assert html.endswith("</section>")
    assert "<html" not in html
    assert html.count("<section") == 1


def test_truncated_log_says_so(auth_client, project):
    build = make_build(project, Build.State.LIVE, finished_ago=LONG_AGO, log_truncated=True)

    html = auth_client.get(reverse("builds:detail", args=[build.pk])).content.decode()

    assert "DEPLOYER_BUILD_LOG_MAX_LINES" in html


def test_log_downloads_as_an_attached_text_file(auth_client, project):
    build = make_build(project, Build.State.LIVE, finished_ago=LONG_AGO)
    add_lines(build, "==> Cloning", "<b>not html</b>", "done")

    response = auth_client.get(reverse("builds:log-text", args=[build.pk]))

    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="shop-build-{build.pk}.log"'
    assert b"".join(response.streaming_content) == b"==> Cloning\n<b>not html</b>\ndone\n"


# Access -------------------------------------------------------------------------------------


def test_another_users_build_is_404_on_every_url(auth_client, others_project):
    build = make_build(others_project, Build.State.LIVE, finished_ago=LONG_AGO)
    gets = ["builds:detail", "builds:log-lines", "builds:log-text"]
    posts = ["builds:cancel", "builds:rollback"]

    for name in gets:
        assert auth_client.get(reverse(name, args=[build.pk]), **HTMX).status_code == 404, name
    for name in posts:
        assert auth_client.post(reverse(name, args=[build.pk])).status_code == 404, name
    for name in ["builds:deployments", "builds:runtime-logs", "builds:detection"]:
        assert auth_client.get(reverse(name, args=["secret-app"]), **HTMX).status_code == 404
    assert auth_client.post(reverse("builds:deploy", args=["secret-app"])).status_code == 404
    preview = reverse("builds:detection-preview", args=["secret-app"])
    assert auth_client.post(preview).status_code == 404
    assert Build.objects.count() == 1
    assert not DetectionPreview.objects.exists()


def test_members_see_the_builds_of_shared_projects(client, other_user, project):
    project.members.add(other_user)
    build = make_build(project, Build.State.BUILDING)
    client.force_login(other_user)

    assert client.get(reverse("builds:detail", args=[build.pk])).status_code == 200


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("builds:detail", "build"),
        ("builds:log-lines", "build"),
        ("builds:log-text", "build"),
        ("builds:overview", None),
        ("builds:deployments", "project"),
        ("builds:runtime-logs", "project"),
        ("builds:detection", "project"),
    ],
)
def test_pages_need_a_login(client, project, name, kind):
    build = make_build(project)
    args = {"build": [build.pk], "project": [project.slug], None: []}[kind]

    response = client.get(reverse(name, args=args), **HTMX)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_actions_need_a_login_and_a_post(auth_client, project):
    build = make_build(project)
    deploy = reverse("builds:deploy", args=[project.slug])

    assert Client().post(deploy).status_code == 302
    assert auth_client.get(deploy).status_code == 405
    assert auth_client.get(reverse("builds:cancel", args=[build.pk])).status_code == 405
    assert auth_client.get(reverse("builds:rollback", args=[build.pk])).status_code == 405
    assert Build.objects.count() == 1


# Deploy, redeploy, rollback, cancel ---------------------------------------------------------


def test_deploy_queues_a_build_of_the_branch_and_redirects_to_its_page(
    auth_client, project, user, _no_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(reverse("builds:deploy", args=[project.slug]))

    build = Build.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("builds:detail", args=[build.pk])
    assert (build.state, build.ref, build.commit_sha) == (Build.State.QUEUED, "main", "")
    assert build.triggered_by == user
    assert _no_celery == [build.pk]


def test_deploy_with_htmx_redirects_the_whole_page(auth_client, project):
    response = auth_client.post(reverse("builds:deploy", args=[project.slug]), **HTMX)

    build = Build.objects.get()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("builds:detail", args=[build.pk])


def test_redeploy_builds_the_exact_live_commit_again(auth_client, project):
    live = live_build(project)

    auth_client.post(reverse("builds:deploy", args=[project.slug]), {"commit": live.commit_sha})

    build = Build.objects.exclude(pk=live.pk).get()
    assert build.commit_sha == build.ref == SHA1
    assert build.state == Build.State.QUEUED


def test_redeploy_refuses_something_that_is_not_a_commit_id(auth_client, project):
    response = auth_client.post(
        reverse("builds:deploy", args=[project.slug]), {"commit": "main; rm -rf /"}
    )

    assert response.status_code == 302
    assert response["Location"] == project.get_absolute_url()
    assert not Build.objects.exists()


def test_rollback_queues_a_build_of_the_earlier_image(auth_client, project):
    first = live_build(project, SHA1)
    live_build(project, SHA2)

    response = auth_client.post(reverse("builds:rollback", args=[first.pk]))

    rollback = Build.objects.get(trigger=Build.Trigger.ROLLBACK)
    assert response["Location"] == reverse("builds:detail", args=[rollback.pk])
    assert rollback.rollback_of == first
    assert rollback.image_id == first.image_id
    assert rollback.state == Build.State.QUEUED


def test_rollback_to_a_build_that_never_went_live_explains_why_not(auth_client, project):
    failed = make_build(project, Build.State.FAILED, finished_ago=LONG_AGO, failure_reason="x")

    response = auth_client.post(reverse("builds:rollback", args=[failed.pk]), follow=True)

    assert "never went live" in response.content.decode()
    assert Build.objects.count() == 1


def test_cancel_ends_a_queued_build_at_once(auth_client, project):
    build = make_build(project)

    response = auth_client.post(reverse("builds:cancel", args=[build.pk]))

    build.refresh_from_db()
    assert response["Location"] == reverse("builds:detail", args=[build.pk])
    assert build.state == Build.State.CANCELLED
    assert build.failure_reason == "Cancelled by ada."


def test_cancel_asks_a_running_build_to_stop_and_answers_htmx_with_the_status(auth_client, project):
    build = make_build(project, Build.State.BUILDING)

    response = auth_client.post(reverse("builds:cancel", args=[build.pk]), **HTMX)

    build.refresh_from_db()
    assert build.cancel_requested
    assert build.state == Build.State.BUILDING  # the worker stops it within a second or two
    html = response.content.decode()
    assert f'id="build-{build.pk}-status"' in html
    assert "is being cancelled" in html


def test_cancel_from_the_project_page_returns_there(auth_client, project):
    build = make_build(project)

    response = auth_client.post(
        reverse("builds:cancel", args=[build.pk]), {"next": project.get_absolute_url()}
    )

    assert response["Location"] == project.get_absolute_url()


def test_cancel_never_redirects_off_site(auth_client, project):
    build = make_build(project)

    response = auth_client.post(
        reverse("builds:cancel", args=[build.pk]), {"next": "https://evil.example/"}
    )

    assert response["Location"] == reverse("builds:detail", args=[build.pk])


# Project state and the overview -------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "code", "label"),
    [
        ("nothing", "not_deployed", "Not deployed yet"),
        ("queued", "building", "Building"),
        ("live", "live", "Live"),
        ("live_then_failed", "live", "Live"),
        ("live_then_building", "building", "Building"),
        ("failed", "failed", "Failed"),
        ("stopped", "stopped", "Stopped"),
        ("cancelled_only", "not_deployed", "Not deployed yet"),
    ],
)
def test_project_state_derives_from_the_latest_build_and_the_live_deployment(
    project, setup, code, label
):
    if setup == "queued":
        make_build(project)
    if setup.startswith("live"):
        live_build(project)
    if setup == "live_then_failed" or setup == "failed":
        make_build(project, Build.State.FAILED, finished_ago=timedelta(minutes=1))
    if setup == "live_then_building":
        make_build(project, Build.State.BUILDING)
    if setup == "stopped":
        live_build(project)
        Deployment.objects.update(state=Deployment.State.STOPPED)
    if setup == "cancelled_only":
        make_build(project, Build.State.CANCELLED, finished_ago=LONG_AGO)

    status = selectors.project_row(project).status

    assert (status.code, status.label) == (code, label)


def test_runtime_health_can_mark_a_live_project_unhealthy_or_crashed(project):
    build = live_build(project)
    live = Deployment.objects.get(state=Deployment.State.LIVE)

    assert selectors.project_status(build, live, health="unhealthy").label == "Unhealthy"
    assert selectors.project_status(build, live, health="crashed").label == "Crashed"


@pytest.mark.parametrize(
    ("health", "label"), [("unhealthy", "Unhealthy"), ("crashed", "Crashed"), ("healthy", "Live")]
)
def test_overview_shows_what_monitoring_found_of_a_live_app(auth_client, project, health, label):
    from monitoring.models import AppHealth

    live_build(project)
    AppHealth.objects.create(
        project=project, state=health, reason="GET / answered 502", checked_at=timezone.now()
    )

    html = auth_client.get(reverse("builds:overview"), **HTMX).content.decode()

    assert f">{label}</span>" in html


def test_overview_fragment_lists_state_commit_age_and_addresses(auth_client, project, settings):
    settings.DEPLOYER_BASE_DOMAIN = "apps.example.com"
    live_build(project)

    response = auth_client.get(reverse("builds:overview"), **HTMX)
    html = response.content.decode().strip()

    assert html.startswith('<div id="projects-overview"')
    assert 'hx-trigger="every 3s' in html
    assert 'hx-swap="outerHTML"' in html
    assert ">Live</span>" in html
    assert "aaaaaaaa" in html and "Add the shop" in html
    assert "1\xa0hour ago" in html
    assert "http://shop.apps.example.com" in html
    assert "127.0.0.1:32768" in html


def test_overview_shows_only_my_projects(auth_client, project, others_project):
    html = auth_client.get(reverse("builds:overview"), **HTMX).content.decode()

    assert "shop" in html
    assert "secret-app" not in html


def test_overview_without_htmx_is_the_projects_page(auth_client):
    response = auth_client.get(reverse("builds:overview"))

    assert response["Location"] == reverse("projects:list")


def test_overview_queries_do_not_grow_with_the_number_of_projects(
    auth_client, user, django_assert_max_num_queries
):
    for n in range(8):
        project = project_services.create_project(
            user, slug=f"app-{n}", repo_url="https://example.com/a/b.git"
        )
        live_build(project, sha=f"{n}" * 40)

    # One of them: every project's CPU trend; one counts the projects for the pager.
    with django_assert_max_num_queries(12):
        auth_client.get(reverse("builds:overview"), **HTMX)


def test_projects_page_embeds_the_polling_overview(auth_client, project):
    html = auth_client.get(reverse("projects:list")).content.decode()

    assert 'id="projects-overview"' in html
    assert "Not deployed yet" in html


# Deployments section --------------------------------------------------------------------------


def deployments_page(client, project) -> str:
    return client.get(reverse("builds:deployments", args=[project.slug])).content.decode()


def test_deployments_section_shows_the_current_deployment_and_build_history(auth_client, project):
    first = live_build(project, SHA1)
    second = live_build(project, SHA2)
    failed = make_build(
        project,
        Build.State.FAILED,
        finished_ago=timedelta(minutes=1),
        failure_reason="boom",
        stage_timings={"cloning": {"seconds": 3.5}},
    )

    html = deployments_page(auth_client, project)

    assert f'id="project-{project.pk}-deployments"' in html
    assert f'id="project-{project.pk}-state" class="badge ok"' in html
    assert "Deploy main</button>" in html
    assert "Redeploy bbbbbbbb</button>" in html
    assert "Uptime</dt><dd>1\xa0hour" in html
    assert "Cloning 3.5 s" in html
    assert f"Roll back to #{first.pk}</button>" in html
    assert f"Roll back to #{second.pk}" not in html  # it is the live one
    assert f"Roll back to #{failed.pk}" not in html
    assert '<a href="/projects/shop/deployments/" aria-current="page">Deployments</a>' in html


def test_no_rollback_is_offered_to_the_image_that_is_already_serving(auth_client, project):
    first = live_build(project, SHA1)
    live_build(project, SHA2)
    rollback = make_build(
        project,
        Build.State.LIVE,
        finished_ago=timedelta(minutes=1),
        rollback_of=first,
        trigger=Build.Trigger.ROLLBACK,
        image_id=first.image_id,
        commit_sha=SHA1,
    )
    go_live(rollback)

    html = deployments_page(auth_client, project)

    assert "Roll back to #" in html
    assert f"Roll back to #{first.pk}<" not in html
    assert f"Roll back to #{rollback.pk}<" not in html


def test_deployments_section_offers_cancel_on_an_active_build(auth_client, project):
    build = make_build(project, Build.State.BUILDING)

    html = deployments_page(auth_client, project)

    assert f'action="{reverse("builds:cancel", args=[build.pk])}"' in html
    assert "Cancel build" in html
    assert f'name="next" value="{reverse("builds:deployments", args=[project.slug])}"' in html


def test_project_sections_before_any_deploy_say_what_to_do(auth_client, project):
    overview = auth_client.get(project.get_absolute_url()).content.decode()
    deployments = deployments_page(auth_client, project)
    settings = auth_client.get(reverse("projects:settings", args=[project.slug])).content.decode()

    assert "Not deployed yet" in overview
    assert "Deploy main</button>" in overview
    assert "No builds yet" in deployments
    assert "Preview detection</button>" in settings


def test_deployments_fragment_also_updates_the_heading_state_out_of_band(auth_client, project):
    live_build(project)

    html = auth_client.get(
        reverse("builds:deployments", args=[project.slug]), **HTMX
    ).content.decode()

    assert html.strip().startswith(f'<section class="card" id="project-{project.pk}-deployments"')
    assert re.search(rf'id="project-{project.pk}-state"[^>]*hx-swap-oob="true">Live<', html)


def test_settings_show_the_stored_plan_with_evidence_warnings_and_dockerfile(auth_client, project):
    plan = {
        "framework": "flask",
        "start_command": "gunicorn app:app",
        "health_path": "/healthz",
        "package_manager": "pip",
        "dependency_files": ["requirements.txt"],
        "evidence": [{"file": "app.py", "line": 4, "message": "Flask app object `app`"}],
        "warnings": [{"code": "debug-on", "message": "DEBUG is on", "file": "app.py", "line": 9}],
    }
    make_build(project, Build.State.LIVE, finished_ago=LONG_AGO, plan=plan, commit_sha=SHA1)

    html = auth_client.get(reverse("projects:settings", args=[project.slug])).content.decode()

    assert "<strong>flask</strong>" in html
    assert "<code>app.py:4</code> Flask app object `app`" in html
    assert "<code>debug-on</code> in <code>app.py:9</code>: DEBUG is on" in html
    assert "CMD " in html and "FROM python:3.11-slim" in html


# Detection preview --------------------------------------------------------------------------


@pytest.fixture
def local_repo(tmp_path, settings):
    """A real git repository on disk with a small Flask app on `main`."""
    import subprocess

    settings.DEPLOYER_ALLOW_LOCAL_REPOS = True
    settings.DEPLOYER_PYTHON_VERSIONS = ["3.11", "3.12"]
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("flask\ngunicorn\n")
    (repo / "app.py").write_text("from flask import Flask\n\napp = Flask(__name__)\n")
    env = {
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@e.x",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@e.x",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "app"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


@pytest.fixture
def dispatched(monkeypatch):
    """The previews handed to the worker (the task is the seam that leaves this process)."""
    sent: list[int] = []
    monkeypatch.setattr("builds.tasks.preview_detection.delay", sent.append)
    return sent


def test_preview_asks_the_worker_and_answers_preparing_with_a_poll(
    auth_client, project, dispatched, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post(
            reverse("builds:detection-preview", args=[project.slug]), **HTMX
        )

    row = DetectionPreview.objects.get()
    html = response.content.decode()
    assert dispatched == [row.pk]
    assert (row.state, row.branch) == (DetectionPreview.State.PENDING, "main")
    assert html.strip().startswith(f'<section class="card" id="project-{project.pk}-detection"')
    assert "Preparing the preview…" in html
    poll = reverse("builds:detection", args=[project.slug]) + f"?preview={row.pk}"
    assert f'hx-get="{poll}" hx-trigger="load delay:2s"' in html


def test_a_second_preview_of_the_same_settings_reuses_the_one_being_made(
    auth_client, project, dispatched, django_capture_on_commit_callbacks
):
    url = reverse("builds:detection-preview", args=[project.slug])
    with django_capture_on_commit_callbacks(execute=True):
        auth_client.post(url, **HTMX)
        auth_client.post(url, **HTMX)

    assert DetectionPreview.objects.count() == 1
    assert len(dispatched) == 1


def test_changed_settings_make_a_new_preview(auth_client, project, dispatched):
    url = reverse("builds:detection-preview", args=[project.slug])
    auth_client.post(url, **HTMX)
    project.start_command = "gunicorn app:app"
    project.save()
    auth_client.post(url, **HTMX)

    assert DetectionPreview.objects.count() == 2


def test_preview_without_javascript_redirects_to_the_page_that_follows_it(
    auth_client, project, dispatched
):
    response = auth_client.post(reverse("builds:detection-preview", args=[project.slug]))

    row = DetectionPreview.objects.get()
    page = reverse("builds:detection", args=[project.slug]) + f"?preview={row.pk}"
    assert response.status_code == 302
    assert response["Location"] == page
    html = auth_client.get(page).content.decode()
    assert "<html" in html
    assert "Preparing the preview…" in html
    assert "Reload</a>" in html


def test_reading_the_detection_page_clones_nothing_and_changes_nothing(
    auth_client, project, monkeypatch
):
    def no_clone(*args, **kwargs):
        raise AssertionError("a repository was cloned in a web request")

    monkeypatch.setattr("builds.pipeline.clone.clone_commit", no_clone)
    for headers in ({}, HTMX):
        response = auth_client.get(reverse("builds:detection", args=[project.slug]), **headers)
        assert response.status_code == 200
        assert "Not detected yet" in response.content.decode()
    assert not DetectionPreview.objects.exists()


def test_the_old_post_to_the_detection_page_is_refused_and_changes_nothing(auth_client, project):
    response = auth_client.post(reverse("builds:detection", args=[project.slug]))

    assert response.status_code == 405
    assert not DetectionPreview.objects.exists()


def test_a_get_of_the_preview_url_is_refused_and_queues_nothing(auth_client, project, dispatched):
    response = auth_client.get(reverse("builds:detection-preview", args=[project.slug]))

    assert response.status_code == 405
    assert not DetectionPreview.objects.exists()
    assert dispatched == []


def test_a_preview_of_another_project_or_a_bad_id_is_404(auth_client, project, others_project):
    theirs, _ = preview.request_preview(others_project)
    url = reverse("builds:detection", args=[project.slug])

    assert auth_client.get(f"{url}?preview={theirs.pk}", **HTMX).status_code == 404
    assert auth_client.get(f"{url}?preview=x1", **HTMX).status_code == 404


def test_the_worker_makes_the_preview_the_page_then_shows(
    auth_client, user, local_repo, tmp_path, monkeypatch
):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    project = project_services.create_project(user, slug="flasky", repo_url=f"file://{local_repo}")
    row, _ = preview.request_preview(project)

    assert preview.run_preview(row.pk) == DetectionPreview.State.READY

    url = reverse("builds:detection", args=[project.slug]) + f"?preview={row.pk}"
    html = auth_client.get(url, **HTMX).content.decode()
    assert html.strip().startswith(f'<section class="card" id="project-{project.pk}-detection">')
    assert "hx-get" not in html.split(">", 1)[0]  # ready: no more polling
    assert "<strong>flask</strong>" in html
    assert "<code>app.py" in html
    assert "Preview of <code>main</code>" in html
    assert "FROM python:3.11-slim" in html
    assert not list(tmp_path.glob("deployer-preview-*"))  # the clone was removed
    assert not Build.objects.exists()


def test_a_preview_runs_once(user, local_repo):
    project = project_services.create_project(user, slug="flasky", repo_url=f"file://{local_repo}")
    row, _ = preview.request_preview(project)

    preview.run_preview(row.pk)

    assert preview.run_preview(row.pk) == "not pending"


def test_preview_of_an_unreachable_repository_says_why(auth_client, user, settings, tmp_path):
    settings.DEPLOYER_ALLOW_LOCAL_REPOS = True
    project = project_services.create_project(
        user, slug="gone", repo_url=f"file://{tmp_path}/missing"
    )
    row, _ = preview.request_preview(project)

    assert preview.run_preview(row.pk) == DetectionPreview.State.FAILED

    response = auth_client.get(
        reverse("builds:detection", args=[project.slug]) + f"?preview={row.pk}"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html  # without JavaScript: the whole page
    assert "Detection failed" in html
    assert "does not appear to be a git repository" in html  # git's own reason


def test_a_failed_clone_shows_no_credentials(auth_client, user, settings, tmp_path):
    settings.DEPLOYER_ALLOW_LOCAL_REPOS = True
    project = project_services.create_project(
        user, slug="private", repo_url="https://bot:s3cr3t-token@127.0.0.1:9/acme/private.git"
    )
    row, _ = preview.request_preview(project)

    preview.run_preview(row.pk)

    url = reverse("builds:detection", args=[project.slug]) + f"?preview={row.pk}"
    html = auth_client.get(url, **HTMX).content.decode()
    assert "Detection failed" in html
    assert "s3cr3t-token" not in html
    assert "s3cr3t-token" not in DetectionPreview.objects.get().error


def test_a_preview_no_worker_started_says_so_after_its_deadline(auth_client, project):
    row, _ = preview.request_preview(
        project, now=timezone.now() - timedelta(seconds=preview.PREVIEW_WAIT_SECONDS + 1)
    )

    url = reverse("builds:detection", args=[project.slug]) + f"?preview={row.pk}"
    html = auth_client.get(url, **HTMX).content.decode()

    assert "The preview could not be made: no worker started it within 60 s" in html
    assert "celery -A deployer worker" in html
    assert "hx-get" not in html.split(">", 1)[0]  # the page stops asking
    assert preview.run_preview(row.pk) == "not pending"  # and a late worker leaves it be


# Runtime logs -------------------------------------------------------------------------------


def test_runtime_logs_show_the_containers_last_lines_and_follow_from_the_last(
    auth_client, project, monkeypatch, settings
):
    settings.DEPLOYER_RUNTIME_LOG_LINES = 100
    container = live_build(project).deployments.get().container_id
    engine = FakeLogs(
        [
            ("2026-12-06T10:00:00.5Z", "Booting worker"),
            ("2026-12-06T10:00:01.123456789Z", "<b>GET /</b> 200"),
        ]
    )
    monkeypatch.setattr("builds.docker.client", engine.client)
    url = reverse("builds:runtime-logs", args=[project.slug])

    html = auth_client.get(url, **HTMX).content.decode()

    assert html.strip().startswith(f'<section class="card" id="project-{project.pk}-runtime-logs"')
    assert engine.asked[0]["tail"] == 100 and engine.asked[0]["since"] is None
    assert "Booting worker" in html and "&lt;b&gt;GET /&lt;/b&gt; 200" in html
    assert "after=2026-12-06T10%3A00%3A01.123456789Z" in html  # the follower's cursor

    engine.lines.append(("2026-12-06T10:00:02Z", "GET /next 200"))
    more = auth_client.get(
        url, {"after": "2026-12-06T10:00:01.123456789Z", "c": container}, **HTMX
    ).content.decode()

    assert "GET /next 200" in more and "Booting worker" not in more and "GET /</b>" not in more
    assert "after=2026-12-06T10%3A00%3A02Z" in more
    assert f"c={container}" in more

    redeployed = auth_client.get(
        url, {"after": "2026-12-06T10:00:02Z", "c": "an-old-container"}, **HTMX
    ).content.decode()
    assert "A new deployment is live" in redeployed and "Booting worker" in redeployed


def test_runtime_logs_filter_by_text_and_refuse_unknown_filters_in_words(
    auth_client, project, monkeypatch
):
    live_build(project)
    engine = FakeLogs(
        [("2026-12-06T10:00:00Z", "GET / 200"), ("2026-12-06T10:00:01Z", "ERROR boom")]
    )
    monkeypatch.setattr("builds.docker.client", engine.client)
    url = reverse("builds:runtime-logs", args=[project.slug])

    html = auth_client.get(url, {"q": "error"}).content.decode()
    assert "ERROR boom" in html and "GET / 200" not in html
    assert "after=2026-12-06T10%3A00%3A01Z" in html  # past the lines the filter hid too

    for bad in ({"window": "3y"}, {"after": "yesterday"}, {"q": "x" * 201}):
        answer = auth_client.get(url, bad)
        assert answer.status_code == 400
        assert "Runtime logs" in answer.content.decode()


def test_runtime_logs_download_the_last_lines_redacted(auth_client, project, monkeypatch):
    live = live_build(project)
    project_services.add_env_var(project, "API_TOKEN", "tok-secret-value")
    engine = FakeLogs([(f"2026-12-06T10:00:0{i}Z", f"line {i} tok-secret-value") for i in range(5)])
    monkeypatch.setattr("builds.docker.client", engine.client)
    url = reverse("builds:runtime-logs-text", args=[project.slug])

    answer = auth_client.get(url, {"lines": "3"})

    assert answer["Content-Disposition"] == (
        f'attachment; filename="{project.slug}-build-{live.pk}-output.log"'
    )
    assert answer.content.decode().splitlines() == [
        f"2026-12-06T10:00:0{i}Z line {i} ********" for i in (2, 3, 4)
    ]
    assert auth_client.get(url, {"lines": "0"}).status_code == 400
    assert auth_client.get(url, {"lines": "many"}).status_code == 400


def test_runtime_logs_explain_an_unreachable_docker_engine(auth_client, project, monkeypatch):
    from builds import docker as docker_seam

    live_build(project)

    def unreachable(timeout=None):
        raise docker_seam.DockerUnavailable(
            "The Docker engine is not reachable (is dockerd running?)."
        )

    monkeypatch.setattr("builds.docker.client", unreachable)
    html = auth_client.get(
        reverse("builds:runtime-logs", args=[project.slug]), **HTMX
    ).content.decode()

    assert "The Docker engine is not reachable (is dockerd running?)." in html
    assert "docker info" in html


def test_runtime_logs_without_a_live_container_say_what_to_do(auth_client, project):
    html = auth_client.get(reverse("builds:runtime-logs", args=[project.slug])).content.decode()

    assert "<html" in html
    assert "No container is running" in html
