"""Show what Deployer would build from a folder: plan, evidence, warnings and Dockerfile."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from builds.images import image_policy
from builds.pipeline import detect, dockerfile
from builds.pipeline.plan import BUILDER_CHOICES, FRAMEWORK_CHOICES, Overrides, Plan


class Command(BaseCommand):
    help = "Detect the framework of a checked-out app and print the build plan and Dockerfile."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "path", type=Path, help="the app's folder (repository root or app root)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.add_argument(
            "--pythons",
            default="",
            help="comma-separated Python versions available (default: DEPLOYER_PYTHON_VERSIONS, "
            "or every 3.x when that is 'auto')",
        )
        parser.add_argument("--framework", default="auto", choices=FRAMEWORK_CHOICES)
        parser.add_argument("--builder", default="auto", choices=BUILDER_CHOICES)
        parser.add_argument(
            "--repository-root",
            type=Path,
            default=None,
            help="the checkout PATH lies in, when PATH is an app root below it",
        )
        parser.add_argument("--entrypoint", default=None, help="e.g. myapp.main:app")
        parser.add_argument("--start-command", default=None)
        parser.add_argument("--requirements", default=None, help="requirements file name")
        parser.add_argument("--python", default=None, help="Python version to use")

    def handle(self, *args, path: Path, **options) -> None:
        overrides = Overrides(
            framework=options["framework"],
            entrypoint=options["entrypoint"],
            start_command=options["start_command"],
            requirements_file=options["requirements"],
            python_version=options["python"],
            builder=options["builder"],
        )
        try:
            plan = detect.detect_plan(
                path,
                overrides,
                available_pythons=_pythons(options["pythons"]),
                image_policy=image_policy(),
                repository_root=options["repository_root"],
            )
        except detect.DetectionError as exc:
            raise CommandError(str(exc)) from exc
        text = None
        if plan.kind != "dockerfile":
            text = dockerfile.generate_dockerfile(plan, base_image=settings.DEPLOYER_BASE_IMAGE)
        if options["json"]:
            self.stdout.write(json.dumps({"plan": plan.to_dict(), "dockerfile": text}, indent=2))
            return
        self.stdout.write(describe(plan))
        self.stdout.write("\nDockerfile:")
        self.stdout.write(text or f"  (the repository's own {plan.dockerfile_path} is built as is)")


def _pythons(option: str) -> list[str]:
    if option:
        return [version.strip() for version in option.split(",") if version.strip()]
    configured = list(settings.DEPLOYER_PYTHON_VERSIONS)
    # "auto" asks the Docker engine which base images it has; offline, assume any 3.x.
    return configured if configured != ["auto"] else [f"3.{minor}" for minor in range(8, 15)]


def describe(plan: Plan) -> str:
    """The plan as indented text: decisions, then evidence, then warnings."""
    asked = f" (asked: {plan.python_spec})" if plan.python_spec else ""
    rows = [
        ("kind", plan.kind),
        (
            "app folder",
            f"{plan.app_dir}/ (build context: the repository root)" if plan.app_dir else "-",
        ),
        ("port", str(plan.port)),
        ("framework", plan.framework),
        ("python", plan.python_version + asked),
        ("package manager", plan.package_manager),
        ("install", " && ".join(plan.install_steps) or "-"),
        ("entry point", plan.entrypoint or "-"),
        ("start", plan.start_command or "-"),
        ("release", plan.release_command or "-"),
        ("static files", plan.static_command or "-"),
        ("health path", plan.health_path),
        ("extra packages", ", ".join(plan.extra_packages) or "-"),
        (
            "system packages",
            f"build: {' '.join(plan.build_packages) or '-'}; "
            f"runtime: {' '.join(plan.runtime_packages) or '-'}",
        ),
        ("base images", ", ".join(plan.base_images) or "-"),
        ("config file", plan.config_file or "-"),
        ("processes", "; ".join(f"{n}: {c}" for n, c in plan.processes.items()) or "-"),
        ("cron", "; ".join(f"{j.name} ({j.schedule}): {j.command}" for j in plan.cron) or "-"),
        ("watch", ", ".join(plan.watch) or "- (every push deploys)"),
    ]
    lines = ["Plan:"] + [f"  {name + ':':<17} {value}" for name, value in rows]
    lines += ["", "Evidence:"] + [f"  {item}" for item in plan.evidence]
    lines += ["", "Warnings:"] + ([f"  {item}" for item in plan.warnings] or ["  none"])
    return "\n".join(lines)
