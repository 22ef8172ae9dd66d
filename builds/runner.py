"""One build, stage by stage: clone, detect, build, release, start, health check, switch."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from docker import errors as docker_errors

from addons import services as addon_services
from builds import docker as docker_seam
from builds import images as image_rules
from builds import mirrors, package_cache
from builds.buildlog import BuildLog
from builds.durability import asynchronous_commits, commit_durably
from builds.fences import operator_fence
from builds.installation import project_labels
from builds.models import Build, Deployment
from builds.pipeline import (
    clone,
    context,
    detect,
    dockerfile,
    fence,
    health,
    image,
    incremental,
    release,
    run,
    volume,
)
from builds.pipeline.detection import installer, locks, packages, tree
from builds.pipeline.detection.sqlite import DATA_DIR, volume_links
from builds.pipeline.errors import StageError
from builds.pipeline.fingerprint import may_skip, migrations_digest, release_fingerprint
from builds.pipeline.plan import Plan, built_health_path
from builds.pythons import available_pythons
from builds.stages import BuildStopped, cancel_requested, stage
from monitoring import tasks as monitoring_tasks
from projects import services as project_services
from projects.models import Project
from routing import services as routing
from volumes import services as app_volumes

State = Build.State


@dataclass(frozen=True)
class WentLive:
    """What the tasks after live need: the deployments the switch superseded, and whether
    the app keeps SQLite databases on the project's volume."""

    retired: list[int]
    keeps_data: bool


def execute(build: Build) -> WentLive | None:
    """Run a claimed build to its end; the outcome is recorded on the build, never raised.

    Each step runs inside the stage that owns it, from the clone to the switch. What follows
    the switch (draining and removing the previous version, pruning, measuring) is not the
    build's: the caller sends it as tasks with the returned WentLive. None when the build
    did not go live.
    """
    project = build.project
    log = BuildLog(build)
    workdir = Path(tempfile.mkdtemp(prefix=f"deployer-build-{build.pk}-"))
    should_cancel = lambda: cancel_requested(build)  # noqa: E731
    deployments: list[Deployment] = []
    try:
        with asynchronous_commits(), docker_seam.client() as client:
            if build.rollback_of_id:
                log(
                    f"Rolling back to the image of build #{build.rollback_of_id} ({build.image_tag})"
                )
                plan = Plan.from_dict(build.plan or {})
                source = None
                with stage(build, State.BUILDING, log):
                    log.hide(project_services.secret_values(project))
                    _check_image_exists(client, build.image_id)
            else:
                with ThreadPoolExecutor(max_workers=1) as lookup:
                    # The engine lists its Python images (about 20 ms) while git fetches.
                    pythons = lookup.submit(available_pythons, client)
                    with stage(build, State.CLONING, log):
                        log.hide(project_services.secret_values(project))
                        source = _clone(build, workdir, log)
                    with stage(build, State.DETECTING, log):
                        plan = _detect(build, source, pythons.result(), log)
                with stage(build, State.BUILDING, log):
                    _build_image(build, plan, source, client, log, should_cancel)
            with stage(build, State.RELEASING, log):
                environment = addon_services.app_environment(project, plan)
                addon_services.check_ready(project, client)
                new_volume = _ensure_volume(build, plan, client, log)
                container_fence = app_fence(build, plan, client, log)
                app_volumes.prepare(
                    client,
                    project,
                    image=build.image_id or build.image_tag,
                    user=container_fence.user,
                    log=log,
                )
                with _explained(container_fence):
                    _release(
                        build,
                        plan,
                        source,
                        client,
                        environment,
                        log,
                        should_cancel,
                        container_fence,
                        new_volume,
                    )
            with stage(build, State.STARTING, log), _discarded_on_failure(deployments, log):
                for replica in range(web_replicas(project, log)):
                    deployments.append(
                        _start(build, plan, client, environment, log, container_fence, replica)
                    )
            with (
                stage(build, State.HEALTH_CHECKING, log),
                _discarded_on_failure(deployments, log),
                _explained(container_fence),
            ):
                primary = deployments[0]
                precheck = _volume_precheck(build, plan, container_fence)
                if precheck is not None:  # also when the release was skipped
                    _check_volume_while_booting(client, primary, precheck)
                for deployment in deployments:  # every replica answers before any serves
                    health.wait_until_healthy(
                        client,
                        deployment.container_id,
                        port=deployment.host_port,
                        path=built_health_path(project.health_check_path, plan.to_dict()),
                        host=project.app_host,
                        memory_mb=project.memory_limit_mb,
                        log=log,
                        deadline=settings.DEPLOYER_HEALTH_TIMEOUT,
                        should_cancel=should_cancel,
                    )
                build.seconds_to_healthy = (timezone.now() - primary.started_at).total_seconds()
                build.save(update_fields=["seconds_to_healthy"])
                for deployment in deployments:  # booted on idle cores: now within its limit
                    fence.apply_cpu_limit(client, deployment.container_id, container_fence)
            with stage(build, State.SWITCHING, log), _discarded_on_failure(deployments, log):
                retired = _switch(build, deployments, log)
        monitoring_tasks.announce_build(build.pk)
        return WentLive(retired=retired, keeps_data=bool(plan.sqlite_databases))
    except BuildStopped:
        return None
    except docker_seam.DockerUnavailable as exc:
        _discard(deployments, log)
        log.flush()
        Build.objects.filter(pk=build.pk).update(
            state=State.FAILED,
            failure_stage=build.state,
            failure_reason=log.redact(str(exc)),
            finished_at=timezone.now(),
        )
        monitoring_tasks.announce_build(build.pk)
        return None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        log.close()
        Build.objects.filter(pk=build.pk).update(log_complete=True)


