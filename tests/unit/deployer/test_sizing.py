from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from deployer import sizing


def test_two_cores_and_plenty_of_memory_run_four_builds_and_one_web_worker():
    result = sizing.size(2, 8192)

    assert result.worker_pool == "threads"
    assert result.worker_concurrency == 4
    assert result.web_workers == 1
    assert result.web_threads == sizing.DEFAULT_WEB_THREADS


def test_memory_caps_builds_at_one_per_gigabyte():
    assert sizing.size(8, 2048).worker_concurrency == 2
    assert sizing.size(8, 700).worker_concurrency == 1


def test_a_big_machine_is_capped_at_sixteen_builds_and_four_web_workers():
    result = sizing.size(64, 256 * 1024)

    assert result.worker_concurrency == sizing.MAX_BUILDS
    assert result.web_workers == sizing.MAX_WEB_WORKERS


def test_web_workers_grow_with_cores_and_memory():
    assert sizing.size(4, 16384).web_workers == 2
    assert sizing.size(8, 4096).web_workers == 2  # memory caps it
    assert sizing.size(1, 512).web_workers == 1


def test_overrides_win_over_the_machine():
    result = sizing.size(2, 1024, pool="prefork", concurrency=7, web_workers=3, web_threads=2)

    assert result == sizing.Sizing("prefork", 7, 3, 2)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"pool": "gevent"}, "DEPLOYER_WORKER_POOL"),
        ({"concurrency": -1}, "DEPLOYER_WORKER_CONCURRENCY"),
        ({"web_workers": -2}, "DEPLOYER_WEB_WORKERS"),
        ({"web_threads": 0}, "DEPLOYER_WEB_THREADS"),
    ],
)
def test_out_of_range_values_name_their_setting(kwargs, named):
    with pytest.raises(ImproperlyConfigured, match=named):
        sizing.size(2, 4096, **kwargs)


def test_from_environment_reads_the_overrides():
    result = sizing.from_environment(
        {
            "DEPLOYER_WORKER_POOL": "prefork",
            "DEPLOYER_WORKER_CONCURRENCY": "3",
            "DEPLOYER_WEB_WORKERS": "2",
            "DEPLOYER_WEB_THREADS": "4",
        }
    )

    assert result == sizing.Sizing("prefork", 3, 2, 4)


def test_from_environment_with_nothing_set_sizes_from_this_machine():
    result = sizing.from_environment({})

    expected = sizing.size(sizing.machine_cores(), sizing.machine_memory_mb())
    assert result == expected
    assert result.worker_concurrency >= 1


def test_a_malformed_number_names_the_variable_and_its_value():
    with pytest.raises(ImproperlyConfigured, match=r"DEPLOYER_WEB_WORKERS='two'"):
        sizing.from_environment({"DEPLOYER_WEB_WORKERS": "two"})


def test_a_containers_memory_limit_counts_over_the_hosts_total(tmp_path):
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    proc.mkdir()
    cgroup.mkdir()
    (proc / "meminfo").write_text("MemTotal:       16384000 kB\nMemFree: 1 kB\n")
    (cgroup / "memory.max").write_text(f"{1536 * 1024 * 1024}\n")

    assert sizing.machine_memory_mb(proc, cgroup) == 1536
    (cgroup / "memory.max").write_text("max\n")
    assert sizing.machine_memory_mb(proc, cgroup) == 16000


def test_settings_refuse_a_bad_sizing_value_at_start_up():
    from tests.unit.deployer.test_settings import _load_settings

    result = _load_settings(DEPLOYER_WORKER_CONCURRENCY="-3")

    assert result.returncode != 0
    assert "DEPLOYER_WORKER_CONCURRENCY must be 0" in result.stderr


def test_gunicorns_config_takes_workers_and_threads_from_the_sizing_without_celery():
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    probe = (
        "import runpy, sys; c = runpy.run_path('gunicorn.conf.py'); "
        "print(c['workers'], c['threads'], c['worker_class'], 'celery' in sys.modules)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=root,
        env={**os.environ, "DEPLOYER_WEB_WORKERS": "3", "DEPLOYER_WEB_THREADS": "5"},
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert shown.stdout.split() == ["3", "5", "gthread", "False"], shown.stderr[-2000:]
