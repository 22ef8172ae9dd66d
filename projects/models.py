from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse

from builds.pipeline import clone
from projects import crypto
from projects.validators import (
    validate_app_root,
    validate_branch,
    validate_entrypoint,
    validate_env_key,
    validate_health_check_path,
    validate_memory_limit_mb,
    validate_python_version,
    validate_repo_url,
    validate_slug,
    validate_system_packages,
    validate_web_replicas,
)


def default_memory_limit_mb() -> int:
    """A new project's memory limit: the operator's DEPLOYER_APP_MEMORY_MB."""
    return settings.DEPLOYER_APP_MEMORY_MB


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user) -> ProjectQuerySet:
        """Projects the user owns or is a member of; staff see every project."""
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self.all()
        memberships = Membership.objects.filter(user=user).values("project_id")
        # A preview (a child project) is visible to whoever sees its parent: roles come from it.
        return self.filter(
            Q(owner=user)
            | Q(pk__in=memberships)
            | Q(parent__owner=user)
            | Q(parent__in=memberships)
        )

    def listed(self) -> ProjectQuerySet:
        """Projects as lists show them: a pull request's preview is counted under its parent
        (`preview_count`), not listed."""
        previews = Count("children", filter=Q(children__deleting_at__isnull=True))
        return self.filter(parent__isnull=True).annotate(preview_count=previews)


