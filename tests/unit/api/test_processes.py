"""Processes and cron jobs through the API."""

from __future__ import annotations

import pytest

from processes.models import CronJob, CronRun

pytestmark = pytest.mark.django_db


def test_add_list_and_remove_a_cron_job_and_read_its_runs(api, project):
    response = api.post(
        f"/projects/{project.slug}/cron",
        {"name": "tidy", "schedule": "*/10 * * * *", "command": "python tidy.py"},
    )
    assert response.status_code == 201
    assert response.json()["source"] == "dashboard"
    job = CronJob.objects.get(project=project, name="tidy")
    CronRun.objects.create(job=job, state=CronRun.State.SUCCEEDED, exit_code=0, output="ok")

    assert [j["name"] for j in api.get(f"/projects/{project.slug}/cron").json()] == ["tidy"]
    runs = api.get(f"/projects/{project.slug}/cron/tidy/runs").json()
    assert [(r["exit_code"], r["output"]) for r in runs] == [(0, "ok")]
    assert api.get(f"/projects/{project.slug}/processes").json() == []
    assert api.delete(f"/projects/{project.slug}/cron/tidy").status_code == 204
    assert not CronJob.objects.exists()


def test_a_wrong_schedule_is_a_400_that_says_why(api, project):
    response = api.post(
        f"/projects/{project.slug}/cron",
        {"name": "tidy", "schedule": "every night", "command": "python tidy.py"},
    )

    assert response.status_code == 400
    assert "a schedule has 5 fields" in response.json()["error"]["message"]
    assert not CronJob.objects.exists()
