"""Queue a deploy (or a rollback), stream its log to the terminal, and exit 0 only when it is live."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from builds import services
from builds.models import Build
from projects.models import Project

POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = "Deploy a project and follow its build log; exit status 0 only when the build is live."

    def add_arguments(self, parser) -> None:
        parser.add_argument("project", help="the project's name (slug)")
        parser.add_argument(
            "--ref", default="", help="branch or 40-hex commit sha (default: the project's branch)"
        )
        parser.add_argument(
            "--rollback", type=int, metavar="BUILD", help="redeploy this earlier build's image"
        )
        parser.add_argument(
            "--timeout", type=float, default=1800, help="give up following after this many seconds"
        )

    def handle(
        self, *args, project: str, ref: str, rollback: int | None, timeout: float, **options
    ):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project named {project!r}.")
        if rollback is not None:
            target = Build.objects.filter(project=found, pk=rollback).first()
            if target is None:
                raise CommandError(f"Project {project!r} has no build #{rollback}.")
            try:
                build = services.request_rollback(
                    found, target, actor="manage.py deploy --rollback"
                )
            except services.BuildRequestError as exc:
                raise CommandError(str(exc)) from exc
        else:
            try:
                build = services.request_build(
                    found, trigger=Build.Trigger.CLI, ref=ref, detail="manage.py deploy"
                )
            except services.BuildRequestError as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(f"Queued build #{build.pk} of {found.slug} ({build.ref}).")
        build = self._follow(build, timeout)
        if build.state != Build.State.LIVE:
            raise CommandError(
                f"Build #{build.pk} {build.state} at {build.failure_stage or 'queue'}: {build.failure_reason}"
            )
        self.stdout.write(self.style.SUCCESS(f"Build #{build.pk} is live."))

    def _follow(self, build: Build, timeout: float) -> Build:
        deadline = time.monotonic() + timeout
        seq = 0
        while True:
            for line in build.log_lines.filter(seq__gt=seq).order_by("seq"):
                self.stdout.write(line.text)
                seq = line.seq
            build.refresh_from_db()
            if build.is_finished and not build.log_lines.filter(seq__gt=seq).exists():
                return build
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Build #{build.pk} is still {build.state} after {timeout:.0f} s; stopped following."
                )
            time.sleep(POLL_SECONDS)
