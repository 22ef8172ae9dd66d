"""Housekeeping's database side: rows past retention go, in batches; recent ones stay."""

from __future__ import annotations

import pytest
from django.utils import timezone

from builds.models import Build, BuildLogLine
from builds.pipeline.errors import StageError
from builds.pipeline.image import check_free_space
from deployer import housekeeping
from monitoring.models import HealthCheck
from projects import services as project_services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user):
    return project_services.create_project(user, slug="keep", repo_url="https://example.com/a.git")


def test_log_lines_of_all_but_the_newest_builds_go_and_the_build_says_so(project, settings):
    settings.DEPLOYER_KEEP_BUILD_LOGS = 2
    builds = [Build.objects.create(project=project, state=Build.State.FAILED) for _ in range(4)]
    for build in builds:
        BuildLogLine.objects.bulk_create(
            BuildLogLine(build=build, seq=n, stage="building", text="x") for n in range(1, 4)
        )

    deleted = housekeeping.delete_old_rows()

    assert deleted["log lines"] == 6
    kept = set(BuildLogLine.objects.values_list("build_id", flat=True))
    assert kept == {builds[2].pk, builds[3].pk}
    assert [b.log_pruned for b in Build.objects.order_by("pk")] == [True, True, False, False]


def test_deliveries_and_health_checks_past_retention_go(project, settings):
    settings.DEPLOYER_RETENTION_DAYS = 30
    old = timezone.now() - timezone.timedelta(days=31)
    for when in (old, timezone.now()):
        delivery = Delivery.objects.create(
            project=project, provider="github", verdict="ignored", status_code=200
        )
        Delivery.objects.filter(pk=delivery.pk).update(received_at=when)
        HealthCheck.objects.create(project=project, state="up", ok=True, checked_at=when)

    deleted = housekeeping.delete_old_rows()

    assert (deleted["deliveries"], deleted["health checks"]) == (1, 1)
    assert Delivery.objects.count() == HealthCheck.objects.count() == 1


class _Engine:
    def __init__(self, base_url: str, root: str):
        self.api = type("Api", (), {"base_url": base_url})()
        self._root = root
        self.asked = 0

    def info(self) -> dict:
        self.asked += 1
        return {"DockerRootDir": self._root}


@pytest.fixture(autouse=True)
def _no_known_engine_folders(monkeypatch):
    from builds.pipeline import image

    monkeypatch.setattr(image, "_ROOT_DIRS", {})


def test_the_engines_data_folder_is_asked_once_per_engine(tmp_path):
    engine = _Engine("http+docker://localhost", str(tmp_path))

    check_free_space(engine, min_mb=1)
    check_free_space(engine, min_mb=1)

    assert engine.asked == 1


def test_a_build_is_refused_when_the_engines_disk_is_nearly_full(tmp_path):
    engine = _Engine("http+docker://localhost", str(tmp_path))

    with pytest.raises(StageError) as refused:
        check_free_space(engine, min_mb=10**12)

    assert "DEPLOYER_MIN_FREE_DISK_MB" in str(refused.value) and str(tmp_path) in str(refused.value)
    assert check_free_space(engine, min_mb=1) > 1


def test_a_remote_engines_disk_is_not_guessed_and_zero_turns_the_check_off(tmp_path):
    assert check_free_space(_Engine("https://10.0.0.5:2376", str(tmp_path)), min_mb=10**12) is None
    assert check_free_space(_Engine("http+docker://localhost", str(tmp_path)), min_mb=0) is None
