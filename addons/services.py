"""Add-ons: create, provision, check and remove a project's PostgreSQL or Redis; the
variables they give.

Engine work (provision, remove) runs in the worker or a management command, never in a web
request: the web process need not reach the engine.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from addons import backups, engine, kinds, schedule
from addons.environment import Credentials, variables
from addons.models import AddOn, Backup
from builds.fences import operator_fence
from builds.installation import project_labels
from builds.pipeline import fence
from builds.pipeline.detection import variables as settings_variables
from builds.pipeline.errors import StageError
from builds.pipeline.plan import Plan
from projects import audit, crypto
from projects import services as project_services
from projects.models import Project


class AddOnError(Exception):
    """A request about an add-on that cannot be done, in one sentence."""


def container_name(project: Project, kind: str) -> str:
    return f"deployer-{project.slug}-{kind}"


def create_addon(project: Project, kind: str, *, actor=None) -> AddOn:
    """Record a new add-on of `kind` for the project, with fresh credentials (not yet running).

    Raises AddOnError for an unknown kind or one the project has already.
    """
    if kind not in AddOn.Kind.values:
        raise AddOnError(
            f"Unknown add-on {kind!r}; Deployer offers: {', '.join(AddOn.Kind.values)}."
        )
    try:
        with transaction.atomic():
            audit.record(project, audit.Action.ADDON_CREATE, actor=actor, summary=kind)
            return AddOn.objects.create(
                project=project,
                kind=kind,
                image=kinds.of(kind).image,
                container_name=container_name(project, kind),
                volume_name=f"deployer-{kind}-{project.slug}",
                # Redis has one user and numbered databases: the app's is 0.
                database="0" if kind == kinds.REDIS else project.slug.replace("-", "_"),
                user="default" if kind == kinds.REDIS else "app",
                encrypted_password=crypto.encrypt(secrets.token_urlsafe(24)),
            )
    except IntegrityError:
        raise AddOnError(f"The project {project.slug} has a {kind} add-on already.") from None


def provision(addon: AddOn, client) -> AddOn:
    """Start the add-on on the engine and wait until it accepts connections; records the
    outcome on the row (ready, or failed with its reason) and returns it."""
    try:
        engine.ensure_image(client, addon.image)
        spec = _spec(addon, client)
        engine.start(client, spec)
        engine.wait_until_ready(
            client,
            addon.container_name,
            ready_command(addon),
            timeout=settings.DEPLOYER_ADDON_READY_TIMEOUT,
        )
    except StageError as exc:
        AddOn.objects.filter(pk=addon.pk).update(state=AddOn.State.FAILED, error=str(exc))
    else:
        AddOn.objects.filter(pk=addon.pk).update(
            state=AddOn.State.READY, error="", ready_at=timezone.now()
        )
    addon.refresh_from_db()
    return addon


def _spec(addon: AddOn, client) -> engine.Spec:
    project = addon.project
    network = fence.ensure_network(
        client,
        project.slug,
        project_labels(project.slug),
    )
    kind = addon.spec
    limits = operator_fence(
        network,
        settings.DEPLOYER_ADDON_MEMORY_MB,
        user=kind.user,
        mounts=(engine.data_mount(addon.volume_name, kind.data_dir),),
    )
    return engine.Spec(
        project.slug,
        addon.image,
        addon.container_name,
        addon.volume_name,
        container_environment(addon),
        limits,
        project_labels(project.slug),
        command=kinds.server_command(addon.kind),
    )


def container_environment(addon: AddOn) -> dict[str, str]:
    return kinds.container_environment(
        addon.kind, user=addon.user, database=addon.database, password=addon.password()
    )


def ready_command(addon: AddOn) -> list[str]:
    return kinds.ready_command(addon.kind, user=addon.user, database=addon.database)


def set_variable(addon: AddOn, name: str, *, actor=None) -> AddOn:
    """Give the add-on's URL under `name` (blank: the kind's usual name); raises
    ValidationError for a name that is not a variable name."""
    addon.variable = (name or "").strip()
    if addon.variable == addon.spec.url_variable:
        addon.variable = ""
    addon.clean_fields(exclude=[f.name for f in AddOn._meta.fields if f.name != "variable"])
    with transaction.atomic():
        addon.save(update_fields=["variable"])
        audit.record(
            addon.project,
            audit.Action.SETTINGS,
            actor=actor,
            summary=f"{addon.kind} URL variable: {addon.url_variable}",
        )
    return addon


def remove_addon(addon: AddOn, client, *, keep_data: bool = False, actor=None) -> None:
    """Stop and remove the add-on's container and (unless `keep_data`) its volume, then its row.

    Its data goes with the volume, so a ready add-on's database is backed up first (and the
    backup verified); when that fails nothing is removed and BackupError says why. The
    backup files stay in DEPLOYER_BACKUP_DIR after the add-on is gone.
    """
    final = None
    if not keep_data and addon.state == AddOn.State.READY:
        final = backups.take(addon, client, reason="final backup before removal")
        if final.state != Backup.State.VERIFIED:
            schedule.announce_failure(final)
            raise backups.BackupError(
                f"The final backup failed ({final.error}); the add-on was not removed. Remove "
                "it keeping its data, or fix the backup first."
            )
    engine.remove(client, addon.container_name, None if keep_data else addon.volume_name)
    with transaction.atomic():
        addon.delete()
        summary = f"{addon.kind}{', data kept' if keep_data else ''}"
        if final is not None:
            summary += f", final backup {final.path}"
        audit.record(addon.project, audit.Action.ADDON_REMOVE, actor=actor, summary=summary)


def set_backup_schedule(addon: AddOn, *, every_hours, keep, actor=None) -> AddOn:
    """A backup every `every_hours` hours (0: none scheduled), the newest `keep` kept; raises
    ValidationError with one sentence per bad value."""
    try:
        addon.backup_every_hours, addon.keep_backups = int(every_hours), int(keep)
    except (TypeError, ValueError):
        raise ValidationError("Hours and backups kept are whole numbers.") from None
    schedule_fields = ("backup_every_hours", "keep_backups")
    addon.clean_fields(
        exclude=[f.name for f in AddOn._meta.fields if f.name not in schedule_fields]
    )
    with transaction.atomic():
        addon.save(update_fields=["backup_every_hours", "keep_backups"])
        audit.record(
            addon.project,
            audit.Action.SETTINGS,
            actor=actor,
            summary=f"{addon.kind} backups: every {addon.backup_every_hours} h, keep "
            f"{addon.keep_backups}",
        )
    return addon


def credentials(addon: AddOn) -> Credentials:
    return Credentials(
        host=addon.container_name,
        port=addon.spec.port,
        database=addon.database,
        user=addon.user,
        password=addon.password(),
    )


def environment(
    project: Project, read_names: Iterable[str], project_names: set[str]
) -> dict[str, str]:
    """The variables the project's add-ons give its app (the project's own names excluded)."""
    given: dict[str, str] = {}
    for addon in project.addons.all():
        given.update(addon_variables(addon, read_names, project_names))
    return given


def addon_variables(
    addon: AddOn, read_names: Iterable[str], project_names: set[str]
) -> dict[str, str]:
    """What one add-on gives: Redis its URL; PostgreSQL its URL, libpq's variables and the
    database names the settings read. The URL under the project's name for it, if renamed."""
    url = kinds.url(
        addon.kind,
        host=addon.container_name,
        user=addon.user,
        password=addon.password(),
        database=addon.database,
    )
    if addon.kind == kinds.REDIS:
        given = {addon.url_variable: url}
    else:
        given = variables(credentials(addon), read_names, set())
        if addon.url_variable != addon.spec.url_variable:
            del given[addon.spec.url_variable]
            given[addon.url_variable] = url
    return {name: value for name, value in given.items() if name not in project_names}