def checkout(source: Path, app_root: str) -> Path:
    """The repository's checkout that the app root `source` lies in."""
    return source.parents[len(Path(app_root).parts) - 1] if app_root else source


def context_root(source: Path, app_root: str, plan: Plan) -> Path:
    """The build context: the app root, or the whole checkout when the app relies on the
    repository root's dependency files (`plan.app_dir` then names its folder)."""
    return checkout(source, app_root) if plan.app_dir else source


def app_port(project: Project, plan: Plan) -> int:
    """The port the app listens on in its container: the project's, unless it is left at the
    default and the repository's own Dockerfile binds or EXPOSEs another."""
    default = Project._meta.get_field("container_port").default
    if plan.kind == "dockerfile" and project.container_port == default and plan.port != default:
        return plan.port
    return project.container_port


def labels_for(build: Build, role: str) -> dict[str, str]:
    return {
        **project_labels(build.project.slug),
        docker_seam.LABEL_BUILD: str(build.pk),
        docker_seam.LABEL_ROLE: role,
    }


def _clone(build: Build, workdir: Path, log: BuildLog) -> Path:
    project = build.project
    commit = clone.clone_commit(
        project.repo_url,
        build.commit_sha or build.ref or project.branch,
        workdir / "src",
        log=log,
        timeout=settings.DEPLOYER_CLONE_TIMEOUT,
        allow_file=settings.DEPLOYER_ALLOW_LOCAL_REPOS,
        branch=build.ref or project.branch,
        credentials=project_services.git_credentials(project),
        max_bytes=project_services.clone_max_bytes(),
        mirror=mirrors.path_for(project),
    )
    project_services.remember_known_hosts(project, commit.known_hosts)
    build.commit_sha, build.commit_author, build.commit_message = (
        commit.sha,
        commit.author[:200],
        commit.message[:500],
    )
    build.save(update_fields=["commit_sha", "commit_author", "commit_message"])
    try:
        return tree.app_root(workdir / "src", project.app_root)
    except tree.RefusedPath as exc:
        raise StageError(str(exc)) from exc


