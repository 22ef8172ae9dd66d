"""Reads and writes of projects and their environment, shared by views, the admin and commands.

Every write validates with the model's rules (`full_clean`) and raises ValidationError with
messages keyed by field name, so the web form, the admin and `manage.py` commands agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django.views.decorators.debug import sensitive_variables

from builds.pipeline import clone
from builds.pipeline.plan import Overrides
from projects import audit, crypto
from projects.envfile import LineError, parse_env_file
from projects.models import EnvVar, Membership, Project
from projects.validators import validate_env_key, validate_env_value

PROJECT_FIELDS = frozenset(Project.EDITABLE_FIELDS)


def get_project_for_user(user, slug: str) -> Project:
    """The project if the user may see it; Http404 otherwise, so no name leaks."""
    return get_object_or_404(Project.objects.visible_to(user), slug=slug)


# Projects -------------------------------------------------------------------------------------


@sensitive_variables("fields")
@transaction.atomic
def create_project(owner, *, members: Iterable | None = None, actor=None, **fields) -> Project:
    """Create a project owned by `owner` from PROJECT_FIELDS values; raises ValidationError.

    `actor` (default: the owner) is who the audit log names, as in every service below.
    """
    project = Project(owner=owner)
    _assign(project, fields)
    save_project(project)
    audit.record(project, audit.Action.CREATE, actor=actor or owner, summary=project.repo_url)
    if members is not None:
        _set_members(project, members, actor=actor or owner)
    return project


@sensitive_variables("fields")
@transaction.atomic
def update_project(
    project: Project,
    *,
    members: Iterable | None = None,
    forget_credentials: bool = False,
    actor=None,
    **fields,
) -> Project:
    """Change some PROJECT_FIELDS of a project; raises ValidationError.

    The stored repository credentials are dropped whenever the repository URL changes
    (unless the new URL carries new ones) and on `forget_credentials`: they are only ever sent
    to the repository their owner gave them for.
    """
    before = {name: getattr(project, name) for name in fields}
    _assign(project, fields)
    save_project(project, forget_credentials=forget_credentials)
    changed = [name for name in fields if getattr(project, name) != before[name]]
    if split_credentials(fields.get("repo_url") or "")[1]:
        changed.append("repository credentials")
    elif forget_credentials:
        changed.append("repository credentials forgotten")
    if changed:
        # The names of what changed: a value may hold a credential (a repository URL's).
        audit.record(project, audit.Action.SETTINGS, actor=actor, summary=", ".join(changed))
    if members is not None:
        _set_members(project, members, actor=actor)
    return project


@sensitive_variables("credentials")
def save_project(project: Project, *, forget_credentials: bool = False) -> Project:
    """Validate and save a project whose attributes were set by the caller (e.g. the admin)."""
    previous = Project.objects.filter(pk=project.pk).values("slug", "repo_url").first()
    if previous and previous["slug"] != project.slug:
        raise ValidationError(
            {"slug": "The name cannot change: it names the project's containers and address."}
        )
    project.full_clean()
    project.repo_url, credentials = split_credentials(project.repo_url)
    moved = previous is not None and previous["repo_url"] != project.repo_url
    if credentials:
        project.encrypted_repo_credentials = crypto.encrypt(credentials)
    elif forget_credentials or moved:
        project.encrypted_repo_credentials = ""
    if previous and _origin(previous["repo_url"]) != _origin(project.repo_url):
        project.ssh_known_hosts = ""  # another host: its key is learnt anew
    if project.uses_ssh and not project.encrypted_deploy_key:
        _set_new_deploy_key(project)
    project.app_root = _normalised_app_root(project.app_root)
    project.save()
    return project


def split_credentials(url: str) -> tuple[str, str]:
    """(URL without credentials, the "user:token" part) for http(s) URLs; others are unchanged."""
    if not url.startswith(("https://", "http://")):
        return url, ""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, ""
    return urlunsplit(parts._replace(netloc=host)), userinfo


def _set_new_deploy_key(project: Project) -> None:
    private, public = generate_deploy_key(f"deployer-{project.slug}")
    project.encrypted_deploy_key = crypto.encrypt(private)
    project.deploy_public_key = public


@sensitive_variables("private")
def generate_deploy_key(comment: str) -> tuple[str, str]:
    """A new ed25519 key pair: (private key in OpenSSH format, "ssh-ed25519 AAAA... comment")."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, f"{public.decode()} {comment}"


def regenerate_deploy_key(project: Project, *, actor=None) -> Project:
    """Replace the project's deploy key; the old public half stops working once removed."""
    with transaction.atomic():
        _set_new_deploy_key(project)
        project.save(update_fields=["encrypted_deploy_key", "deploy_public_key", "updated_at"])
        audit.record(project, audit.Action.DEPLOY_KEY, actor=actor)
    return project


def _origin(url: str) -> str:
    if "://" not in url:
        return url.split(":", 1)[0]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"


def _normalised_app_root(app_root: str) -> str:
    if not app_root:
        return ""
    normalised = str(PurePosixPath(app_root))
    return "" if normalised == "." else normalised


