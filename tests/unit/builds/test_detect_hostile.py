"""Hostile trees: detection reads only inside the repository, skips what it cannot read, never hangs."""

from __future__ import annotations

import os
import threading

import pytest

from builds.pipeline.detect import DetectionError, detect_plan
from builds.pipeline.detection import tree as tree_module
from builds.pipeline.detection.tree import Tree
from tests.unit.builds import trees
from tests.unit.builds.conftest import write_tree


def skipped_notes(plan) -> list[str]:
    return [f"{e.file}: {e.message}" for e in plan.evidence if e.message.startswith("skipped")]


def test_symlinked_file_leaving_the_tree_is_not_read(make_tree, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text(trees.FLASK_APP)
    root = make_tree({"requirements.txt": "flask==3.0.3\n"})
    (root / "app.py").symlink_to(outside)

    with pytest.raises(DetectionError):
        detect_plan(root)


def test_symlinked_folder_leaving_the_tree_is_not_walked(make_tree, tmp_path):
    outside = write_tree(tmp_path / "elsewhere", {"main.py": trees.FASTAPI_APP})
    root = make_tree({"app.py": trees.FLASK_APP})
    (root / "service").symlink_to(outside, target_is_directory=True)

    plan = detect_plan(root)

    assert plan.entrypoint == "app:app"


def test_symlinked_manifest_leaving_the_tree_is_refused_naming_it(make_tree, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("flask==3.0.3\n")
    root = make_tree({"app.py": trees.FLASK_APP})
    (root / "requirements.txt").symlink_to(secret)

    with pytest.raises(DetectionError) as refused:
        detect_plan(root)

    assert str(refused.value).startswith(
        f"requirements.txt is a link to {secret}, outside the repository; Deployer reads only "
        "regular files inside the repository."
    )


def test_manifest_linked_to_dev_zero_is_refused_without_reading_it(make_tree):
    root = make_tree({"app.py": trees.FLASK_APP})
    (root / "requirements.txt").symlink_to("/dev/zero")

    with pytest.raises(DetectionError, match=r"requirements\.txt is a link to /dev/zero, outside"):
        detect_plan(root)


def test_own_dockerfile_linked_to_a_host_file_is_refused_not_built(make_tree, tmp_path):
    host = tmp_path / "host-Dockerfile"
    host.write_text("FROM python:3.11-slim\n")
    root = make_tree({"app.py": trees.FLASK_APP, "requirements.txt": "flask\n"})
    (root / "Dockerfile").symlink_to(host)

    with pytest.raises(DetectionError, match=r"^Dockerfile is a link to .*, outside the repo"):
        detect_plan(root)


def test_link_inside_the_tree_is_read(make_tree):
    root = make_tree({"app.py": trees.FLASK_APP, "deps/base.txt": "flask==3.0.3\n"})
    (root / "requirements.txt").symlink_to("deps/base.txt")

    assert detect_plan(root).dependency_files == ["requirements.txt"]


def test_symlink_loop_does_not_hang(make_tree):
    root = make_tree({"app.py": trees.FLASK_APP})
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "self.py").symlink_to(root / "self.py")

    assert detect_plan(root).entrypoint == "app:app"


def test_huge_file_is_skipped_and_said_so(make_tree):
    huge = trees.FASTAPI_APP + "#" * (tree_module.MAX_FILE_BYTES + 10) + "\n"
    plan = detect_plan(make_tree({"main.py": huge, "app.py": trees.FLASK_APP}))

    assert plan.entrypoint == "app:app"
    assert "main.py: skipped: larger than 1 MB" in skipped_notes(plan)


def test_binary_file_is_skipped(make_tree):
    plan = detect_plan(
        make_tree({"app.py": trees.FLASK_APP, "requirements.txt": b"flask\x00\x01\x02"})
    )

    assert plan.package_manager == "pip"
    assert plan.dependency_files == []
    assert "requirements.txt: skipped: binary file" in skipped_notes(plan)


def test_undecodable_bytes_do_not_stop_detection(make_tree):
    source = b"# caf\xe9 in latin-1\n" + trees.FLASK_APP.encode()
    plan = detect_plan(make_tree({"app.py": source, "requirements.txt": b"flask==3.0.3 # \xff\n"}))

    assert plan.entrypoint == "app:app"
    assert "app.py: skipped: not valid UTF-8; read with replacement characters" in skipped_notes(
        plan
    )


def test_fifo_is_never_opened(make_tree):
    root = make_tree({"app.py": trees.FLASK_APP, "requirements.txt": "flask\n"})
    os.mkfifo(root / "views.py")
    result = {}
    worker = threading.Thread(target=lambda: result.update(plan=detect_plan(root)), daemon=True)

    worker.start()
    worker.join(timeout=10)

    assert "plan" in result
    assert result["plan"].entrypoint == "app:app"


def test_fifo_manifest_is_refused_without_blocking(make_tree):
    root = make_tree({"app.py": trees.FLASK_APP})
    os.mkfifo(root / "requirements.txt")
    result = {}

    def detect() -> None:
        try:
            detect_plan(root)
        except DetectionError as exc:
            result["error"] = str(exc)

    worker = threading.Thread(target=detect, daemon=True)
    worker.start()
    worker.join(timeout=10)

    assert result["error"].startswith("requirements.txt is a FIFO (named pipe), not a regular file")


@pytest.mark.parametrize(
    "source",
    ["print 'python 2'\n", "x = " + "(" * 100_000 + "\n", "def broken(:\n"],
    ids=["python2", "deep-nesting", "syntax-error"],
)
def test_unparsable_python_is_skipped(make_tree, source):
    plan = detect_plan(make_tree({"app.py": trees.FLASK_APP, "tools.py": source}))

    assert plan.entrypoint == "app:app"


def test_invalid_manifests_read_as_empty(make_tree):
    plan = detect_plan(
        make_tree(
            {
                "app.py": trees.FLASK_APP,
                "pyproject.toml": "[project\nname = ",
                "Pipfile.lock": "{not json",
                "Pipfile": "[packages]\nflask = '*'\n",
            }
        )
    )

    assert plan.entrypoint == "app:app"
    assert "pyproject.toml: skipped: not valid TOML" in skipped_notes(plan)


def test_vendored_and_virtualenv_folders_are_not_searched(make_tree):
    root = make_tree(
        {
            "node_modules/pkg/app.py": trees.FLASK_APP,
            ".venv/lib/site.py": trees.FLASK_APP,
            "myenv/pyvenv.cfg": "home = /usr/bin\n",
            "myenv/lib/app.py": trees.FLASK_APP,
            ".git/hooks/app.py": trees.FLASK_APP,
        }
    )

    with pytest.raises(DetectionError, match="No web application found"):
        detect_plan(root)


def test_walk_stops_at_its_entry_limit_and_says_so(make_tree, monkeypatch):
    monkeypatch.setattr(tree_module, "MAX_ENTRIES", 50)
    root = make_tree({f"data/file{i}.txt": "x" for i in range(200)})

    tree = Tree(root)

    assert len(tree.files()) <= 50
    assert any("walk stopped after 50 entries" in note.message for note in tree.skipped)


def test_walk_is_bounded_in_depth(make_tree):
    deep = "/".join(f"d{i}" for i in range(tree_module.MAX_DEPTH + 3))
    root = make_tree({f"{deep}/app.py": trees.FLASK_APP, "top.py": ""})

    assert Tree(root).files() == ["top.py"]


def test_large_tree_is_detected_from_its_root_files(make_tree):
    files = {f"pkg{i}/mod{j}.py": "VALUE = 1\n" for i in range(100) for j in range(30)}
    files.update({f"node_modules/m{i}/index.js": "" for i in range(2000)})
    root = make_tree({**files, "app.py": trees.FLASK_APP, "requirements.txt": "flask==3.0.3\n"})

    assert detect_plan(root).entrypoint == "app:app"


def test_paths_with_parent_components_are_refused(make_tree):
    tree = Tree(make_tree({"app.py": ""}))

    assert tree.read_text("../app.py") is None
    assert tree.read_text("/etc/hostname") is None