class Project(models.Model):
    class Framework(models.TextChoices):
        AUTO = "auto", "Detect automatically"
        DJANGO = "django", "Django"
        FLASK = "flask", "Flask"
        FASTAPI = "fastapi", "FastAPI"
        DOCKERFILE = "dockerfile", "Dockerfile in the repository"
        PROCFILE = "procfile", "Procfile"
        COMMAND = "command", "Start command below"

    slug = models.CharField(
        "name",
        max_length=63,
        unique=True,
        validators=[validate_slug],
        help_text="Lowercase letters, digits and hyphens; the app is served at <name>.<domain>.",
    )
    repo_url = models.CharField(
        "repository URL",
        max_length=500,
        validators=[validate_repo_url],
        help_text="https://, ssh:// or git@host:path. Credentials in an https URL "
        "(https://user:token@host/...) are stored encrypted and never shown again.",
    )
    # Fernet token of the "user:token" part split off an https URL; empty when none.
    encrypted_repo_credentials = models.TextField(blank=True, editable=False)
    # The project's SSH deploy key (ssh:// and git@ URLs): the private half as a Fernet token,
    # the public half shown to the owner to add to the git host. Never the worker's own key.
    encrypted_deploy_key = models.TextField(blank=True, editable=False)
    deploy_public_key = models.TextField("deploy key", blank=True, editable=False)
    # known_hosts lines of the project's SSH git host, learnt on the first clone.
    ssh_known_hosts = models.TextField(blank=True, editable=False)
    branch = models.CharField(max_length=255, default="main", validators=[validate_branch])
    app_root = models.CharField(
        "app root",
        max_length=255,
        blank=True,
        validators=[validate_app_root],
        help_text="Directory of the app inside the repository (monorepos); empty for the root.",
    )
    framework = models.CharField(max_length=20, choices=Framework, default=Framework.AUTO)
    start_command = models.CharField(
        max_length=1000, blank=True, help_text="Overrides the detected command; empty to detect."
    )
    entrypoint = models.CharField(
        "entry point",
        max_length=255,
        blank=True,
        validators=[validate_entrypoint],
        help_text="module:attribute of the WSGI/ASGI app, e.g. myapp.wsgi:application; empty to detect.",
    )
    python_version = models.CharField(
        "Python version",
        max_length=10,
        blank=True,
        validators=[validate_python_version],
        help_text="e.g. 3.13; overrides what the repository asks for. Empty to follow the repository.",
    )
    requirements_file = models.CharField(
        max_length=255,
        blank=True,
        validators=[validate_app_root],
        help_text="A requirements file with another name, e.g. requirements/prod.txt.",
    )
    system_packages = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_system_packages],
        help_text="Extra Debian packages the build needs, separated by spaces (e.g. libpq-dev).",
    )
    health_check_path = models.CharField(
        max_length=255,
        blank=True,
        validators=[validate_health_check_path],
        help_text="e.g. /healthz; empty to let detection decide.",
    )
    builder = models.CharField(
        max_length=20,
        choices=[
            ("auto", "Automatic: the repository's Dockerfile when it has one"),
            ("dockerfile", "The repository's own Dockerfile"),
            ("generated", "Deployer's generated Dockerfile"),
        ],
        default="auto",
        help_text=(
            "How the image is built. Choose the generated one when the repository's Dockerfile "
            "is made for another platform (it expects a mounted .env, a compose service, a dev "
            "server)."
        ),
    )
    container_port = models.PositiveIntegerField(
        default=8000,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text=(
            "The port the app listens on in its container (its PORT). An own Dockerfile's "
            "image that binds or EXPOSEs another port is reached there while this stays 8000."
        ),
    )
    memory_limit_mb = models.PositiveIntegerField(
        "memory limit (MB)",
        default=default_memory_limit_mb,
        validators=[validate_memory_limit_mb],
    )
    web_replicas = models.PositiveSmallIntegerField(
        "web replicas",
        default=1,
        validators=[validate_web_replicas],
        help_text=(
            "How many web containers of each deploy serve behind the router, each health-checked "
            "before the switch. At most DEPLOYER_MAX_REPLICAS."
        ),
    )
    run_as_root = models.BooleanField(
        "run the own image as root",
        default=False,
        help_text=(
            "Only for a repository's own Dockerfile that sets no USER: run it as root (with a few "
            "capabilities to drop to its own user) instead of Deployer's app user, uid 10001."
        ),
    )
    keep_sqlite = models.BooleanField(
        "keep the SQLite database",
        default=True,
        help_text=(
            "A Django app whose settings use SQLite keeps the database file on the project's "
            "own volume, shared by the release command and the app and kept across deploys. "
            "Off: the file stays on the container's filesystem and is lost at every deploy."
        ),
    )
    # The kept SQLite databases' size, read inside the live container after each deploy.
    data_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    data_measured_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when an owner asked to delete the project: the worker removes its containers,
    # images, volumes and routes, then the row (the web process need not reach the engine).
    deleting_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the project's images take on the engine's disk, recorded by housekeeping.
    images_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    images_measured_at = models.DateTimeField(null=True, blank=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_projects"
    )
    # Everyone but the owner who may see the project, each with a role (projects/permissions.py).
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_projects", through="Membership"
    )
    # Set on a pull request's preview (previews/): the production project it previews. A
    # preview is hidden from lists, takes its people's roles and its variables from the parent.
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    # Settings only the owner (or staff) changes, on the Settings page and through the API: where
    # the project's credentials and deploy key are sent, who is a member, and the weaker fence
    # of running as root.
    OWNER_FIELDS = frozenset({"repo_url", "members", "forget_credentials", "run_as_root"})

    # What users may set, in the order forms show it (the services validate each).
    EDITABLE_FIELDS = (
        "slug",
        "repo_url",
        "branch",
        "app_root",
        "builder",
        "framework",
        "start_command",
        "entrypoint",
        "python_version",
        "requirements_file",
        "system_packages",
        "health_check_path",
        "container_port",
        "memory_limit_mb",
        "web_replicas",
        "run_as_root",
        "keep_sqlite",
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("projects:detail", args=[self.slug])

    @property
    def app_host(self) -> str:
        """The host name the app is served at, and sent as the Host of its health checks."""
        return f"{self.slug}.{settings.DEPLOYER_BASE_DOMAIN.lower()}"

    @property
    def has_repo_credentials(self) -> bool:
        return bool(self.encrypted_repo_credentials)

    @property
    def uses_ssh(self) -> bool:
        return clone.is_ssh_url(self.repo_url)


class Membership(models.Model):
    """A user's role in a project they do not own. What each role may do is the table in
    projects/permissions.py; the owner is Project.owner and staff may do everything."""

    class Role(models.TextChoices):
        DEPLOYER = "deployer", "Deployer"
        VIEWER = "viewer", "Viewer"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role, default=Role.DEPLOYER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # unique_together, not a named constraint: the table was Django's auto-created M2M table,
        # whose unique index has a generated name (migration 0011).
        unique_together = [("project", "user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.project}"


class EnvVar(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="env_vars")
    key = models.CharField(max_length=255, validators=[validate_env_key])
    # A Fernet token; the plaintext exists only in memory (see projects.crypto).
    encrypted_value = models.TextField(editable=False)
    available_at_build = models.BooleanField(
        "available at build",
        default=False,
        help_text="Also pass it as a build argument (it may then end up in the image).",
    )
    production_only = models.BooleanField(
        "production only",
        default=False,
        help_text="Never given to a pull request's preview (keep production secrets there).",
    )
    # A Fernet token of the value previews get instead; empty: previews get the value above.
    encrypted_preview_value = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name = "environment variable"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "key"],
                name="envvar_unique_key_per_project",
                violation_error_message="This project already has a variable with this key.",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    def decrypted_value(self) -> str:
        return crypto.decrypt(self.encrypted_value)

    @property
    def has_preview_value(self) -> bool:
        return bool(self.encrypted_preview_value)

    def value_for_preview(self) -> str | None:
        """What a preview gets: None when the variable is production only."""
        if self.production_only:
            return None
        if self.encrypted_preview_value:
            return crypto.decrypt(self.encrypted_preview_value)
        return self.decrypted_value()


class AuditEntry(models.Model):
    """Who did what to a project, and when: kept DEPLOYER_KEEP_AUDIT_DAYS days, and after
    the project is gone (its name stays). A variable's key is recorded, never its value."""

    class Action(models.TextChoices):
        CREATE = "project.create", "Project created"
        SETTINGS = "project.settings", "Settings changed"
        MEMBERS = "project.members", "Members changed"
        DEPLOY_KEY = "project.deploy_key", "Deploy key replaced"
        DELETE = "project.delete", "Deletion requested"
        DEPLOY = "build.deploy", "Deploy requested"
        ROLLBACK = "build.rollback", "Rollback requested"
        CANCEL = "build.cancel", "Build cancelled"
        ENV_ADD = "env.add", "Variable added"
        ENV_CHANGE = "env.change", "Variable changed"
        ENV_DELETE = "env.delete", "Variable deleted"
        ENV_IMPORT = "env.import", "Variables imported"
        DOMAIN_ADD = "domain.add", "Domain added"
        DOMAIN_REMOVE = "domain.remove", "Domain removed"
        ADDON_CREATE = "addon.create", "Add-on created"
        ADDON_REMOVE = "addon.remove", "Add-on removed"
        ADDON_RESTORE = "addon.restore", "Add-on restored"

    project = models.ForeignKey(
        Project, null=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    project_slug = models.CharField(max_length=63)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who, in words: the user's name then, or what acted (a webhook delivery, a token, a command).
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=40, choices=Action.choices)
    summary = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["project", "-created_at"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.project_slug}: {self.get_action_display()} by {self.actor_label}"
