"""The plan as stored data: JSON round trip, and a repository's own Dockerfile."""

from __future__ import annotations

import json

import pytest

from builds.pipeline.detect import DetectionError
from builds.pipeline.plan import Evidence, Plan, PlanWarning
from tests.unit.builds import trees


def test_detected_plan_survives_a_json_round_trip(detect):
    plan = detect(trees.django_project(trees.STARTPROJECT_SETTINGS))

    restored = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))

    assert restored == plan
    assert isinstance(restored.evidence[0], Evidence)
    assert isinstance(restored.warnings[0], PlanWarning)


def test_stored_plan_with_unknown_keys_still_loads():
    data = {**Plan(framework="flask").to_dict(), "added_in_a_later_version": True}

    assert Plan.from_dict(data).framework == "flask"


def test_same_warning_is_recorded_once():
    plan = Plan()
    plan.warn("debug-true", "DEBUG is True", "settings.py", 3)
    plan.warn("debug-true", "DEBUG is True", "settings.py", 3)

    assert plan.warning_codes() == ["debug-true"]


def test_own_dockerfile_is_built_as_is_with_its_base_images_recorded(detect):
    dockerfile = (
        "ARG PY=3.12\n"
        "FROM --platform=linux/amd64 python:${PY}-slim AS build\n"
        "RUN pip wheel -w /w .\n"
        "FROM build AS test\n"
        "FROM ghcr.io/org/runtime:1.2 \\\n  AS final\n"
        "COPY --from=build /w /w\n"
        "EXPOSE 5000\n"
    )
    plan = detect(
        {"Dockerfile": dockerfile, "Procfile": "web: gunicorn app:app\n", "app.py": trees.FLASK_APP}
    )

    assert plan.kind == "dockerfile"
    assert plan.dockerfile_path == "Dockerfile"
    assert plan.base_images == ["python:3.12-slim", "ghcr.io/org/runtime:1.2"]
    assert plan.port == 5000
    assert any(e.file == "Procfile" and "ignored" in e.message for e in plan.evidence)


def test_dockerfile_without_from_is_refused(detect):
    with pytest.raises(DetectionError, match="no FROM line"):
        detect({"Dockerfile": "RUN echo hi\n"})


def test_the_web_is_not_one_of_the_other_processes():
    plan = Plan(processes={"web": "gunicorn app:app", "worker": "python worker.py"})

    assert plan.other_processes() == {"worker": "python worker.py"}
