"""The processes section: everyone with the project sees it; deployers manage cron jobs."""

from __future__ import annotations

import pytest

from builds.models import Build
from processes.models import CronJob, CronRun, Process
from projects import services as project_services
from projects.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user, other_user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/a.git", members=[other_user]
    )


def test_the_page_shows_processes_with_state_and_restarts_and_runs_with_output(
    client, user, project
):
    build = Build.objects.create(project=project, state=Build.State.LIVE)
    Process.objects.create(
        project=project,
        build=build,
        name="worker",
        command="python worker.py",
        engine_state="running",
        restart_count=3,
    )
    job = CronJob.objects.create(project=project, name="tidy", schedule="0 3 * * *", command="x")
    CronRun.objects.create(
        job=job, state=CronRun.State.FAILED, exit_code=3, output="tidied <b>7</b> rows"
    )
    client.force_login(user)

    page = client.get("/projects/shop/processes/").content.decode()

    assert 'aria-current="page"' in page
    assert "<strong>worker</strong>" in page and "<td>3</td>" in page
    assert "<code>0 3 * * *</code>" in page and "<td>3</td>" in page
    assert "tidied &lt;b&gt;7&lt;/b&gt; rows" in page


def test_a_wrong_schedule_says_why_and_keeps_what_was_typed(client, user, project):
    client.force_login(user)

    response = client.post(
        "/projects/shop/processes/cron/",
        {"name": "nightly", "schedule": "0 3 * *", "command": "python tidy.py"},
        follow=True,
    )

    page = response.content.decode()
    assert "a schedule has 5 fields" in page
    assert 'value="python tidy.py"' in page
    assert not CronJob.objects.exists()


def test_a_viewer_sees_the_jobs_but_cannot_add_one(client, other_user, project):
    Membership.objects.filter(user=other_user).update(role=Membership.Role.VIEWER)
    client.force_login(other_user)

    assert "cron-create" not in client.get("/projects/shop/processes/").content.decode()
    response = client.post(
        "/projects/shop/processes/cron/",
        {"name": "nightly", "schedule": "0 3 * * *", "command": "rm -rf /"},
    )
    assert response.status_code == 403
    assert not CronJob.objects.exists()
