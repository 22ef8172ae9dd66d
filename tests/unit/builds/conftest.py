"""Fixtures for detection tests: small repository trees written into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from builds import logaccess, logtail
from builds.pipeline.detect import detect_plan
from builds.pipeline.plan import Overrides, Plan

Files = dict[str, str | bytes]


def write_tree(root: Path, files: Files) -> Path:
    """Write `files` (relative path -> text or bytes) under `root`; return `root`."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[[Files], Path]:
    """make_tree({"app.py": "...", ...}) -> the tree's root folder."""
    counter = iter(range(1000))

    def make(files: Files) -> Path:
        return write_tree(tmp_path / f"repo{next(counter)}", files)

    return make


@pytest.fixture
def detect(make_tree) -> Callable[..., Plan]:
    """detect(files, overrides=None, available=("3.11",)) -> Plan."""

    def run(files: Files, overrides: Overrides | None = None, available=("3.11",)) -> Plan:
        return detect_plan(make_tree(files), overrides, available_pythons=available)

    return run


@pytest.fixture(autouse=True)
def _no_kept_log_lines():
    """Each test starts with no build's lines kept in memory (builds/logtail.py)."""
    logtail.clear()
    yield
    logtail.clear()


@pytest.fixture(autouse=True)
def _no_remembered_sessions():
    """Each test starts with no session known to follow logs (builds/logaccess.py)."""
    logaccess.forget_all()
    yield
    logaccess.forget_all()


@pytest.fixture
def project(user):
    """The project "shop" of `user` (a module that needs another defines its own)."""
    from projects import services as project_services

    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git"
    )