def _detect(build: Build, source: Path, pythons: list[str], log: BuildLog) -> Plan:
    project = build.project
    try:
        plan = detect.detect_plan(
            source,
            project_services.detection_overrides(project),
            available_pythons=pythons,
            build_args=project_services.build_arguments(project),
            image_policy=image_rules.image_policy(),
            repository_root=checkout(source, project.app_root),
        )
    except detect.DetectionError as exc:
        raise StageError(str(exc)) from exc
    addon_services.warn_missing_variables(project, plan)
    for evidence in plan.evidence:
        log(f"  {evidence}")
    for warning in plan.warnings:
        log(f"  warning {warning}")
    log(
        f"Plan: {plan.framework} app ({plan.kind}), Python {plan.python_version}, start: {plan.start_command or 'from its Dockerfile'}"
    )
    build.plan = plan.to_dict()
    build.save(update_fields=["plan"])
    return plan


def _build_image(
    build: Build, plan: Plan, source: Path, client, log: BuildLog, should_cancel
) -> None:
    project = build.project
    build_args = project_services.build_arguments(project)
    source = context_root(source, project.app_root, plan)
    files = tree.Tree(source)
    cache = package_cache.CacheUse()
    dependencies: incremental.Base | None = None  # an own Dockerfile leaves no layer to reuse
    generated = _generated_files(plan, files)
    if plan.kind == "dockerfile":
        own = plan.dockerfile_path or "Dockerfile"
        # Built as is; Deployer's labels are one step appended at its end.
        text = f"{_own_dockerfile(files, own).rstrip()}\n{dockerfile.label_line(image_labels(build))}\n"
        default_ignore = ""  # the repository's own .dockerignore, or everything but .git
        base_images = plan.base_images
        log(f"Building the repository's own {own} as is")
    else:
        base_image = image_rules.base_image(plan.python_version)
        # Before the Dockerfile: a build that reaches the cache is one stage (dockerfile.py).
        cache = package_cache.for_build(client, plan, build_args, log)
        text = dockerfile.generate_dockerfile(
            plan,
            base_image=settings.DEPLOYER_BASE_IMAGE,
            build_arg_names=sorted(build_args),
            labels=image_labels(build),
            package_cache=bool(cache.network),
        )
        default_ignore = dockerfile.generate_dockerignore()
        base_images = [base_image]
        text, dependencies = _on_earlier_dependencies(
            build, plan, text, files, generated, client, cache, log
        )
        log(f"Generated Dockerfile (from {base_image}):")
        for line in text.splitlines():
            log(f"  {line}")
    build_context = context.build_context(
        source,
        text,
        patterns=context.ignore_patterns(files, default_ignore),
        max_files=settings.DEPLOYER_BUILD_CONTEXT_MAX_FILES,
        max_bytes=settings.DEPLOYER_BUILD_CONTEXT_MAX_MB * 1_000_000,
        links=volume_links(plan.sqlite_databases),
        generated=generated,
        log=log,
    )
    log(
        f"Build context: {build_context.files} files, {build_context.bytes / 1_000_000:.1f} MB "
        "(after .dockerignore; .git is never sent)"
    )
    with closing(build_context.fileobj):
        image.check_free_space(client, settings.DEPLOYER_MIN_FREE_DISK_MB)
        image.ensure_base_images(client.api, base_images, log=log)
        image_rules.check_before_build(client.api, plan, text, build_args)
        if plan.kind != "dockerfile":
            ensure_setup_image(client, plan, log)
        tag = image_tag(project, build.pk)
        result = image.build_image(
            client.api,
            build_context.fileobj,
            dockerfile=build_context.dockerfile,
            tag=tag,
            labels={},
            buildargs=cache.buildargs or build_args,
            log=log,
            should_cancel=should_cancel,
            timeout=settings.DEPLOYER_BUILD_TIMEOUT,
            memory_mb=settings.DEPLOYER_BUILD_MEMORY_MB,
            cpus=settings.DEPLOYER_BUILD_CPUS,
            network=cache.network,
        )
    build.image_tag, build.image_id, build.image_size = tag, result.image_id, result.size
    build.dependency_layer_cached = result.dependency_layer_cached
    if dependencies is not None:
        build.dependency_base = _dependency_base(client, result.image_id, plan, dependencies)
    build.save(
        update_fields=[
            "image_tag",
            "image_id",
            "image_size",
            "dependency_layer_cached",
            "dependency_base",
        ]
    )
    log(f"Built {tag} ({result.size / 1_000_000:.1f} MB)")