def variable_names(addon: AddOn) -> list[str]:
    """The names an add-on gives whatever the settings read (for the add-ons page)."""
    return sorted(addon_variables(addon, [], set()))


def check_ready(project: Project, client) -> None:
    """Raise StageError naming each add-on that is not running and answering, before the
    release command needs it."""
    for addon in project.addons.all():
        if addon.state != AddOn.State.READY:
            raise StageError(
                f"The {addon.get_kind_display()} add-on {addon.container_name} is {addon.state}"
                f"{': ' + addon.error if addon.error else ''}. Create it again with "
                f"`manage.py addon create {project.slug} {addon.kind}` once that is fixed."
            )
        if not engine.is_ready(client, addon.container_name, ready_command(addon)):
            state = engine.status(client, addon.container_name)
            raise StageError(
                f"The {addon.get_kind_display()} add-on {addon.container_name} is not accepting "
                f"connections (its container is {state}), so the release command would fail; "
                f"the live version keeps answering. Start it with `manage.py addon start "
                f"{project.slug} {addon.kind}`."
            )


def app_environment(project: Project, plan: Plan) -> dict[str, str]:
    """The app's runtime variables: its add-ons' (for the names `plan`'s settings read, and
    libpq's), then the project's own, which win."""
    own = project_services.runtime_environment(project)
    return {**_given(project, plan, set(own)), **own}


def variable_sources(project: Project, plan: Plan) -> list[settings_variables.Source]:
    """Where each variable the plan's settings read comes from, for this project now."""
    project_names = project_services.environment_names(project)
    return settings_variables.sources(
        plan, project_names, set(_given(project, plan, project_names))
    )


def warn_missing_variables(project: Project, plan: Plan) -> None:
    """Readiness warnings for the variables the settings require and nobody gives."""
    project_names = project_services.environment_names(project)
    settings_variables.warn_missing(plan, project_names, set(_given(project, plan, project_names)))


def _given(project: Project, plan: Plan, project_names: set[str]) -> dict[str, str]:
    return environment(project, [variable.name for variable in plan.variables], project_names)
