"""Deployer's settings, all read from the environment (12-factor).

Every setting has a documented default (README, "Configuration"). With nothing
set, Deployer runs on one machine with an SQLite file and a file-system Celery
broker. A malformed value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from deployer import sizing
from deployer.keys import fernet_keys

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
DEFAULT_SECRET_KEY = "django-insecure-deployer-development-key-do-not-use-in-production"

env = environ.Env()


def _read(name: str, cast, default):
    """Read one variable strictly: a value that does not parse names itself."""
    try:
        return env.get_value(name, cast=cast, default=default)
    except (ValueError, TypeError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(
            f"Environment variable {name}={env.str(name, default='')!r} is invalid: {exc}"
        ) from exc


DEPLOYER_ENV = _read("DEPLOYER_ENV", str, "development")
# The version this code is (the image sets it from its git commit at build time).
DEPLOYER_VERSION = _read("DEPLOYER_VERSION", str, "0.1.0+dev")
if DEPLOYER_ENV not in ("development", "production"):
    raise ImproperlyConfigured("DEPLOYER_ENV must be 'development' or 'production'.")
PRODUCTION = DEPLOYER_ENV == "production"

SECRET_KEY = _read("SECRET_KEY", str, DEFAULT_SECRET_KEY)
DEBUG = _read("DEBUG", bool, not PRODUCTION)
ALLOWED_HOSTS = _read("ALLOWED_HOSTS", list, ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = _read("CSRF_TRUSTED_ORIGINS", list, [])

if PRODUCTION:
    if SECRET_KEY == DEFAULT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "DEPLOYER_ENV=production needs SECRET_KEY set to a random value of 32+ characters."
        )
    if DEBUG:
        raise ImproperlyConfigured("DEPLOYER_ENV=production refuses DEBUG=True.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "deployer",
    "projects",
    "builds",
    "webhooks",
    "routing",
    "monitoring",
    "addons",
    "volumes",
    "processes",
    "previews",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "deployer.htmx.HtmxMiddleware",
    "api.middleware.JsonMethodNotAllowed",
]

ROOT_URLCONF = "deployer.urls"
WSGI_APPLICATION = "deployer.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url_config(_read("DATABASE_URL", str, f"sqlite:///{VAR_DIR / 'db.sqlite3'}")),
}
if not DATABASES["default"].get("ENGINE"):
    raise ImproperlyConfigured("DATABASE_URL must start with postgres:// or sqlite://.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Builds write log lines while pages read them: WAL and a busy timeout
    # keep the embedded database usable with a web process and a worker.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DATABASES["default"]["CONN_MAX_AGE"] = _read("DATABASE_CONN_MAX_AGE", int, 60)
# A kept connection is checked on its first use in a request or task (one `SELECT 1`),
# so a restarted database costs a reconnect, never a failed request or build.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = _read("STATIC_ROOT", str, str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Production hardening (issue 18, part 9). README "Security", "Production hardening".
# Cookies, HTTPS and HSTS: off by default, set in .env.example for production, so that
# `manage.py check --deploy` is clean there and a plain-HTTP development setup still works.
SESSION_COOKIE_SECURE = _read("SESSION_COOKIE_SECURE", bool, False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = _read("SECURE_SSL_REDIRECT", bool, False)
# A monitor on the host asks for /healthz over plain HTTP; it is never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _read("SECURE_HSTS_SECONDS", int, 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _read("SECURE_HSTS_INCLUDE_SUBDOMAINS", bool, False)
SECURE_HSTS_PRELOAD = _read("SECURE_HSTS_PRELOAD", bool, False)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured("SECURE_HSTS_SECONDS cannot be negative.")
# Off by default, a decision rather than an oversight: apps live at <project>.<base domain>,
# often a subdomain of the dashboard's own domain and possibly on plain HTTP
# (DEPLOYER_HTTPS=false), and a preload listing cannot be taken back quickly. So check --deploy's
# reminders of these two are silenced; setting either to true is the operator's call.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
# Headers a proxy sets (X-Forwarded-Proto, X-Forwarded-For) are believed only when the
# dashboard is reachable through that proxy alone (Caddy on the same host, which replaces
# what the client sent). Otherwise anyone could claim HTTPS or another address.
DEPLOYER_BEHIND_PROXY = _read("DEPLOYER_BEHIND_PROXY", bool, False)
# The proxy's own addresses: a request from one of them that carries forwarding headers is
# a proxied request (deployer/clientip.py), never "from loopback".
DEPLOYER_PROXY_ADDRESSES = _read("DEPLOYER_PROXY_ADDRESSES", list, ["127.0.0.1", "::1"])
for _address in DEPLOYER_PROXY_ADDRESSES:
    try:
        ipaddress.ip_address(_address)
    except ValueError:
        raise ImproperlyConfigured(
            f"DEPLOYER_PROXY_ADDRESSES must list IP addresses; {_address!r} is not one."
        ) from None
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if DEPLOYER_BEHIND_PROXY else None
if SECURE_SSL_REDIRECT and not DEPLOYER_BEHIND_PROXY and PRODUCTION:
    # Behind Caddy every request reaches gunicorn over plain HTTP: without the proxy's
    # header Django would redirect every request to itself, forever.
    raise ImproperlyConfigured(
        "SECURE_SSL_REDIRECT=true needs DEPLOYER_BEHIND_PROXY=true when the dashboard is "
        "served through Caddy (gunicorn itself speaks plain HTTP)."
    )
# Sign-in throttling (django-axes): DEPLOYER_LOGIN_FAILURE_LIMIT wrong passwords for one
# user name from one address lock that pair out for DEPLOYER_LOGIN_COOLOFF_MINUTES. Locking
# the pair, not the user name alone, means an attacker cannot lock a user out everywhere;
# `manage.py axes_reset` (or axes_reset_username NAME) lifts locks at once.
AXES_ENABLED = _read("DEPLOYER_LOGIN_THROTTLING", bool, True)
AXES_FAILURE_LIMIT = _read("DEPLOYER_LOGIN_FAILURE_LIMIT", int, 5)
_cooloff_minutes = _read("DEPLOYER_LOGIN_COOLOFF_MINUTES", float, 15.0)
if AXES_FAILURE_LIMIT <= 0 or _cooloff_minutes <= 0:
    raise ImproperlyConfigured(
        "DEPLOYER_LOGIN_FAILURE_LIMIT and DEPLOYER_LOGIN_COOLOFF_MINUTES must be greater than zero."
    )
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff_minutes)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "deployer.clientip.client_ip"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")

# Celery. REDIS_URL selects Redis; without it a file-system broker under
# var/ lets a worker and beat run on this one host with no server at all.
REDIS_URL = _read("REDIS_URL", str, "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in ("queue", "control", "processed"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    # kombu's transport with atomic writes (deployer/broker.py): a message read half-written
    # stopped the worker.
    CELERY_BROKER_TRANSPORT = "deployer.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # How often the worker lists the folder for new messages (kombu's default is 1 s, on
        # average half a second added to every deploy of the quick start). A listing of a
        # near-empty folder costs microseconds.
        "polling_interval": 0.1,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The cache holds only counters (the API's write limit): Redis when there is one, so every
# web process counts together; otherwise each process's memory.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless this is
# set: every build then paid a new PostgreSQL connection (15-20 ms) before it could start.
# Tasks reuse their process's connection; deployer/celery.py drops one that is past
# CONN_MAX_AGE or broken before each task, as Django does per request.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SOFT_TIME_LIMIT = _read("DEPLOYER_TASK_SOFT_TIME_LIMIT", int, 1800)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Sized from the machine (deployer/sizing.py; README "At rest"): the worker runs its tasks in
# threads of one process (DEPLOYER_WORKER_POOL=threads; prefork costs a whole process, about
# 70 MB, per slot), DEPLOYER_WORKER_CONCURRENCY at once (0: two per core, one per GB of memory,
# at most 16). gunicorn's config (gunicorn.conf.py) reads DEPLOYER_WEB_WORKERS (0: one per two
# cores and per 2 GB, at most 4) and DEPLOYER_WEB_THREADS the same way. Time limits hold under
# either pool (deployer/worker_steps.py).
SIZING = sizing.from_environment(env.ENVIRON)
# The threads pool with a wake-up of the worker's loop after each task (deployer/worker_pool.py).
CELERY_WORKER_POOL = {"threads": "deployer.worker_pool:TaskPool"}.get(
    SIZING.worker_pool, SIZING.worker_pool
)
CELERY_WORKER_CONCURRENCY = SIZING.worker_concurrency
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "builds.tasks.record_worker_heartbeat",
        "schedule": _read("DEPLOYER_HEARTBEAT_INTERVAL", float, 30.0),
    },
    "reap-lost-builds": {
        "task": "builds.tasks.reap_lost_builds",
        "schedule": _read("DEPLOYER_REAPER_INTERVAL", float, 15.0),
    },
    # The build rows are the outbox: a queued build whose task message was lost (the broker
    # restarted, or was down when it was sent) is sent again within about a minute.
    "dispatch-stranded-builds": {
        "task": "builds.tasks.dispatch_stranded_builds",
        "schedule": _read("DEPLOYER_QUEUE_SWEEP_INTERVAL", float, 20.0),
    },
}
# Housekeeping (deployer/housekeeping.py): every DEPLOYER_HOUSEKEEPING_INTERVAL seconds, this
# installation's images beyond each project's rollback window, dangling images of its builds and
# containers no deployment owns are removed; log lines of all but each project's newest
# DEPLOYER_KEEP_BUILD_LOGS builds, and deliveries, health checks and notification deliveries older
# than DEPLOYER_RETENTION_DAYS are deleted. A build is refused when the engine's disk has less than
# DEPLOYER_MIN_FREE_DISK_MB free (0: no check).
DEPLOYER_HOUSEKEEPING_INTERVAL = _read("DEPLOYER_HOUSEKEEPING_INTERVAL", float, 3600.0)
DEPLOYER_KEEP_BUILD_LOGS = _read("DEPLOYER_KEEP_BUILD_LOGS", int, 50)
DEPLOYER_RETENTION_DAYS = _read("DEPLOYER_RETENTION_DAYS", int, 30)
DEPLOYER_MIN_FREE_DISK_MB = _read("DEPLOYER_MIN_FREE_DISK_MB", int, 2048)
# The audit log (who did what to a project) is kept longer: an answer to "who changed this?"
# is often wanted months later.
DEPLOYER_AUDIT_RETENTION_DAYS = _read("DEPLOYER_AUDIT_RETENTION_DAYS", int, 365)
if min(DEPLOYER_KEEP_BUILD_LOGS, DEPLOYER_RETENTION_DAYS, DEPLOYER_AUDIT_RETENTION_DAYS) < 1:
    raise ImproperlyConfigured(
        "DEPLOYER_KEEP_BUILD_LOGS, DEPLOYER_RETENTION_DAYS and DEPLOYER_AUDIT_RETENTION_DAYS "
        "must be at least 1."
    )
CELERY_BEAT_SCHEDULE["housekeeping"] = {
    "task": "deployer.tasks.housekeeping",
    "schedule": DEPLOYER_HOUSEKEEPING_INTERVAL,
}
# The installation's id on everything it creates (builds/installation.py); empty: the one
# stored in the database at the first migration.
DEPLOYER_INSTALLATION_ID = _read("DEPLOYER_INSTALLATION_ID", str, "")
# A queued build whose message no worker has touched for this long is sent again.
DEPLOYER_QUEUE_STALE_SECONDS = _read("DEPLOYER_QUEUE_STALE_SECONDS", float, 45.0)

# Deployer's own settings.
DEPLOYER_DOCKER_TIMEOUT = _read("DEPLOYER_DOCKER_TIMEOUT", int, 60)
DEPLOYER_BASE_IMAGE = _read("DEPLOYER_BASE_IMAGE", str, "python:{version}-slim")
# Issue 18, "builds see only what is theirs": an own Dockerfile may name registry images
# outside deployer/, its own stages, the base image and these glob patterns; `# syntax=`
# may name only these BuildKit frontend repositories.
DEPLOYER_ALLOWED_IMAGES = _read("DEPLOYER_ALLOWED_IMAGES", list, [])
DEPLOYER_DOCKERFILE_FRONTENDS = _read("DEPLOYER_DOCKERFILE_FRONTENDS", list, ["docker/dockerfile"])
DEPLOYER_PYTHON_VERSIONS = _read("DEPLOYER_PYTHON_VERSIONS", list, ["auto"])
DEPLOYER_BASE_DOMAIN = _read("DEPLOYER_BASE_DOMAIN", str, "localhost")
DEPLOYER_BUILD_TIMEOUT = _read("DEPLOYER_BUILD_TIMEOUT", int, 900)
DEPLOYER_CLONE_TIMEOUT = _read("DEPLOYER_CLONE_TIMEOUT", int, 120)
# Git is a parser, not a shell (issue 18, part "git"): a clone whose checkout (with .git)
# grows past this many MB is stopped.
DEPLOYER_CLONE_MAX_MB = _read("DEPLOYER_CLONE_MAX_MB", int, 1024)
if DEPLOYER_CLONE_MAX_MB < 1:
    raise ImproperlyConfigured("DEPLOYER_CLONE_MAX_MB must be at least 1 (megabytes).")
# Each project's bare git mirror on the worker host (builds/mirrors.py): a push fetches only
# what it adds. Removed with the project, or by housekeeping after this many days unused.
DEPLOYER_GIT_MIRRORS = _read("DEPLOYER_GIT_MIRRORS", bool, True)
DEPLOYER_GIT_MIRROR_DIR = _read("DEPLOYER_GIT_MIRROR_DIR", str, str(VAR_DIR / "git-mirrors"))
DEPLOYER_GIT_MIRROR_MAX_DAYS = _read("DEPLOYER_GIT_MIRROR_MAX_DAYS", float, 14.0)
DEPLOYER_RELEASE_TIMEOUT = _read("DEPLOYER_RELEASE_TIMEOUT", int, 600)
DEPLOYER_HEALTH_TIMEOUT = _read("DEPLOYER_HEALTH_TIMEOUT", float, 60.0)
DEPLOYER_STOP_GRACE = _read("DEPLOYER_STOP_GRACE", int, 10)
DEPLOYER_KEEP_IMAGES = _read("DEPLOYER_KEEP_IMAGES", int, 5)
DEPLOYER_BUILD_LOG_MAX_LINES = _read("DEPLOYER_BUILD_LOG_MAX_LINES", int, 10000)
# How long a live log's follower waits after an answer before asking for the next lines: a
# line reaches the browser within about this plus two request times (bench/log_followers.py).
DEPLOYER_LOG_POLL_MS = _read("DEPLOYER_LOG_POLL_MS", int, 250)
if not 50 <= DEPLOYER_LOG_POLL_MS <= 10_000:
    raise ImproperlyConfigured("DEPLOYER_LOG_POLL_MS must be 50 to 10000 (milliseconds).")
# A longer line (a progress bar, a minified file, output with no newline) is cut, saying so.
DEPLOYER_BUILD_LOG_MAX_LINE_CHARS = _read("DEPLOYER_BUILD_LOG_MAX_LINE_CHARS", int, 8192)
# The logs section: lines the page shows first and follows from, and a download's maximum.
DEPLOYER_RUNTIME_LOG_LINES = _read("DEPLOYER_RUNTIME_LOG_LINES", int, 200)
DEPLOYER_RUNTIME_LOG_DOWNLOAD_LINES = _read("DEPLOYER_RUNTIME_LOG_DOWNLOAD_LINES", int, 10000)
if DEPLOYER_BUILD_LOG_MAX_LINE_CHARS < 80:
    raise ImproperlyConfigured("DEPLOYER_BUILD_LOG_MAX_LINE_CHARS must be at least 80.")
DEPLOYER_BUILD_HEARTBEAT_SECONDS = _read("DEPLOYER_BUILD_HEARTBEAT_SECONDS", float, 5.0)
DEPLOYER_BUILD_HEARTBEAT_TIMEOUT = _read("DEPLOYER_BUILD_HEARTBEAT_TIMEOUT", float, 60.0)
# Issue 18, repository content is data (builds/pipeline/context.py): the build context Deployer
# streams holds at most this many files and MB after .dockerignore; every build step runs with at
# most DEPLOYER_BUILD_MEMORY_MB of memory (no swap) and DEPLOYER_BUILD_CPUS CPUs (0: no hard
# cap; issue 22: a build step has half an app's CPU weight, so it uses the idle cores, as
# `docker build` by hand does, and yields to running apps: a 1-CPU cap made installs slower).
DEPLOYER_BUILD_CONTEXT_MAX_FILES = _read("DEPLOYER_BUILD_CONTEXT_MAX_FILES", int, 50_000)
DEPLOYER_BUILD_CONTEXT_MAX_MB = _read("DEPLOYER_BUILD_CONTEXT_MAX_MB", int, 500)
DEPLOYER_BUILD_MEMORY_MB = _read("DEPLOYER_BUILD_MEMORY_MB", int, 2048)
DEPLOYER_BUILD_CPUS = _read("DEPLOYER_BUILD_CPUS", float, 0.0)
if DEPLOYER_BUILD_CONTEXT_MAX_FILES < 1 or DEPLOYER_BUILD_CONTEXT_MAX_MB < 1:
    raise ImproperlyConfigured("DEPLOYER_BUILD_CONTEXT_MAX_FILES and _MAX_MB must be at least 1.")
if DEPLOYER_BUILD_MEMORY_MB != 0 and DEPLOYER_BUILD_MEMORY_MB < 64:
    raise ImproperlyConfigured("DEPLOYER_BUILD_MEMORY_MB must be 0 (no cap) or at least 64.")
if DEPLOYER_BUILD_CPUS != 0 and DEPLOYER_BUILD_CPUS < 0.01:
    raise ImproperlyConfigured("DEPLOYER_BUILD_CPUS must be 0 (no cap) or at least 0.01.")
# Issue 22 (builds/package_cache.py): builds of plans that install from public PyPI alone
# download through a shared caching proxy (proxpi) on its own network; off: straight to PyPI.
DEPLOYER_PACKAGE_CACHE = _read("DEPLOYER_PACKAGE_CACHE", bool, True)
DEPLOYER_PACKAGE_CACHE_MB = _read("DEPLOYER_PACKAGE_CACHE_MB", int, 5000)
if DEPLOYER_PACKAGE_CACHE_MB < 100:
    raise ImproperlyConfigured("DEPLOYER_PACKAGE_CACHE_MB must be at least 100.")
DEPLOYER_MEMORY_SAMPLE_DELAY = _read("DEPLOYER_MEMORY_SAMPLE_DELAY", float, 60.0)
DEPLOYER_ALLOW_LOCAL_REPOS = _read("DEPLOYER_ALLOW_LOCAL_REPOS", bool, False)
# App container fence (issue 18, part 7; builds/pipeline/fence.py): every app and release
# container gets DEPLOYER_APP_CPUS CPUs, at most DEPLOYER_APP_PIDS_LIMIT processes and threads,
# its project's memory limit (default DEPLOYER_APP_MEMORY_MB, at most DEPLOYER_APP_MEMORY_MAX_MB),
# logs rotated by the DEPLOYER_APP_LOG_DRIVER (json-file or local) at DEPLOYER_APP_LOG_MAX_SIZE
# (e.g. 10m) times DEPLOYER_APP_LOG_MAX_FILES files, and DEPLOYER_CONTAINER_RUNTIME (empty: the
# engine's default; e.g. runsc for gVisor, checked against the engine's runtimes at each build).
DEPLOYER_APP_CPUS = _read("DEPLOYER_APP_CPUS", float, 1.0)
DEPLOYER_APP_PIDS_LIMIT = _read("DEPLOYER_APP_PIDS_LIMIT", int, 512)
DEPLOYER_APP_MEMORY_MB = _read("DEPLOYER_APP_MEMORY_MB", int, 512)
DEPLOYER_APP_MEMORY_MAX_MB = _read("DEPLOYER_APP_MEMORY_MAX_MB", int, 4096)
DEPLOYER_APP_LOG_DRIVER = _read("DEPLOYER_APP_LOG_DRIVER", str, "json-file")
DEPLOYER_APP_LOG_MAX_SIZE = _read("DEPLOYER_APP_LOG_MAX_SIZE", str, "10m").lower()
DEPLOYER_APP_LOG_MAX_FILES = _read("DEPLOYER_APP_LOG_MAX_FILES", int, 3)
DEPLOYER_CONTAINER_RUNTIME = _read("DEPLOYER_CONTAINER_RUNTIME", str, "").strip()
# Add-ons (addons/): a project's PostgreSQL and Redis run from these images (on a machine with
# no registry, the local stand-ins scripts/service-images.sh builds), with this memory, and must
# accept connections within DEPLOYER_ADDON_READY_TIMEOUT seconds of starting.
DEPLOYER_ADDON_POSTGRES_IMAGE = _read("DEPLOYER_ADDON_POSTGRES_IMAGE", str, "postgres:15")
DEPLOYER_ADDON_REDIS_IMAGE = _read("DEPLOYER_ADDON_REDIS_IMAGE", str, "redis:7.0")
DEPLOYER_ADDON_MEMORY_MB = _read("DEPLOYER_ADDON_MEMORY_MB", int, 256)
DEPLOYER_ADDON_READY_TIMEOUT = _read("DEPLOYER_ADDON_READY_TIMEOUT", float, 90.0)
# Where add-on backups are written (addons/backups.py), one folder per project.
DEPLOYER_BACKUP_DIR = _read("DEPLOYER_BACKUP_DIR", str, str(VAR_DIR / "backups"))
# An off-site copy of every verified add-on backup (addons/offsite.py), where the operator has
# an S3-compatible store: s3://BUCKET/PREFIX, the endpoint of a store that is not AWS (MinIO,
# Ceph, R2, ...) and its region. Credentials come the usual way of boto3 (AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, or the machine's role). Empty: backups stay on this machine only.
DEPLOYER_BACKUP_S3_URL = _read("DEPLOYER_BACKUP_S3_URL", str, "").strip()
DEPLOYER_BACKUP_S3_ENDPOINT = _read("DEPLOYER_BACKUP_S3_ENDPOINT", str, "").strip()
DEPLOYER_BACKUP_S3_REGION = _read("DEPLOYER_BACKUP_S3_REGION", str, "").strip()
if DEPLOYER_BACKUP_S3_URL and not re.fullmatch(
    r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\s]*)?", DEPLOYER_BACKUP_S3_URL
):
    raise ImproperlyConfigured(
        "DEPLOYER_BACKUP_S3_URL must look like s3://bucket/optional/prefix "
        f"(got {DEPLOYER_BACKUP_S3_URL[:80]!r})."
    )
if DEPLOYER_BACKUP_S3_ENDPOINT and not DEPLOYER_BACKUP_S3_ENDPOINT.startswith(
    ("https://", "http://")
):
    raise ImproperlyConfigured("DEPLOYER_BACKUP_S3_ENDPOINT must be an http(s):// address.")
# A new add-on's backup schedule and retention (each add-on can change its own): a backup
# every this many hours (0: none scheduled), the newest this many kept. The worker looks for
# backups that are due every DEPLOYER_ADDON_BACKUP_CHECK_INTERVAL seconds.
DEPLOYER_ADDON_BACKUP_EVERY_HOURS = _read("DEPLOYER_ADDON_BACKUP_EVERY_HOURS", int, 24)
DEPLOYER_ADDON_KEEP_BACKUPS = _read("DEPLOYER_ADDON_KEEP_BACKUPS", int, 7)
DEPLOYER_ADDON_BACKUP_CHECK_INTERVAL = _read("DEPLOYER_ADDON_BACKUP_CHECK_INTERVAL", float, 900.0)
if DEPLOYER_ADDON_BACKUP_EVERY_HOURS < 0 or DEPLOYER_ADDON_KEEP_BACKUPS < 1:
    raise ImproperlyConfigured(
        "DEPLOYER_ADDON_BACKUP_EVERY_HOURS must be 0 or more and DEPLOYER_ADDON_KEEP_BACKUPS "
        "at least 1."
    )
CELERY_BEAT_SCHEDULE["addon-backups"] = {
    "task": "addons.tasks.take_due_backups",
    "schedule": DEPLOYER_ADDON_BACKUP_CHECK_INTERVAL,
}
# Every ready add-on is asked whether it answers (pg_isready, redis PING) this often (seconds);
# a change to down or back up is an event and a notification.
DEPLOYER_ADDON_HEALTH_INTERVAL = _read("DEPLOYER_ADDON_HEALTH_INTERVAL", float, 60.0)
if DEPLOYER_ADDON_HEALTH_INTERVAL <= 0:
    raise ImproperlyConfigured("DEPLOYER_ADDON_HEALTH_INTERVAL must be above 0.")
# Volumes (volumes/): detached ones are removed, and every one measured, this often (seconds).
DEPLOYER_VOLUME_CHECK_INTERVAL = _read("DEPLOYER_VOLUME_CHECK_INTERVAL", float, 300.0)
if DEPLOYER_VOLUME_CHECK_INTERVAL <= 0:
    raise ImproperlyConfigured("DEPLOYER_VOLUME_CHECK_INTERVAL must be above 0.")
CELERY_BEAT_SCHEDULE["settle-volumes"] = {
    "task": "volumes.tasks.settle_volumes",
    "schedule": DEPLOYER_VOLUME_CHECK_INTERVAL,
    "options": {"expires": DEPLOYER_VOLUME_CHECK_INTERVAL},
}
CELERY_BEAT_SCHEDULE["addon-health"] = {
    "task": "addons.tasks.check_addons",
    "schedule": DEPLOYER_ADDON_HEALTH_INTERVAL,
    "options": {"expires": DEPLOYER_ADDON_HEALTH_INTERVAL},
}
# Backups of Deployer's own database (deployer/platform_backup.py): every
# DEPLOYER_PLATFORM_BACKUP_INTERVAL hours (0: only when asked), the newest
# DEPLOYER_PLATFORM_BACKUP_KEEP verified ones kept, in DEPLOYER_PLATFORM_BACKUP_DIR. `platform
# doctor` calls the last verified one stale after DEPLOYER_PLATFORM_BACKUP_MAX_AGE_HOURS.
DEPLOYER_PLATFORM_BACKUP_DIR = _read(
    "DEPLOYER_PLATFORM_BACKUP_DIR", str, str(Path(DEPLOYER_BACKUP_DIR) / "platform")
)
DEPLOYER_PLATFORM_BACKUP_INTERVAL = _read("DEPLOYER_PLATFORM_BACKUP_INTERVAL", float, 24.0)
DEPLOYER_PLATFORM_BACKUP_KEEP = _read("DEPLOYER_PLATFORM_BACKUP_KEEP", int, 7)
DEPLOYER_PLATFORM_BACKUP_MAX_AGE_HOURS = _read(
    "DEPLOYER_PLATFORM_BACKUP_MAX_AGE_HOURS", float, 2 * DEPLOYER_PLATFORM_BACKUP_INTERVAL or 48.0
)
if DEPLOYER_PLATFORM_BACKUP_INTERVAL < 0 or DEPLOYER_PLATFORM_BACKUP_KEEP < 1:
    raise ImproperlyConfigured(
        "DEPLOYER_PLATFORM_BACKUP_INTERVAL cannot be negative and DEPLOYER_PLATFORM_BACKUP_KEEP "
        "must be at least 1."
    )
if DEPLOYER_PLATFORM_BACKUP_INTERVAL:
    CELERY_BEAT_SCHEDULE["platform-backup"] = {
        "task": "deployer.tasks.platform_backup",
        "schedule": DEPLOYER_PLATFORM_BACKUP_INTERVAL * 3600,
    }
# The web service in production has no Docker socket: its /healthz reports the engine as the
# workers last saw it (deployer/platform_state.py) instead of asking it.
# It asks a worker over Redis for what its pages read from the engine (deployer/engine_relay.py).
DEPLOYER_ENGINE_FROM_WORKER = _read("DEPLOYER_ENGINE_FROM_WORKER", bool, False)
if DEPLOYER_ENGINE_FROM_WORKER and not REDIS_URL:
    raise ImproperlyConfigured(
        "DEPLOYER_ENGINE_FROM_WORKER=true needs REDIS_URL: the web asks the worker through Redis."
    )
# Every minute the worker records what it sees of the engine for the staff page (/platform/):
# the web process has no Docker socket in production.
CELERY_BEAT_SCHEDULE["record-engine-state"] = {
    "task": "deployer.tasks.record_engine_state",
    "schedule": 60.0,
    "options": {"expires": 60.0},
}
if DEPLOYER_ADDON_MEMORY_MB < 64:
    raise ImproperlyConfigured("DEPLOYER_ADDON_MEMORY_MB must be at least 64.")
if DEPLOYER_APP_CPUS <= 0:
    raise ImproperlyConfigured("DEPLOYER_APP_CPUS must be greater than zero (e.g. 0.5 or 2).")
if DEPLOYER_APP_PIDS_LIMIT < 16:
    raise ImproperlyConfigured("DEPLOYER_APP_PIDS_LIMIT must be at least 16.")
if not 64 <= DEPLOYER_APP_MEMORY_MB <= DEPLOYER_APP_MEMORY_MAX_MB:
    raise ImproperlyConfigured(
        "DEPLOYER_APP_MEMORY_MB must be at least 64 and at most DEPLOYER_APP_MEMORY_MAX_MB."
    )
if DEPLOYER_APP_LOG_DRIVER not in ("json-file", "local"):
    raise ImproperlyConfigured("DEPLOYER_APP_LOG_DRIVER must be json-file or local.")
_size = DEPLOYER_APP_LOG_MAX_SIZE
if not (_size[:-1].isdigit() and int(_size[:-1]) > 0 and _size[-1:] in ("k", "m", "g")):
    raise ImproperlyConfigured("DEPLOYER_APP_LOG_MAX_SIZE must be a size such as 512k, 10m or 1g.")
if DEPLOYER_APP_LOG_MAX_FILES < 1:
    raise ImproperlyConfigured("DEPLOYER_APP_LOG_MAX_FILES must be at least 1.")
# Routing: Caddy, driven through its admin API, serves each live app at <project>.<base domain>
# and at its custom domains (routing/, scripts/caddy.sh). Routes are rebuilt from the database
# on every switch and every DEPLOYER_ROUTE_RECONCILE_INTERVAL seconds. Caddy listens on
# DEPLOYER_HTTP_BIND:DEPLOYER_HTTP_PORT with plain HTTP, or, with DEPLOYER_HTTPS, on port 443
# with automatic HTTPS (certificates for real domains, port 80 redirecting to HTTPS).
DEPLOYER_CADDY_ADMIN_URL = _read("DEPLOYER_CADDY_ADMIN_URL", str, "http://127.0.0.1:2019")
if not DEPLOYER_CADDY_ADMIN_URL.startswith("http://"):
    raise ImproperlyConfigured(
        "DEPLOYER_CADDY_ADMIN_URL must be an http:// URL (Caddy's admin API)."
    )
DEPLOYER_CADDY_TIMEOUT = _read("DEPLOYER_CADDY_TIMEOUT", float, 5.0)
DEPLOYER_HTTP_PORT = _read("DEPLOYER_HTTP_PORT", int, 8080)
DEPLOYER_HTTP_BIND = _read("DEPLOYER_HTTP_BIND", str, "127.0.0.1")
DEPLOYER_HTTPS = _read("DEPLOYER_HTTPS", bool, False)
DEPLOYER_DASHBOARD_HOST = _read("DEPLOYER_DASHBOARD_HOST", str, "").lower()
DEPLOYER_DASHBOARD_UPSTREAM = _read("DEPLOYER_DASHBOARD_UPSTREAM", str, "127.0.0.1:8000")
DEPLOYER_ROUTE_RECONCILE_INTERVAL = _read("DEPLOYER_ROUTE_RECONCILE_INTERVAL", float, 30.0)
# Seconds between switching a route and stopping the previous container (the countdown of
# builds.tasks.retire_previous): requests Caddy sent just before the switch may still wait in
# the old container's accept queue, and an app server stops accepting at SIGTERM.
DEPLOYER_ROUTE_DRAIN_SECONDS = _read("DEPLOYER_ROUTE_DRAIN_SECONDS", float, 5.0)
CELERY_BEAT_SCHEDULE["reconcile-routes"] = {
    "task": "routing.tasks.reconcile_routes",
    "schedule": DEPLOYER_ROUTE_RECONCILE_INTERVAL,
}
# Domain proofs (issue 18, deliverable 8; routing/proof.py): a custom domain is routed only once
# a TXT record _deployer-challenge.<domain> holds its token, or http://<domain>/.well-known/
# deployer-challenge/<token> answers it. Lookups use DEPLOYER_DNS_NAMESERVERS (empty: the system
# resolver) on DEPLOYER_DNS_PORT. The HTTP proof needs the name to resolve only to
# DEPLOYER_ROUTER_ADDRESSES (default: DEPLOYER_HTTP_BIND unless that is a wildcard) and fetches
# from those addresses only, on DEPLOYER_ROUTER_HTTP_PORT. Pending domains are checked again every
# DEPLOYER_DOMAIN_CHECK_INTERVAL seconds and dropped after DEPLOYER_DOMAIN_PENDING_DAYS days.


def _unspecified(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_unspecified
    except ValueError:  # a host name: not an address to compare resolved names with
        return True


DEPLOYER_DNS_NAMESERVERS = _read("DEPLOYER_DNS_NAMESERVERS", list, [])
DEPLOYER_DNS_PORT = _read("DEPLOYER_DNS_PORT", int, 53)
DEPLOYER_ROUTER_ADDRESSES = _read(
    "DEPLOYER_ROUTER_ADDRESSES",
    list,
    [_bind] if (_bind := DEPLOYER_HTTP_BIND.strip("[]")) and not _unspecified(_bind) else [],
)
DEPLOYER_ROUTER_HTTP_PORT = _read("DEPLOYER_ROUTER_HTTP_PORT", int, DEPLOYER_HTTP_PORT)
DEPLOYER_DOMAIN_CHECK_TIMEOUT = _read("DEPLOYER_DOMAIN_CHECK_TIMEOUT", float, 5.0)
DEPLOYER_DOMAIN_CHECK_INTERVAL = _read("DEPLOYER_DOMAIN_CHECK_INTERVAL", float, 300.0)
DEPLOYER_DOMAIN_PENDING_DAYS = _read("DEPLOYER_DOMAIN_PENDING_DAYS", int, 7)
for _address in [*DEPLOYER_DNS_NAMESERVERS, *DEPLOYER_ROUTER_ADDRESSES]:
    try:
        ipaddress.ip_address(_address)
    except ValueError:
        raise ImproperlyConfigured(
            f"DEPLOYER_DNS_NAMESERVERS / DEPLOYER_ROUTER_ADDRESSES: {_address!r} is not an IP address."
        ) from None
CELERY_BEAT_SCHEDULE["check-pending-domains"] = {
    "task": "routing.tasks.check_pending_domains",
    "schedule": DEPLOYER_DOMAIN_CHECK_INTERVAL,
}
# Push webhooks (POST /hooks/<project>/): bodies above this size get 413; a project accepts at
# most this many deliveries a minute (429 beyond; 0 turns the limit off).
DEPLOYER_WEBHOOK_MAX_BODY_BYTES = _read("DEPLOYER_WEBHOOK_MAX_BODY_BYTES", int, 1024 * 1024)
DEPLOYER_WEBHOOK_RATE_LIMIT = _read("DEPLOYER_WEBHOOK_RATE_LIMIT", int, 30)
# Runtime monitoring (monitoring/): every DEPLOYER_MONITOR_INTERVAL seconds each live app's
# container is inspected and its health path requested from the host, all apps concurrently
# (DEPLOYER_MONITOR_CONCURRENCY threads), each check bounded by DEPLOYER_MONITOR_TIMEOUT seconds.
# An answer slower than DEPLOYER_MONITOR_SLOW_MS is a failure; DEPLOYER_MONITOR_UNHEALTHY_AFTER
# failures in a row make the app unhealthy. Samples (uptime, response time) are kept
# DEPLOYER_MONITOR_RETENTION_DAYS days. After DEPLOYER_CRASH_RESTARTS restarts by Docker within
# DEPLOYER_CRASH_WINDOW seconds, the container's restart policy is turned off, it is stopped and
# the app is marked crashed.
DEPLOYER_MONITOR_INTERVAL = _read("DEPLOYER_MONITOR_INTERVAL", float, 30.0)
DEPLOYER_MONITOR_TIMEOUT = _read("DEPLOYER_MONITOR_TIMEOUT", float, 10.0)
DEPLOYER_MONITOR_CONCURRENCY = _read("DEPLOYER_MONITOR_CONCURRENCY", int, 16)
DEPLOYER_MONITOR_SLOW_MS = _read("DEPLOYER_MONITOR_SLOW_MS", int, 2000)
DEPLOYER_MONITOR_UNHEALTHY_AFTER = _read("DEPLOYER_MONITOR_UNHEALTHY_AFTER", int, 2)
DEPLOYER_MONITOR_RETENTION_DAYS = _read("DEPLOYER_MONITOR_RETENTION_DAYS", int, 7)
DEPLOYER_CRASH_RESTARTS = _read("DEPLOYER_CRASH_RESTARTS", int, 5)
DEPLOYER_CRASH_WINDOW = _read("DEPLOYER_CRASH_WINDOW", float, 600.0)
# Notifications (email and signed webhooks): a failed send is tried DEPLOYER_NOTIFY_ATTEMPTS
# times in all, the first retry after DEPLOYER_NOTIFY_BACKOFF seconds and doubling; a webhook
# gets DEPLOYER_NOTIFY_TIMEOUT seconds to answer. Email goes through EMAIL_URL (smtp://user:
# password@host:25, smtp+tls://...:587, smtps://...:465, consolemail:// prints it), from
# DEFAULT_FROM_EMAIL.
DEPLOYER_NOTIFY_ATTEMPTS = _read("DEPLOYER_NOTIFY_ATTEMPTS", int, 5)
DEPLOYER_NOTIFY_BACKOFF = _read("DEPLOYER_NOTIFY_BACKOFF", float, 30.0)
DEPLOYER_NOTIFY_TIMEOUT = _read("DEPLOYER_NOTIFY_TIMEOUT", float, 10.0)
for _name in (
    "DEPLOYER_MONITOR_INTERVAL",
    "DEPLOYER_MONITOR_TIMEOUT",
    "DEPLOYER_MONITOR_CONCURRENCY",
    "DEPLOYER_MONITOR_SLOW_MS",
    "DEPLOYER_MONITOR_UNHEALTHY_AFTER",
    "DEPLOYER_MONITOR_RETENTION_DAYS",
    "DEPLOYER_CRASH_RESTARTS",
    "DEPLOYER_CRASH_WINDOW",
    "DEPLOYER_NOTIFY_ATTEMPTS",
    "DEPLOYER_NOTIFY_TIMEOUT",
):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be greater than zero.")
if DEPLOYER_NOTIFY_BACKOFF < 0:
    raise ImproperlyConfigured("DEPLOYER_NOTIFY_BACKOFF cannot be negative.")
# Outbound requests to URLs users give (deployer/outbound.py, issue 18 part 6 "outbound"):
# loopback, link-local, private, shared, multicast and reserved addresses are refused unless
# inside one of DEPLOYER_OUTBOUND_ALLOW_NETWORKS (comma-separated CIDRs, default none);
# Deployer's own services are refused always. Connecting gets at most
# DEPLOYER_OUTBOUND_CONNECT_TIMEOUT seconds of the request's whole time-out.
DEPLOYER_OUTBOUND_ALLOW_NETWORKS = _read("DEPLOYER_OUTBOUND_ALLOW_NETWORKS", list, [])
for _cidr in DEPLOYER_OUTBOUND_ALLOW_NETWORKS:
    try:
        ipaddress.ip_network(_cidr, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DEPLOYER_OUTBOUND_ALLOW_NETWORKS: {exc}") from None
DEPLOYER_OUTBOUND_CONNECT_TIMEOUT = _read("DEPLOYER_OUTBOUND_CONNECT_TIMEOUT", float, 5.0)
if DEPLOYER_OUTBOUND_CONNECT_TIMEOUT <= 0:
    raise ImproperlyConfigured("DEPLOYER_OUTBOUND_CONNECT_TIMEOUT must be greater than zero.")
try:
    _email = env.email_url_config(
        _read("EMAIL_URL", str, "smtp://localhost:25" if PRODUCTION else "consolemail://")
    )
except ImproperlyConfigured as exc:
    raise ImproperlyConfigured(f"EMAIL_URL is invalid: {exc}") from None
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 15
DEFAULT_FROM_EMAIL = _read("DEFAULT_FROM_EMAIL", str, "deployer@localhost")
CELERY_BEAT_SCHEDULE["check-app-health"] = {
    "task": "monitoring.tasks.check_apps",
    "schedule": DEPLOYER_MONITOR_INTERVAL,
    # A run that waited longer than an interval is dropped: the next one is already due.
    "options": {"expires": DEPLOYER_MONITOR_INTERVAL},
}
# App metrics (monitoring/metrics.py): every DEPLOYER_METRICS_INTERVAL seconds each live app's
# container is sampled through the engine's one-shot stats (CPU, memory against its limit,
# network bytes; restarts as the health checks last counted them), each read bounded by
# DEPLOYER_METRICS_TIMEOUT seconds, and the router's JSON access log (DEPLOYER_ACCESS_LOG, written
# by Caddy on this host) is read from where the last round stopped: requests, status classes,
# p50/p95 latency per app. Samples are kept at full resolution DEPLOYER_METRICS_RAW_HOURS hours,
# then as 5-minute averages until DEPLOYER_METRICS_KEEP_DAYS days (housekeeping).
DEPLOYER_METRICS_INTERVAL = _read("DEPLOYER_METRICS_INTERVAL", float, 20.0)
DEPLOYER_METRICS_TIMEOUT = _read("DEPLOYER_METRICS_TIMEOUT", float, 5.0)
DEPLOYER_METRICS_RAW_HOURS = _read("DEPLOYER_METRICS_RAW_HOURS", float, 24.0)
DEPLOYER_METRICS_KEEP_DAYS = _read("DEPLOYER_METRICS_KEEP_DAYS", float, 30.0)
_admin_port = DEPLOYER_CADDY_ADMIN_URL.rstrip("/").rsplit(":", 1)[-1]
DEPLOYER_ACCESS_LOG = _read(
    "DEPLOYER_ACCESS_LOG",
    str,
    str(
        VAR_DIR
        / "log"
        / ("caddy-access.log" if _admin_port == "2019" else f"caddy-access-{_admin_port}.log")
    ),
)
# Alert rules on the samples, each raising an event and notifications once per episode and
# again when it ends: memory above DEPLOYER_ALERT_MEMORY_SHARE of the limit for
# DEPLOYER_ALERT_MEMORY_MINUTES; more than DEPLOYER_ALERT_5XX_RATE of the requests answered 5xx
# within DEPLOYER_ALERT_WINDOW_MINUTES (and at least DEPLOYER_ALERT_MIN_REQUESTS requests);
# DEPLOYER_ALERT_RESTARTS or more restarts within that window (0 turns that rule off).
DEPLOYER_ALERT_MEMORY_SHARE = _read("DEPLOYER_ALERT_MEMORY_SHARE", float, 0.9)
DEPLOYER_ALERT_MEMORY_MINUTES = _read("DEPLOYER_ALERT_MEMORY_MINUTES", float, 5.0)
DEPLOYER_ALERT_5XX_RATE = _read("DEPLOYER_ALERT_5XX_RATE", float, 0.05)
DEPLOYER_ALERT_MIN_REQUESTS = _read("DEPLOYER_ALERT_MIN_REQUESTS", int, 20)
DEPLOYER_ALERT_WINDOW_MINUTES = _read("DEPLOYER_ALERT_WINDOW_MINUTES", float, 5.0)
DEPLOYER_ALERT_RESTARTS = _read("DEPLOYER_ALERT_RESTARTS", int, 1)
for _name in (
    "DEPLOYER_METRICS_INTERVAL",
    "DEPLOYER_METRICS_TIMEOUT",
    "DEPLOYER_METRICS_RAW_HOURS",
    "DEPLOYER_METRICS_KEEP_DAYS",
    "DEPLOYER_ALERT_MEMORY_MINUTES",
    "DEPLOYER_ALERT_WINDOW_MINUTES",
):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be greater than zero.")
if DEPLOYER_METRICS_KEEP_DAYS * 24 < DEPLOYER_METRICS_RAW_HOURS:
    raise ImproperlyConfigured(
        "DEPLOYER_METRICS_KEEP_DAYS must cover at least DEPLOYER_METRICS_RAW_HOURS."
    )
if not 0 < DEPLOYER_ALERT_MEMORY_SHARE <= 1 or not 0 < DEPLOYER_ALERT_5XX_RATE <= 1:
    raise ImproperlyConfigured(
        "DEPLOYER_ALERT_MEMORY_SHARE and DEPLOYER_ALERT_5XX_RATE must be above 0 and at most 1."
    )
if DEPLOYER_ALERT_MIN_REQUESTS < 1 or DEPLOYER_ALERT_RESTARTS < 0:
    raise ImproperlyConfigured(
        "DEPLOYER_ALERT_MIN_REQUESTS must be at least 1; DEPLOYER_ALERT_RESTARTS cannot be negative."
    )
CELERY_BEAT_SCHEDULE["sample-app-metrics"] = {
    "task": "monitoring.tasks.sample_metrics",
    "schedule": DEPLOYER_METRICS_INTERVAL,
    "options": {"expires": DEPLOYER_METRICS_INTERVAL},
}
CELERY_BEAT_SCHEDULE["prune-health-history"] = {
    "task": "monitoring.tasks.prune_history",
    "schedule": 3600.0,
}
# Comma-separated Fernet keys encrypting environment variable values at rest: the first
# encrypts, all decrypt. Rotate by setting "NEW,OLD", running `manage.py rotate_secrets_key`,
# then dropping OLD. Unset in development: derived from SECRET_KEY (with a warning); unset in
# production: `manage.py check`/`migrate` fail and nothing can be encrypted or decrypted.
DEPLOYER_SECRETS_KEY = _read("DEPLOYER_SECRETS_KEY", str, "")
try:
    fernet_keys(DEPLOYER_SECRETS_KEY)
except ValueError as _invalid:
    raise ImproperlyConfigured(str(_invalid)) from None

# The REST API (/api/v1/, README "API"): changes one token may make per minute (0: no limit),
# and the items on one page of a list (`?page_size=` asks for up to 100).
DEPLOYER_API_WRITES_PER_MINUTE = _read("DEPLOYER_API_WRITES_PER_MINUTE", int, 60)
DEPLOYER_API_PAGE_SIZE = _read("DEPLOYER_API_PAGE_SIZE", int, 50)
if DEPLOYER_API_WRITES_PER_MINUTE < 0 or not 1 <= DEPLOYER_API_PAGE_SIZE <= 100:
    raise ImproperlyConfigured(
        "DEPLOYER_API_WRITES_PER_MINUTE cannot be negative; DEPLOYER_API_PAGE_SIZE must be 1 to 100."
    )

# Processes and cron (processes/, README "Processes and cron jobs"): a cron run is stopped
# after DEPLOYER_CRON_TIMEOUT seconds and keeps the first DEPLOYER_CRON_OUTPUT_MAX_CHARS
# characters of its output. The beat looks for due jobs at the start of every minute; what the
# engine says of process containers (state, restarts) is recorded every monitor interval.
DEPLOYER_CRON_TIMEOUT = _read("DEPLOYER_CRON_TIMEOUT", int, 600)
DEPLOYER_CRON_OUTPUT_MAX_CHARS = _read("DEPLOYER_CRON_OUTPUT_MAX_CHARS", int, 65536)
if DEPLOYER_CRON_TIMEOUT < 1 or DEPLOYER_CRON_OUTPUT_MAX_CHARS < 1000:
    raise ImproperlyConfigured(
        "DEPLOYER_CRON_TIMEOUT must be at least 1 (seconds) and "
        "DEPLOYER_CRON_OUTPUT_MAX_CHARS at least 1000."
    )
# The most web containers (replicas) one project may run behind Caddy (README "Web replicas").
DEPLOYER_MAX_REPLICAS = _read("DEPLOYER_MAX_REPLICAS", int, 4)
if DEPLOYER_MAX_REPLICAS < 1:
    raise ImproperlyConfigured("DEPLOYER_MAX_REPLICAS must be at least 1.")
CELERY_BEAT_SCHEDULE["run-due-cron-jobs"] = {
    "task": "processes.tasks.run_due_cron_jobs",
    "schedule": crontab(),
    "options": {"expires": 50},
}
CELERY_BEAT_SCHEDULE["observe-processes"] = {
    "task": "processes.tasks.observe_processes",
    "schedule": DEPLOYER_MONITOR_INTERVAL,
    "options": {"expires": DEPLOYER_MONITOR_INTERVAL},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _read("LOG_LEVEL", str, "INFO")},
}

# Pull-request previews (previews/): a new project's defaults (each project changes its own on
# its Previews page): at most DEPLOYER_PREVIEW_MAX running at once (more wait, queued), and a
# preview with no activity (push, approval, start) for DEPLOYER_PREVIEW_IDLE_HOURS is stopped
# (0: never). A preview's containers get at most DEPLOYER_PREVIEW_MEMORY_MB of memory (or the
# project's own limit when lower) and DEPLOYER_PREVIEW_CPUS CPUs. The worker looks for idle
# and queued previews every DEPLOYER_PREVIEW_SWEEP_INTERVAL seconds.
DEPLOYER_PREVIEW_MAX = _read("DEPLOYER_PREVIEW_MAX", int, 3)
DEPLOYER_PREVIEW_IDLE_HOURS = _read("DEPLOYER_PREVIEW_IDLE_HOURS", int, 72)
DEPLOYER_PREVIEW_MEMORY_MB = _read("DEPLOYER_PREVIEW_MEMORY_MB", int, 256)
DEPLOYER_PREVIEW_CPUS = _read("DEPLOYER_PREVIEW_CPUS", float, 0.5)
DEPLOYER_PREVIEW_SWEEP_INTERVAL = _read("DEPLOYER_PREVIEW_SWEEP_INTERVAL", float, 300.0)
if DEPLOYER_PREVIEW_MAX < 1 or DEPLOYER_PREVIEW_IDLE_HOURS < 0:
    raise ImproperlyConfigured(
        "DEPLOYER_PREVIEW_MAX must be at least 1 and DEPLOYER_PREVIEW_IDLE_HOURS at least 0."
    )
if DEPLOYER_PREVIEW_MEMORY_MB < 64 or DEPLOYER_PREVIEW_CPUS <= 0:
    raise ImproperlyConfigured(
        "DEPLOYER_PREVIEW_MEMORY_MB must be at least 64 and DEPLOYER_PREVIEW_CPUS above zero."
    )
CELERY_BEAT_SCHEDULE["preview-sweep"] = {
    "task": "previews.tasks.sweep",
    "schedule": DEPLOYER_PREVIEW_SWEEP_INTERVAL,
}