def _on_earlier_dependencies(
    build: Build,
    plan: Plan,
    text: str,
    files: tree.Tree,
    generated: dict[str, str],
    client,
    cache,
    log: BuildLog,
) -> tuple[str, incremental.Base | None]:
    """The generated Dockerfile to build, on the dependency layer of the project's last live
    build when the new requirements keep all of its own (builds/pipeline/incremental.py),
    and what this build's layer will hold (its layer id still empty); None when the plan
    does not install that way."""
    file, requirements = _requirement_set(plan, files, generated) if cache.network else ("", None)
    if requirements is None:
        return text, None
    try:
        base_image_id = client.api.inspect_image(image_rules.base_image(plan.python_version))["Id"]
    except docker_errors.DockerException:
        base_image_id = ""
    digest = incremental.prefix_digest(text, base_image_id, kind=file)
    earlier = (
        Build.objects.filter(project=build.project, state=Build.State.LIVE, pk__lt=build.pk)
        .exclude(dependency_base={})
        .order_by("-pk")
        .first()
    )
    start = incremental.start(
        incremental.Base.from_dict(earlier.dependency_base) if earlier else None,
        digest,
        requirements,
    )
    if start.layer and not _image_exists(client, start.layer):
        start = incremental.Start()
    leaves = incremental.Base("", digest, requirements, start.depth, on=start.layer)
    if not start.layer:
        return text, leaves
    if start.added:
        log(
            f"Dependencies: {file} keeps every requirement of build #{earlier.pk} and adds "
            f"{start.added}: installing on that build's dependency layer, so only what is new "
            "is installed (a requirement removed or changed installs everything again)"
        )
    return incremental.on_top(text, start.layer), leaves


def _generated_files(plan: Plan, files: tree.Tree) -> dict[str, str]:
    """The files Deployer adds to the build context: a Poetry or Pipenv lock's export."""
    if plan.kind == "dockerfile":
        return {}
    try:
        return packages.generated_files(plan, files)
    except detect.DetectionError as exc:
        raise StageError(str(exc)) from exc


def _requirement_set(
    plan: Plan, files: tree.Tree, generated: dict[str, str]
) -> tuple[str, tuple[str, ...] | None]:
    """The file an incremental install follows and what it requires (None: the plan does
    not install that way): a plain requirements file's lines, or the packages a lock pins
    when its export is installed hash-checked from the package index (uv.lock's, or the
    export of a Poetry or Pipenv lock Deployer writes, `generated`)."""
    if plan.build_packages or plan.install_needs_source:
        return "", None
    if (
        plan.package_manager == "uv"
        and plan.dependency_files == ["pyproject.toml", "uv.lock"]
        and any("--require-hashes" in step for step in plan.install_steps)
    ):
        return "uv.lock", incremental.uv_lock_pins(files.read_text("uv.lock") or "")
    if locks.EXPORT_FILE in generated:
        return f"{plan.package_manager} lock", incremental.export_pins(generated[locks.EXPORT_FILE])
    file = plan.dependency_files[0] if len(plan.dependency_files) == 1 else ""
    if file.endswith(".txt") and plan.install_steps == [installer.uv_install("-r", file)]:
        return file, incremental.requirement_lines(files.read_text(file) or "")
    return "", None


def _image_exists(client, image_id: str) -> bool:
    try:
        client.api.inspect_image(image_id)
    except docker_errors.DockerException:
        return False
    return True


def _dependency_base(client, image_id: str, plan: Plan, leaves: incremental.Base) -> dict:
    """`leaves` with the id of the image's dependency layer: the image of its install step,
    which the engine keeps as the parent of the next steps ({} when it cannot be found)."""
    try:
        history = client.api.history(image_id)
    except docker_errors.DockerException:
        return {}
    for entry in history:  # newest first: the install step is the last one with its command
        if plan.install_steps[0] in (entry.get("CreatedBy") or ""):
            layer = entry.get("Id") or ""
            if layer.startswith("sha256:"):
                return replace(leaves, layer=layer).to_dict()
            break
    return {}


