"""gunicorn's settings for the dashboard (read from the working directory, /app in the image):
workers and threads sized from the machine, or DEPLOYER_WEB_WORKERS / DEPLOYER_WEB_THREADS
(deployer/sizing.py; README "At rest"). The command line still wins (`--workers 2`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# Loaded by path: importing the `deployer` package would load Celery (its __init__) into
# gunicorn's master, which only supervises the workers.
_spec = importlib.util.spec_from_file_location(
    "deployer_sizing", Path(__file__).resolve().parent / "deployer" / "sizing.py"
)
_sizing = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _sizing  # dataclasses look their module up there
_spec.loader.exec_module(_sizing)
_size = _sizing.from_environment()

workers = _size.web_workers
threads = _size.web_threads
worker_class = "gthread"
