"""The build context: a tar Deployer writes itself from a checkout it never writes into."""

from __future__ import annotations

import os
import tarfile
import threading
from pathlib import Path

import pytest

from builds.pipeline import context
from builds.pipeline.detection.tree import Tree
from builds.pipeline.dockerfile import generate_dockerignore
from builds.pipeline.errors import StageError

DOCKERFILE = "FROM python:3.11-slim\nCOPY . .\n"


def tar_of(root: Path, patterns=(), **caps) -> tuple[dict[str, tarfile.TarInfo], tarfile.TarFile]:
    built = context.build_context(
        root,
        DOCKERFILE,
        patterns=list(patterns),
        max_files=caps.get("max_files", 1000),
        max_bytes=caps.get("max_bytes", 10_000_000),
        links=caps.get("links"),
    )
    archive = tarfile.open(fileobj=built.fileobj)
    return {member.name: member for member in archive.getmembers()}, archive


def snapshot(root: Path) -> dict[str, tuple[int, float]]:
    return {
        str(path.relative_to(root)): (path.lstat().st_size, path.lstat().st_mtime)
        for path in root.rglob("*")
    }


def test_dockerignore_excludes_with_docker_rules_and_exceptions(make_tree):
    root = make_tree(
        {
            "app.py": "",
            "README.md": "",
            "NOTES.md": "",
            "docs/guide.txt": "",
            "docs/keep.txt": "",
            "pkg/__pycache__/x.pyc": "",
            "pkg/mod.py": "",
            "data/big.csv": "",
            "data/small.csv": "",
        }
    )
    patterns = ["*.md", "!README.md", "docs", "!docs/keep.txt", "**/__pycache__", "data/*"]
    patterns += ["!data/small.csv"]

    members, _ = tar_of(root, patterns)

    files = {name for name, member in members.items() if not member.isdir()}
    assert files == {
        "app.py",
        "README.md",
        "docs/keep.txt",
        "pkg/mod.py",
        "data/small.csv",
        ".dockerignore",
        ".deployer.Dockerfile",
    }


def test_generated_dockerfile_and_its_dockerignore_are_members_the_engine_drops(make_tree):
    root = make_tree({"app.py": ""})

    members, archive = tar_of(root)

    assert archive.extractfile(members[".deployer.Dockerfile"]).read().decode() == DOCKERFILE
    ignore = archive.extractfile(members[".dockerignore"]).read().decode().split()
    assert ignore == [".dockerignore", ".deployer.Dockerfile"]


def test_checkout_is_never_written(make_tree):
    root = make_tree({"app.py": "", ".dockerignore": "*.log\n"})
    before = snapshot(root)

    tar_of(root, context.ignore_patterns(Tree(root), generate_dockerignore()))

    assert snapshot(root) == before


def test_symlinks_are_kept_as_links_never_followed(make_tree, tmp_path):
    host = tmp_path / "host-secret"
    host.write_text("host content")
    host_dir = tmp_path / "host-dir"
    host_dir.mkdir()
    (host_dir / "inner.txt").write_text("host folder content")
    root = make_tree({"app.py": ""})
    (root / "secret").symlink_to(host)
    (root / "folder").symlink_to(host_dir, target_is_directory=True)
    (root / "zero").symlink_to("/dev/zero")

    members, archive = tar_of(root)

    assert members["secret"].issym() and members["secret"].linkname == str(host)
    assert members["folder"].issym() and "folder/inner.txt" not in members
    assert members["zero"].issym() and members["zero"].linkname == "/dev/zero"
    payload = b"".join(archive.extractfile(m).read() for m in members.values() if m.isreg())
    assert b"host content" not in payload and b"host folder content" not in payload


def test_git_is_never_sent_even_when_dockerignore_keeps_it(make_tree):
    root = make_tree(
        {
            "app.py": "",
            ".git/config": "[remote]\n url = https://token@host/x\n",
            "vendor/lib/.git/HEAD": "ref\n",
        }
    )

    members, _ = tar_of(root, ["!.git", "!.git/config"])

    assert not any(".git" in name.split("/") for name in members)
    assert "vendor/lib" in members


def test_repository_entries_with_deployers_names_are_left_out(make_tree, tmp_path):
    host = tmp_path / "cron"
    host.write_text("* * * * * root true\n")
    root = make_tree({"app.py": ""})
    (root / ".deployer.Dockerfile").symlink_to(host)
    (root / ".dockerignore").symlink_to(host)
    logged = []

    built = context.build_context(
        root, DOCKERFILE, patterns=[], max_files=10, max_bytes=10_000, log=logged.append
    )

    members = {m.name: m for m in tarfile.open(fileobj=built.fileobj).getmembers()}
    assert members[".deployer.Dockerfile"].isreg() and members[".dockerignore"].isreg()
    assert host.read_text() == "* * * * * root true\n"
    assert logged == [
        "The repository's own .deployer.Dockerfile is left out of the build context: Deployer "
        "builds from its own file of that name."
    ]