def _own_dockerfile(files: tree.Tree, name: str) -> str:
    """The repository's own Dockerfile, read through the guarded reader."""
    try:
        text = files.require_text(name)
    except tree.RefusedPath as exc:
        raise StageError(f"The repository's own Dockerfile was refused: {exc}") from exc
    if text is None:
        raise StageError(f"The repository has no {name} to build.")
    return text


def image_tag(project, build_id: int) -> str:
    """The tag names the build, so image labels need not; see `builds.images.image_tag`."""
    return image_rules.image_tag(project.slug, build_id)


def ensure_setup_image(client, plan: Plan, log) -> str:
    """The shared setup steps of a generated plan's Python version and port, built once, and
    those of its uv build stage (the same steps and the pinned uv) when it installs with uv.

    Labelled as Deployer's but no project's, so no project's removal takes them, and with
    the base image and port they are for, so a newer one replaces them.
    """
    base_image = image_rules.base_image(plan.python_version)
    kinds = [False, True] if dockerfile.uses_uv(plan) else [False]
    for uv in kinds:
        tag = image.ensure_setup_image(
            client.api,
            dockerfile.generate_setup_dockerfile(
                plan, base_image=settings.DEPLOYER_BASE_IMAGE, uv=uv
            ),
            base_image=base_image,
            labels={
                docker_seam.LABEL_MANAGED: "1",
                docker_seam.LABEL_ROLE: "setup",
                docker_seam.LABEL_SETUP_OF: f"{base_image} port {plan.port}{' uv' if uv else ''}",
            },
            log=log,
        )
    return tag


def image_labels(build: Build) -> dict[str, str]:
    """The same for every build of a project, so the step that sets them stays cached."""
    labels = labels_for(build, "image")
    del labels[docker_seam.LABEL_BUILD]
    return labels


def _check_image_exists(client, image_id: str) -> None:
    """A rollback's image is still on the engine; an engine that cannot be reached is said
    as such by the Docker seam, not as a removed image."""
    if not _image_exists(client, image_id):
        raise StageError(
            "The image of that build was removed (only the last "
            f"{settings.DEPLOYER_KEEP_IMAGES} images are kept), so it cannot be rolled back to."
        )


def _volume_precheck(build: Build, plan: Plan, container_fence: fence.Fence):
    if not plan.sqlite_databases:
        return None
    return volume.writable_precheck(build.project.slug, plan.sqlite_databases, container_fence.user)


def _check_volume_while_booting(client, deployment: Deployment, precheck) -> None:
    """The volume check in the web container just started: it takes an exec (about 50 ms),
    spent while the app boots rather than after it answers. A container that has already
    exited is left to the health check, which explains why (its output, an OOM kill)."""
    try:
        volume.check_writable(client, deployment.container_id, precheck)
    except StageError:
        try:
            running = client.api.inspect_container(deployment.container_id)["State"]["Running"]
        except docker_errors.DockerException:
            running = False
        if running:
            raise


def _ensure_volume(build: Build, plan: Plan, client, log: BuildLog) -> bool:
    """The project's volume for a plan that keeps SQLite databases; True when created now."""
    if not plan.sqlite_databases:
        return False
    project = build.project
    name = volume.volume_name(project.slug)
    created = volume.ensure_volume(client, name, project.slug, project_labels(project.slug))
    links = ", ".join(
        f"{path} -> {target}" for path, target in volume_links(plan.sqlite_databases).items()
    )
    log(f"{'Created' if created else 'Using'} the project's volume {name} at {DATA_DIR} ({links})")
    return created


