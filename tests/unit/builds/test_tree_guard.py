"""The guarded reader's refusals: the app root, own Dockerfiles and the migrations digest."""

from __future__ import annotations

import os
import threading

import pytest

from builds.pipeline.detection.tree import RefusedPath, Tree, app_root
from builds.pipeline.errors import StageError
from builds.pipeline.fingerprint import migrations_digest
from builds.runner import _own_dockerfile


def test_app_root_inside_the_checkout_is_its_real_folder(make_tree):
    checkout = make_tree({"services/web/app.py": ""})

    assert app_root(checkout, "services/web") == (checkout / "services/web").resolve()
    assert app_root(checkout, "") == checkout.resolve()


def test_app_root_linked_out_of_the_checkout_is_refused_naming_the_setting(make_tree, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checkout = make_tree({"README.md": ""})
    (checkout / "web").symlink_to(elsewhere, target_is_directory=True)

    with pytest.raises(RefusedPath) as refused:
        app_root(checkout, "web")

    assert str(refused.value) == (
        f"The app root directory setting 'web' was refused: web is a link to {elsewhere}, "
        "outside the repository; Deployer does not follow links out of the checkout."
    )


def test_app_root_below_a_linked_folder_names_the_link(make_tree, tmp_path):
    (tmp_path / "elsewhere" / "api").mkdir(parents=True)
    checkout = make_tree({"README.md": ""})
    (checkout / "apps").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    with pytest.raises(RefusedPath, match="apps/api is inside apps, a link to"):
        app_root(checkout, "apps/api")


def test_app_root_that_is_a_file_is_not_a_folder(make_tree):
    checkout = make_tree({"web": "not a folder"})

    with pytest.raises(RefusedPath, match="'web' is not a folder of the repository"):
        app_root(checkout, "web")


def test_own_dockerfile_linked_to_a_host_file_is_refused_by_the_build(make_tree, tmp_path):
    host = tmp_path / "host"
    host.write_text("FROM scratch\n")
    root = make_tree({"app.py": ""})
    (root / "Dockerfile").symlink_to(host)

    with pytest.raises(StageError) as refused:
        _own_dockerfile(Tree(root), "Dockerfile")

    assert str(refused.value) == (
        f"The repository's own Dockerfile was refused: Dockerfile is a link to {host}, outside "
        "the repository; Deployer reads only regular files inside the repository."
    )


def test_own_dockerfile_that_is_a_fifo_is_refused_without_blocking(make_tree):
    root = make_tree({"app.py": ""})
    os.mkfifo(root / "Dockerfile")
    result = {}

    def read() -> None:
        try:
            _own_dockerfile(Tree(root), "Dockerfile")
        except StageError as exc:
            result["error"] = str(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(timeout=10)

    assert result["error"].endswith(
        "Dockerfile is a FIFO (named pipe), not a regular file; Deployer reads only regular "
        "files inside the repository."
    )


def test_digest_counts_a_migration_linked_out_by_its_link_text_never_its_content(
    make_tree, tmp_path
):
    host = tmp_path / "host.py"
    host.write_text("first")
    root = make_tree({"blog/migrations/0001_initial.py": "x = 1\n"})
    (root / "blog/migrations/0002_host.py").symlink_to(host)

    before = migrations_digest(root)
    host.write_text("changed on the host")

    assert before is not None and migrations_digest(root) == before


def test_digest_follows_a_link_to_a_migration_inside_the_repository(make_tree):
    root = make_tree({"shared/0002.py": "a = 1\n", "blog/migrations/0001.py": ""})
    (root / "blog/migrations/0002.py").symlink_to("../../shared/0002.py")

    before = migrations_digest(root)
    (root / "shared/0002.py").write_text("a = 2\n")

    assert migrations_digest(root) != before


def test_digest_never_opens_a_fifo_or_device(make_tree):
    root = make_tree({"blog/migrations/0001.py": ""})
    os.mkfifo(root / "blog/migrations/0002.py")
    (root / "blog/migrations/0003.py").symlink_to("/dev/zero")
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(digest=migrations_digest(root)), daemon=True
    )

    worker.start()
    worker.join(timeout=10)

    assert result["digest"] is not None


def test_digest_does_not_enter_a_folder_linked_out(make_tree, tmp_path):
    (tmp_path / "host" / "migrations").mkdir(parents=True)
    (tmp_path / "host" / "migrations" / "0001.py").write_text("first")
    root = make_tree({"blog/migrations/0001.py": ""})
    (root / "vendor").symlink_to(tmp_path / "host", target_is_directory=True)

    before = migrations_digest(root)
    (tmp_path / "host" / "migrations" / "0001.py").write_text("changed on the host")

    assert migrations_digest(root) == before