def _assign(project: Project, fields: dict) -> None:
    unknown = set(fields) - PROJECT_FIELDS
    if unknown:
        raise TypeError(f"Unknown project fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(project, name, value.strip() if isinstance(value, str) else value)


def _set_members(project: Project, members: Iterable, *, actor=None) -> None:
    """Make the members exactly `members`: users (deployers) or (user, role) pairs."""
    wanted = {}
    for entry in members:
        user, role = entry if isinstance(entry, tuple) else (entry, Membership.Role.DEPLOYER)
        if role not in Membership.Role.values:
            raise ValidationError({"members": f"{role!r} is not a role: deployer or viewer."})
        if user.pk != project.owner_id:
            wanted[user] = role
    current = {m.user: m for m in project.memberships.select_related("user")}
    changes = []
    for user, role in wanted.items():
        name = user.get_username()
        if user not in current:
            Membership.objects.create(project=project, user=user, role=role)
            changes.append(f"+{name} ({role})")
        elif current[user].role != role:
            changes.append(f"{name} {current[user].role} → {role}")
            current[user].role = role
            current[user].save(update_fields=["role"])
    for user in current.keys() - wanted.keys():
        current[user].delete()
        changes.append(f"-{user.get_username()}")
    if changes:
        summary = " ".join(sorted(changes, key=lambda c: c.lstrip("+-")))
        audit.record(project, audit.Action.MEMBERS, actor=actor, summary=summary)


# Environment variables ------------------------------------------------------------------------


@sensitive_variables("value", "preview_value")
def add_env_var(
    project: Project,
    key: str,
    value: str,
    *,
    available_at_build: bool = False,
    production_only: bool = False,
    preview_value: str = "",
    actor=None,
) -> EnvVar:
    """A new variable; raises ValidationError (keyed "key" / "value") when invalid or taken.

    `production_only`: never given to a pull request's preview; `preview_value`: what
    previews get instead of `value` ("" for the same value)."""
    env_var = EnvVar(
        project=project,
        key=key.strip(),
        available_at_build=available_at_build,
        production_only=production_only,
    )
    _check_value(value)
    _check_key_free(env_var)
    env_var.encrypted_value = crypto.encrypt(value)
    if preview_value:
        _check_value(preview_value)
        env_var.encrypted_preview_value = crypto.encrypt(preview_value)
    env_var.full_clean()
    _save_env_var(env_var, audit.Action.ENV_ADD, env_var.key, actor)
    return env_var


@sensitive_variables("value", "preview_value")
def update_env_var(
    env_var: EnvVar,
    *,
    key: str | None = None,
    value: str | None = None,
    available_at_build: bool | None = None,
    production_only: bool | None = None,
    preview_value: str | None = None,
    actor=None,
) -> EnvVar:
    """Change what is given (None leaves it as it is; a `preview_value` of "" gives previews
    the production value again); raises ValidationError."""
    what = []
    if key is not None and key.strip() != env_var.key:
        what.append(f"renamed from {env_var.key}")
        env_var.key = key.strip()
        _check_key_free(env_var)
    if value is not None:
        _check_value(value)
        env_var.encrypted_value = crypto.encrypt(value)
        what.append("value")
    if available_at_build is not None and available_at_build != env_var.available_at_build:
        env_var.available_at_build = available_at_build
        what.append(f"available at build {'on' if available_at_build else 'off'}")
    if production_only is not None and production_only != env_var.production_only:
        env_var.production_only = production_only
        what.append(f"production only {'on' if production_only else 'off'}")
    if preview_value is not None:
        if preview_value:
            _check_value(preview_value)
        env_var.encrypted_preview_value = crypto.encrypt(preview_value) if preview_value else ""
        what.append("preview value")
    env_var.full_clean()
    summary = f"{env_var.key}: {', '.join(what)}" if what else env_var.key
    _save_env_var(env_var, audit.Action.ENV_CHANGE, summary, actor)
    return env_var


def _save_env_var(env_var: EnvVar, action: str, summary: str, actor) -> None:
    try:
        with transaction.atomic():
            env_var.save()
            audit.record(env_var.project, action, actor=actor, summary=summary)
    except IntegrityError:  # the same key added at the same moment by someone else
        raise ValidationError({"key": f"{env_var.key} is already set for this project."}) from None


def delete_env_var(env_var: EnvVar, *, actor=None) -> None:
    with transaction.atomic():
        env_var.delete()
        audit.record(env_var.project, audit.Action.ENV_DELETE, actor=actor, summary=env_var.key)


@dataclass
class EnvImport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


@sensitive_variables("text", "parsed", "entry")
@transaction.atomic
def import_env_file(project: Project, text: str, *, actor=None) -> EnvImport:
    """Add or replace every variable of a `.env` text; all or nothing.

    Raises ValidationError with one "Line N: reason" message per bad line; nothing is saved
    then. Existing variables keep their "available at build" flag.
    """
    parsed = parse_env_file(text)
    errors = list(parsed.errors)
    for entry in parsed.entries:
        try:
            validate_env_key(entry.key)
            validate_env_value(entry.value)
        except ValidationError as exc:
            errors.extend(LineError(entry.line, message) for message in exc.messages)
    if errors:
        raise ValidationError([str(error) for error in sorted(errors, key=lambda e: e.line)])
    if not parsed.entries:
        raise ValidationError("The file contains no variables.")
    existing = {env_var.key: env_var for env_var in project.env_vars.select_for_update()}
    result = EnvImport()
    for entry in parsed.entries:
        env_var = existing.get(entry.key) or EnvVar(project=project, key=entry.key)
        (result.updated if env_var.pk else result.created).append(entry.key)
        env_var.encrypted_value = crypto.encrypt(entry.value)
        env_var.save()
    summary = "; ".join(
        f"{label}: {', '.join(keys)}"
        for label, keys in (("added", result.created), ("replaced", result.updated))
        if keys
    )
    audit.record(project, audit.Action.ENV_IMPORT, actor=actor, summary=summary)
    return result


def _check_value(value: str) -> None:
    try:
        validate_env_value(value)
    except ValidationError as exc:
        raise ValidationError({"value": exc.messages}) from None


def _check_key_free(env_var: EnvVar) -> None:
    taken = EnvVar.objects.filter(project=env_var.project, key=env_var.key)
    if taken.exclude(pk=env_var.pk).exists():
        raise ValidationError({"key": f"{env_var.key} is already set for this project."})


# What the build pipeline reads ----------------------------------------------------------------


def runtime_environment(project: Project) -> dict[str, str]:
    """Every variable, decrypted, for the running container.

    A pull request's preview gets its parent's variables (each one's preview value when it
    has one, none marked production only), then its own, which win."""
    inherited: dict[str, str] = {}
    if project.parent_id:
        for env_var in EnvVar.objects.filter(project_id=project.parent_id, production_only=False):
            inherited[env_var.key] = env_var.value_for_preview() or ""
    own = {env_var.key: env_var.decrypted_value() for env_var in project.env_vars.all()}
    return {**inherited, **own}


def detection_overrides(project: Project) -> Overrides:
    """The project's settings that take precedence over detection: one source for the build
    and the detection preview."""
    return Overrides(
        framework=project.framework or "auto",
        builder=project.builder or "auto",
        entrypoint=project.entrypoint or None,
        start_command=project.start_command or None,
        requirements_file=project.requirements_file or None,
        python_version=project.python_version or None,
        health_path=project.health_check_path or None,
        system_packages=project.system_packages.split(),
        keep_sqlite=project.keep_sqlite,
    )


def environment_names(project: Project) -> set[str]:
    """The names of the project's variables (values stay encrypted), a preview's inherited ones
    included."""
    names = set(project.env_vars.values_list("key", flat=True))
    if project.parent_id:
        inherited = EnvVar.objects.filter(project_id=project.parent_id, production_only=False)
        names.update(inherited.values_list("key", flat=True))
    return names


def build_arguments(project: Project) -> dict[str, str]:
    """The variables marked "available at build", decrypted, for `docker build --build-arg`."""
    arguments: dict[str, str] = {}
    if project.parent_id:
        inherited = EnvVar.objects.filter(
            project_id=project.parent_id, production_only=False, available_at_build=True
        )
        arguments = {env_var.key: env_var.value_for_preview() or "" for env_var in inherited}
    variables = project.env_vars.filter(available_at_build=True)
    return {**arguments, **{env_var.key: env_var.decrypted_value() for env_var in variables}}


@sensitive_variables("user", "password")
def git_credentials(project: Project) -> clone.Credentials:
    """What git may use to reach this project's repository, and nothing of the worker's."""
    user, password = "", ""
    if project.encrypted_repo_credentials:
        user, colon, password = crypto.decrypt(project.encrypted_repo_credentials).partition(":")
        if not colon:  # a token alone: https://TOKEN@host/...
            user, password = "", user
        user, password = unquote(user), unquote(password)
    key = crypto.decrypt(project.encrypted_deploy_key) if project.encrypted_deploy_key else ""
    return clone.Credentials(
        username=user, password=password, ssh_private_key=key, known_hosts=project.ssh_known_hosts
    )


def remember_known_hosts(project: Project, known_hosts: str) -> None:
    """Keep the SSH host key a clone learnt, so later clones refuse a changed one."""
    if known_hosts and known_hosts != project.ssh_known_hosts:
        project.ssh_known_hosts = known_hosts
        Project.objects.filter(pk=project.pk).update(ssh_known_hosts=known_hosts)


def clone_max_bytes() -> int:
    return settings.DEPLOYER_CLONE_MAX_MB * 1024 * 1024


def secret_values(project: Project) -> list[str]:
    """Every non-empty secret of the project, longest first, for redaction in build logs.

    That is each variable's value, each add-on's password and the token of the repository
    credentials (both as stored and percent-decoded).
    """
    values = set(runtime_environment(project).values())
    values.update(addon.password() for addon in project.addons.all())  # in their URLs too
    if project.encrypted_repo_credentials:
        user, _, password = crypto.decrypt(project.encrypted_repo_credentials).partition(":")
        token = password or user
        values.update({token, unquote(token)})
    return sorted((value for value in values if value), key=lambda value: (-len(value), value))