def _release(
    build: Build,
    plan: Plan,
    source: Path | None,
    client,
    environment,
    log: BuildLog,
    should_cancel,
    container_fence: fence.Fence,
    new_volume: bool = False,
) -> None:
    """Run the release command, unless it is Django's migrate and the live build ran it already
    (never on a volume created just now: its database is empty).

    `source` is the checkout, or None for a rollback (which reuses its target's digest).
    """
    if not plan.release_command:
        log("No release command.")
        return
    release_environment = {**environment, "PORT": str(app_port(build.project, plan))}
    fingerprint = _fingerprint_of(build, plan, source, release_environment)
    # A dependency layer installed afresh may hold newer packages, with migrations of their own.
    packages_reused = source is None or build.dependency_layer_cached is True
    ran_in = None
    if fingerprint and packages_reused and not new_volume:
        ran_in = _live_build_with_fingerprint(build, fingerprint)
    if ran_in is not None:
        log(
            f"Release skipped: `{plan.release_command}` already ran for these migrations and "
            f"variables in build #{ran_in}."
        )
    else:
        release.run_release(
            client,
            build.image_id or build.image_tag,
            plan.release_command,
            environment=release_environment,
            labels=labels_for(build, "release"),
            fence=container_fence,
            log=log,
            timeout=settings.DEPLOYER_RELEASE_TIMEOUT,
            max_line_chars=settings.DEPLOYER_BUILD_LOG_MAX_LINE_CHARS,
            should_cancel=should_cancel,
            precheck=_volume_precheck(build, plan, container_fence),
        )
    if fingerprint:
        build.release_fingerprint = fingerprint
        build.save(update_fields=["release_fingerprint"])


def _fingerprint_of(
    build: Build, plan: Plan, source: Path | None, release_environment: dict[str, str]
) -> str | None:
    """The fingerprint of a release that may be skipped, or None when it must run regardless.

    Saves the build's migrations digest: from its checkout, or for a rollback from its target.
    """
    if not may_skip(plan):
        return None
    # The environment inside the release container: the image's defaults, then the variables,
    # and where its SQLite databases are (a migrate on the container's filesystem did not
    # migrate the volume's).
    effective = {**plan.env, **release_environment}
    if plan.sqlite_databases:
        effective["deployer:sqlite-volume"] = ",".join(plan.sqlite_databases)
    if source is not None:
        digest = migrations_digest(
            context_root(source, build.project.app_root, plan),
            dependency_files=plan.dependency_files,
            settings_module=effective.get("DJANGO_SETTINGS_MODULE"),
        )
    else:
        digest = build.rollback_of.migrations_digest if build.rollback_of else None
    if not digest:
        return None
    build.migrations_digest = digest
    build.save(update_fields=["migrations_digest"])
    return release_fingerprint(
        settings.SECRET_KEY,
        command=plan.release_command or "",
        base_image=image_rules.base_image(plan.python_version),
        migrations=digest,
        environment=effective,
    )


def _live_build_with_fingerprint(build: Build, fingerprint: str) -> int | None:
    """The id of the project's latest build to go live, when its release had `fingerprint`."""
    latest = (
        Deployment.objects.filter(project=build.project, live_at__isnull=False)
        .exclude(build=build)
        .order_by("-live_at", "-pk")
        .values_list("build_id", "build__release_fingerprint")
        .first()
    )
    return latest[0] if latest and latest[1] == fingerprint else None


