"""Each project's git mirror: named per project and URL, removed with the project, pruned."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from builds import deletion, mirrors, preview
from projects import services as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mirror_dir(settings, tmp_path):
    settings.DEPLOYER_GIT_MIRROR_DIR = str(tmp_path / "mirrors")
    settings.DEPLOYER_ALLOW_LOCAL_REPOS = True


def _repo(path):
    env = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "A"}
    env |= {"GIT_COMMITTER_EMAIL": "a@x", "PATH": "/usr/bin:/bin"}
    path.mkdir()
    (path / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    (path / "requirements.txt").write_text("flask\n")
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
    return path


@pytest.fixture
def project(user, tmp_path):
    return project_services.create_project(
        user, slug="mirrored", repo_url=f"file://{_repo(tmp_path / 'origin')}"
    )


def test_a_fetch_leaves_the_project_its_own_mirror_under_this_installation(project):
    detection = preview.make_detection(project, "main", timeout=30)

    mirror = mirrors.path_for(project)
    assert detection.error == "" and detection.plan is not None
    assert mirror.parent == mirrors.root() and mirror.name.startswith(f"{project.pk}-")
    assert (mirror / "HEAD").is_file()


def test_another_url_or_project_gets_another_mirror_and_a_token_keeps_it(project, user):
    other = project_services.create_project(user, slug="other", repo_url=project.repo_url)
    first = mirrors.path_for(project)

    assert mirrors.path_for(other) != first
    project.repo_url = "https://git.example.com/a/b.git"
    with_token = mirrors.path_for(project)
    project.repo_url = "https://bot:t0ken@git.example.com/a/b.git"
    assert mirrors.path_for(project) == with_token != first


def test_mirrors_can_be_turned_off(project, settings):
    settings.DEPLOYER_GIT_MIRRORS = False

    assert mirrors.path_for(project) is None
    assert preview.make_detection(project, "main", timeout=30).plan is not None
    assert not mirrors.root().exists()


def test_deleting_a_project_removes_its_mirror(project):
    preview.make_detection(project, "main", timeout=30)
    mirror = mirrors.path_for(project)

    deletion.delete_project(project)

    assert not mirror.exists()


def test_prune_keeps_mirrors_in_use_and_removes_orphans_old_ones_and_old_urls(project, user):
    preview.make_detection(project, "main", timeout=30)
    kept = mirrors.path_for(project)
    orphan = mirrors.root() / "999999-0123456789abcdef.git"
    orphan.mkdir()
    old_url = mirrors.root() / f"{project.pk}-fedcba9876543210.git"
    old_url.mkdir()

    removed = mirrors.prune({project.pk: project.repo_url}, max_age_days=14)

    assert sorted(removed) == sorted([orphan.name, old_url.name])
    assert kept.exists() and not orphan.exists() and not old_url.exists()
    stale = time.time() - 15 * 86400
    os.utime(f"{kept}.lock", (stale, stale))
    assert mirrors.prune({project.pk: project.repo_url}, max_age_days=14) == [kept.name]


def test_prune_leaves_a_mirror_that_is_being_fetched_into(project):
    import fcntl

    preview.make_detection(project, "main", timeout=30)
    mirror = mirrors.path_for(project)
    with open(f"{mirror}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert mirrors.prune({}, max_age_days=14) == []
    assert mirror.exists()
    assert mirrors.prune({}, max_age_days=14) == [mirror.name]
