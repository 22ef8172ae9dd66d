from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_prerun
from click import Option

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deployer.settings")

app = Celery("deployer")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Named, not imported: only a worker loads them (deployer/worker_steps.py says what they do).
app.steps["worker"].update(
    {"deployer.worker_steps:BeatThread", "deployer.worker_steps:ThreadTimeLimits"}
)
app.user_options["worker"].add(
    Option(
        ["--beat-thread"],
        is_flag=True,
        default=False,
        help="Also run beat's schedule, in a thread of this worker (one worker per installation).",
    )
)


def task(name: str):
    """The registered task `name` (`app.tasks.function`), for a module that the task's own
    module imports: it queues the task by name rather than import its module back.

    A worker imports every app's tasks module at start; a web process only when something
    imports it, so the first call here has Celery import them (its autodiscovery)."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


@task_prerun.connect
def drop_stale_connections(sender=None, **kwargs) -> None:
    """Before each task, what Django does before each request: close database connections
    that are past CONN_MAX_AGE or broken, so the task opens a fresh one (tasks otherwise keep
    their process's connection: CELERY_DB_REUSE_MAX). A task run eagerly, in its caller's
    process and maybe inside its transaction, leaves the caller's connection alone."""
    from django.db import close_old_connections

    if getattr(getattr(sender, "request", None), "is_eager", False):
        return

    close_old_connections()
