"""Processes beside the web: started from the live build after its switch, the previous
build's stopped after them, and what the engine says of them recorded for the page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from addons import services as addon_services
from builds import docker as docker_seam
from builds import runner
from builds.models import Build, Deployment
from builds.pipeline import run
from builds.pipeline.errors import StageError
from builds.pipeline.plan import Plan
from processes import cron_jobs, engine
from processes.models import Process

logger = logging.getLogger(__name__)


def replace_processes(build_id: int) -> list[str]:
    """Start the process types of `build`'s plan (it must be live), then stop the project's
    processes of any other build; returns the names of the processes started.

    Sent after the web switch (builds.tasks.after_live): the new web serves before the new
    workers start, and the old workers stop only once the new ones run. A rollback's build
    carries its target's plan, so it runs the process types of the rolled-back build. Sent
    again, it starts only what is not running yet.
    """
    build = Build.objects.select_related("project").filter(pk=build_id).first()
    if build is None or not _is_live(build):
        return []
    project = build.project
    plan = Plan.from_dict(build.plan or {})
    cron_jobs.sync_config_jobs(project, plan)
    started: list[str] = []
    with docker_seam.client() as client:
        wanted = {
            name: command
            for name, command in plan.other_processes().items()
            if not Process.objects.filter(
                build=build, name=name, state=Process.State.RUNNING
            ).exists()
        }
        if wanted:
            environment = addon_services.app_environment(project, plan)
            fence = runner.app_fence(build, plan, client, logger.info)
        for name, command in wanted.items():
            started.append(_start(client, build, name, command, environment, fence))
        if _is_live(build):  # a newer build that went live meanwhile stops these itself
            for process in Process.objects.filter(
                project=project, state=Process.State.RUNNING
            ).exclude(build=build):
                stop(client, process, f"Replaced by build #{build.pk}.")
    return [name for name in started if name]


def _is_live(build: Build) -> bool:
    return Deployment.objects.filter(build=build, state=Deployment.State.LIVE).exists()


def _start(client, build: Build, name: str, command: str, environment, fence) -> str:
    container_name = f"deployer-{build.project.slug}-{build.pk}-{name}"
    run.remove_named(client, container_name)  # left by an attempt that did not record it
    try:
        container_id = engine.start_process(
            client,
            build.image_id or build.image_tag,
            command,
            name=container_name,
            environment=environment,
            labels={
                **runner.labels_for(build, "process"),
                docker_seam.LABEL_PROCESS: name,
            },
            fence=fence,
        )
    except StageError as exc:
        Process.objects.create(
            project=build.project,
            build=build,
            name=name,
            command=command,
            container_name=container_name,
            state=Process.State.FAILED,
            stopped_at=timezone.now(),
            stop_reason=str(exc)[:500],
        )
        return ""
    Process.objects.create(
        project=build.project,
        build=build,
        name=name,
        command=command,
        container_id=container_id,
        container_name=container_name,
        engine_state="running",
        observed_at=timezone.now(),
    )
    return name


def stop(client, process: Process, reason: str) -> None:
    """Stop and remove a process's container (SIGTERM, DEPLOYER_STOP_GRACE to finish)."""
    if process.container_id:
        run.remove_container(client, process.container_id, grace=settings.DEPLOYER_STOP_GRACE)
    Process.objects.filter(pk=process.pk).update(
        state=Process.State.STOPPED, stopped_at=timezone.now(), stop_reason=reason[:500]
    )


def observe_processes() -> int:
    """Record what the engine says of each running process (state, restarts); one whose
    container is gone is marked stopped. Returns how many were observed."""
    running = list(Process.objects.filter(state=Process.State.RUNNING))
    if not running:
        return 0
    now = timezone.now()
    with docker_seam.client() as client:
        for process in running:
            seen = engine.observe(client, process.container_id)
            if seen.state == "missing":
                Process.objects.filter(pk=process.pk).update(
                    state=Process.State.STOPPED,
                    engine_state=seen.state,
                    observed_at=now,
                    stopped_at=now,
                    stop_reason="Its container no longer exists in the Docker engine.",
                )
                continue
            Process.objects.filter(pk=process.pk).update(
                engine_state=seen.state, restart_count=seen.restart_count, observed_at=now
            )
    return len(running)


def current(project) -> list[Process]:
    """The processes the page shows: those running, and the last failed start of each name."""
    return list(
        Process.objects.filter(project=project)
        .exclude(state=Process.State.STOPPED)
        .select_related("build")
        .order_by("name", "-pk")
    )
