"""`manage.py devstack`: the same as scripts/devstack.py, which it becomes (exec), so that no
process with Django loaded stays around just to supervise the others."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "devstack.py"


class Command(BaseCommand):
    help = "Run the dashboard and a worker (with beat's schedule) in the foreground until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--addr", default=os.environ.get("DEPLOYER_DEV_ADDR", "127.0.0.1:8000"))
        parser.add_argument("--concurrency", type=int, default=None)

    def handle(self, *args, addr: str, concurrency: int | None, **options) -> None:
        argv = [sys.executable, str(SCRIPT), "--addr", addr]
        if concurrency is not None:
            argv += ["--concurrency", str(concurrency)]
        os.execv(sys.executable, argv)  # noqa: S606 - our own script, fixed arguments