def app_fence(build: Build, plan: Plan, client, log) -> fence.Fence:
    """The network, limits and user of the build's release and web containers.

    From the operator's settings, the project's memory limit (capped at the maximum) and,
    for a repository's own Dockerfile, the user its built image names (the engine's
    inspect, not the Dockerfile's text). Raises StageError for a runtime the engine lacks.
    """
    project = build.project
    fence.check_runtime(
        client, settings.DEPLOYER_CONTAINER_RUNTIME, setting="DEPLOYER_CONTAINER_RUNTIME"
    )
    network = fence.ensure_network(
        client,
        project.slug,
        project_labels(project.slug),
    )
    memory_mb = project.memory_limit_mb
    if memory_mb > settings.DEPLOYER_APP_MEMORY_MAX_MB:
        memory_mb = settings.DEPLOYER_APP_MEMORY_MAX_MB
        log(
            f"warning The project's memory limit of {project.memory_limit_mb} MB is above this "
            f"Deployer's maximum (DEPLOYER_APP_MEMORY_MAX_MB); its containers get {memory_mb} MB."
        )
    cpus = None
    if project.parent_id:  # a pull request's preview: the operator's tighter limits
        cpus = settings.DEPLOYER_PREVIEW_CPUS
        if memory_mb > settings.DEPLOYER_PREVIEW_MEMORY_MB:
            memory_mb = settings.DEPLOYER_PREVIEW_MEMORY_MB
            log(f"A preview's containers get {memory_mb} MB (DEPLOYER_PREVIEW_MEMORY_MB).")
    image_user = ""
    if plan.kind == "dockerfile":
        image_user = fence.image_user(client, build.image_id or build.image_tag)
    user, cap_add, note = run_as(plan, image_user=image_user, allow_root=project.run_as_root)
    if note:
        log(f"warning {note}")
    elif cap_add:
        log(
            "warning The image runs as root, as the project's setting \"Run the own image as "
            f'root" asks, with no capabilities but {", ".join(cap_add)}.'
        )
    return operator_fence(
        network,
        memory_mb,
        cpus=cpus,
        user=user,
        cap_add=cap_add,
        user_note=note,
        mounts=(
            *((volume.mount(volume.volume_name(project.slug)),) if plan.sqlite_databases else ()),
            *app_volumes.mounts(project),  # the project's own volumes (volumes/)
        ),
    )


def run_as(
    plan: Plan, *, image_user: str = "", allow_root: bool = False
) -> tuple[str | None, tuple[str, ...], str]:
    """(user to run as or None for the image's own, capabilities to add, a note on why).

    Generated images run as Deployer's app user. A repository's own image keeps the user its
    config names, unless that is root (or none): then it runs as the app user too, and the
    note says so, unless the project's owner opted in to root.
    """
    if plan.kind != "dockerfile":
        return dockerfile.RUN_AS, (), ""
    if not fence.runs_as_root(image_user):
        return None, (), ""
    if allow_root:
        return None, fence.ROOT_CAPABILITIES, ""
    named = f"sets USER {image_user}" if image_user else "sets no USER"
    return (
        dockerfile.RUN_AS,
        (),
        (
            f"It runs as uid {dockerfile.APP_UID} (Deployer's app user) because its image {named}; "
            "if the app needs root, the project's owner can turn on the project setting "
            '"Run the own image as root" (run_as_root).'
        ),
    )


@contextmanager
def _explained(container_fence: fence.Fence) -> Iterator[None]:
    """A failure of a container that runs as another user than its image's says so."""
    try:
        yield
    except StageError as exc:
        if not container_fence.user_note:
            raise
        raise StageError(f"{exc} {container_fence.user_note}") from exc


def web_replicas(project: Project, log) -> int:
    """How many web containers the build starts: the project's setting, capped at the
    operator's DEPLOYER_MAX_REPLICAS (which may have been lowered since it was chosen)."""
    wanted = max(1, project.web_replicas)
    if wanted > settings.DEPLOYER_MAX_REPLICAS:
        log(
            f"warning The project asks for {wanted} web replicas; this Deployer allows "
            f"{settings.DEPLOYER_MAX_REPLICAS} (DEPLOYER_MAX_REPLICAS), so that many start."
        )
        return settings.DEPLOYER_MAX_REPLICAS
    return wanted


def container_name(project: Project, build_id: int, replica: int = 0) -> str:
    """The web container's name: the primary's names the build, the others their number too."""
    name = f"deployer-{project.slug}-{build_id}"
    return f"{name}-r{replica + 1}" if replica else name


