"""Tasks queued by name are found in a process that never imported their module (the web)."""

from __future__ import annotations

import subprocess
import sys


def test_a_fresh_process_finds_every_task_it_queues_by_name():
    probe = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'deployer.settings');"
        "django.setup(); import sys;"
        "assert 'builds.tasks' not in sys.modules, 'imported already: the probe proves nothing';"
        "from deployer.celery import task;"
        "names = ['builds.tasks.run_build', 'builds.tasks.delete_project',"
        " 'monitoring.tasks.deliver_notification'];"
        "print(sorted(task(n).name for n in names))"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == (
        "['builds.tasks.delete_project', 'builds.tasks.run_build', "
        "'monitoring.tasks.deliver_notification']"
    )
