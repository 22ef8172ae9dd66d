from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "devstack.py"


def _devstack():
    spec = importlib.util.spec_from_file_location("devstack", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_quick_start_runs_the_dashboard_and_one_worker_with_beats_schedule():
    commands = _devstack().commands("127.0.0.1:8000", None, python="python")

    assert set(commands) == {"web", "worker"}
    assert "--beat-thread" in commands["worker"]
    assert not any(arg.startswith("--concurrency") for arg in commands["worker"])
    assert commands["web"][-2:] == ["127.0.0.1:8000", "--noreload"]


def test_a_concurrency_given_reaches_the_worker():
    commands = _devstack().commands("127.0.0.1:8000", 3, python="python")

    assert "--concurrency=3" in commands["worker"]


def test_the_supervisor_loads_neither_django_nor_celery():
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1], run_name='devstack'); "
        "print(sorted(m for m in ('django', 'celery', 'deployer') if m in sys.modules))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe, str(SCRIPT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert shown.stdout.strip() == "[]", shown.stderr[-2000:]