def _start(
    build: Build,
    plan: Plan,
    client,
    environment,
    log: BuildLog,
    container_fence: fence.Fence,
    replica: int = 0,
) -> Deployment:
    project = build.project
    port = app_port(project, plan)
    if port != project.container_port and replica == 0:
        log(
            f"The image listens on port {port}, as its Dockerfile says; the project's container "
            f"port is the default {project.container_port}, so {port} is used (set the "
            "container port to choose)."
        )
    started = run.start_container(
        client,
        build.image_id or build.image_tag,
        name=container_name(project, build.pk, replica),
        environment=environment,
        labels=labels_for(build, "web"),
        container_port=port,
        fence=container_fence,
    )
    log(f"Started container {started.name}, published on 127.0.0.1:{started.host_port}")
    return Deployment.objects.create(
        project=project,
        build=build,
        container_id=started.container_id,
        container_name=started.name,
        host_port=started.host_port,
        replica=replica,
    )


def _switch(build: Build, deployments: list[Deployment], log: BuildLog) -> list[int]:
    """Make the new deployments (one per replica) the live ones and point the app's addresses
    at all of them at once; returns the ids of the deployments they superseded, whose
    containers the tasks after live retire.

    The database says "live" first, durably; a route that cannot be updated then is a
    warning, not a failure: the app is live on its port and the next route reconcile
    points its addresses at it.
    """
    log.flush()
    now = timezone.now()
    with transaction.atomic():
        commit_durably()  # the switch survives a crash of the database server
        previous = list(
            Deployment.objects.select_for_update()
            .filter(project=build.project, state=Deployment.State.LIVE)
            .exclude(pk__in=[d.pk for d in deployments])
            .values_list("pk", "build_id", "container_name")
        )
        Deployment.objects.filter(pk__in=[pk for pk, _, _ in previous]).update(
            state=Deployment.State.SUPERSEDED,
            stopped_at=now,
            stop_reason=f"Replaced by build #{build.pk}.",
        )
        Deployment.objects.filter(pk__in=[d.pk for d in deployments]).update(
            state=Deployment.State.LIVE, live_at=now
        )
        Build.objects.filter(pk=build.pk).update(state=State.LIVE, finished_at=now)
        # "Live" names the build that serves now; the one it replaced is superseded.
        Build.objects.filter(pk__in=[b for _, b, _ in previous], state=State.LIVE).update(
            state=State.SUPERSEDED
        )
    build.state = State.LIVE
    served = ", ".join(f"127.0.0.1:{d.host_port}" for d in deployments)
    try:
        ports = routing.point_project(build.project, deployments[0])
        upstreams = ", ".join(f"127.0.0.1:{port}" for port in ports) or "nothing"
        log(f"Route: {routing.app_url(build.project.app_host)} -> {upstreams}")
    except routing.RoutingError as exc:
        log(
            f"warning The route was not updated: {exc} The app is live on {served}; the next "
            "route reconcile points its address at it."
        )
    log(f"==> Live: build #{build.pk} serves on {served}", State.LIVE)
    for _, _, name in previous:
        # From the moment Caddy answers the switch, no new request reaches the old container;
        # the drain lets the ones it sent just before in, the stop's grace lets them finish.
        log(
            f"The previous container {name} stops after a drain of "
            f"{settings.DEPLOYER_ROUTE_DRAIN_SECONDS} s (grace {settings.DEPLOYER_STOP_GRACE} s).",
            State.LIVE,
        )
    return [pk for pk, _, _ in previous]


@contextmanager
def _discarded_on_failure(deployments: list[Deployment], log: BuildLog) -> Iterator[None]:
    """Remove the new containers when their stage fails, before the failure is recorded."""
    try:
        yield
    except BaseException:
        _discard(deployments, log)
        raise


def _discard(deployments: list[Deployment], log: BuildLog) -> None:
    """A build that failed after starting its containers: remove them; the previous ones keep
    serving."""
    if not deployments:
        return
    try:
        with docker_seam.client() as client:
            for deployment in deployments:
                run.remove_container(client, deployment.container_id, grace=0)
    except docker_seam.DockerUnavailable:
        pass
    Deployment.objects.filter(pk__in=[d.pk for d in deployments]).update(
        state=Deployment.State.FAILED, stopped_at=timezone.now(), stop_reason="Its build failed."
    )
    new = "container" if len(deployments) == 1 else f"{len(deployments)} containers"
    log(f"Removed the new {new}; the previous deployment, if any, keeps serving.")