def test_dockerignore_linked_out_of_the_repository_is_refused(make_tree, tmp_path):
    host = tmp_path / "host-file"
    host.write_text("*\n")
    root = make_tree({"app.py": ""})
    (root / ".dockerignore").symlink_to(host)

    with pytest.raises(StageError) as refused:
        context.ignore_patterns(Tree(root), "")

    assert str(refused.value) == (
        f"The repository's .dockerignore was refused: .dockerignore is a link to {host}, outside "
        "the repository; Deployer reads only regular files inside the repository."
    )


def test_dockerignore_default_applies_when_the_repository_has_none(make_tree):
    root = make_tree({"app.py": "", ".env": "SECRET=1\n", "pkg/__pycache__/a.pyc": ""})

    members, _ = tar_of(root, context.ignore_patterns(Tree(root), generate_dockerignore()))

    assert ".env" not in members and "pkg/__pycache__/a.pyc" not in members
    assert "app.py" in members


def test_fifo_in_the_context_refuses_the_build_naming_it_without_blocking(make_tree):
    root = make_tree({"app.py": ""})
    os.mkfifo(root / "pipe")
    result = {}

    def build() -> None:
        try:
            tar_of(root)
        except StageError as exc:
            result["error"] = str(exc)

    worker = threading.Thread(target=build, daemon=True)
    worker.start()
    worker.join(timeout=10)

    assert result["error"] == (
        "The build context was refused: pipe is a FIFO (named pipe), not a regular file."
    )


def test_fifo_excluded_by_dockerignore_is_not_touched(make_tree):
    root = make_tree({"app.py": ""})
    os.mkfifo(root / "pipe")

    members, _ = tar_of(root, ["pipe"])

    assert "pipe" not in members and "app.py" in members


def test_more_files_than_the_cap_fails_with_the_setting_named(make_tree):
    root = make_tree({f"f{i}.txt": "" for i in range(6)})

    with pytest.raises(StageError, match=r"more than 5 files after \.dockerignore") as refused:
        tar_of(root, max_files=5)

    assert "DEPLOYER_BUILD_CONTEXT_MAX_FILES" in str(refused.value)


def test_files_excluded_by_dockerignore_do_not_count_against_the_cap(make_tree):
    root = make_tree({**{f"logs/f{i}.txt": "" for i in range(20)}, "app.py": ""})

    members, _ = tar_of(root, ["logs"], max_files=5)

    assert "app.py" in members


def test_more_bytes_than_the_cap_fails_naming_the_file_and_setting(make_tree):
    root = make_tree({"app.py": "x" * 10, "data.bin": b"\0" * 3_000_000})

    with pytest.raises(StageError) as refused:
        tar_of(root, max_bytes=2_000_000)

    assert str(refused.value) == (
        "The build context is larger than 2 MB after .dockerignore (at data.bin; "
        "DEPLOYER_BUILD_CONTEXT_MAX_MB). Exclude large files or data folders in .dockerignore."
    )


def test_file_contents_and_modes_arrive_intact(make_tree):
    root = make_tree({"app.py": "print('hi')\n", "bin/run": "#!/bin/sh\n"})
    (root / "bin/run").chmod(0o755)

    members, archive = tar_of(root)

    assert archive.extractfile(members["app.py"]).read() == b"print('hi')\n"
    assert members["bin/run"].mode == 0o755 and members["bin"].isdir()


def test_a_kept_sqlite_database_is_a_link_into_the_volume_in_place_of_the_repositorys_file(
    make_tree,
):
    root = make_tree({"app.py": "x\n", "db.sqlite3": "SQLite format 3 committed seed\n"})
    links = {"db.sqlite3": "/var/lib/deployer/data/db.sqlite3", "var/data/app.db": "/v/app.db"}

    members, _ = tar_of(root, links=links)

    assert members["db.sqlite3"].issym()
    assert members["db.sqlite3"].linkname == "/var/lib/deployer/data/db.sqlite3"
    assert members["var"].isdir() and members["var/data"].isdir()
    assert members["var/data/app.db"].linkname == "/v/app.db"
    assert (root / "db.sqlite3").read_text().startswith("SQLite format 3")  # checkout untouched
