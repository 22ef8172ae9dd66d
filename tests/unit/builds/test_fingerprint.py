"""The release fingerprint: what lets a code-only deploy skip Django's migrate, and what does not."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from builds.pipeline.detection.django import RELEASE
from builds.pipeline.fingerprint import may_skip, migrations_digest, release_fingerprint
from builds.pipeline.plan import Plan
from tests.unit.builds import trees

KEY = "test-secret-key"
ENV = {"SECRET_KEY": "s3cr3t-value-of-the-app", "DATABASE_URL": "postgres://u:pw@db/app"}
MIGRATION = (
    "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    pass\n"
)
SETTINGS = "mysite.settings"


def project(**extra: str) -> dict[str, str]:
    return trees.django_project(
        trees.STARTPROJECT_SETTINGS,
        **{
            "notes/__init__.py": "",
            "notes/views.py": "def index(request):\n    pass\n",
            "notes/migrations/__init__.py": "",
            "notes/migrations/0001_initial.py": MIGRATION,
            **extra,
        },
    )


def digest_of(root: Path) -> str | None:
    return migrations_digest(root, dependency_files=["requirements.txt"], settings_module=SETTINGS)


def fingerprint_of(root: Path, environment: dict[str, str] = ENV, key: str = KEY) -> str:
    digest = digest_of(root)
    assert digest
    return release_fingerprint(
        key,
        command=RELEASE,
        base_image="python:3.12-slim",
        migrations=digest,
        environment=environment,
    )


def test_same_tree_and_variables_give_the_same_fingerprint(make_tree):
    first = fingerprint_of(make_tree(project()))
    second = fingerprint_of(make_tree(project()))

    assert first == second
    assert len(first) == 64


def test_changed_migration_file_changes_the_fingerprint(make_tree):
    changed = project(**{"notes/migrations/0001_initial.py": MIGRATION + "# operations\n"})

    assert fingerprint_of(make_tree(changed)) != fingerprint_of(make_tree(project()))


def test_added_migration_file_changes_the_fingerprint(make_tree):
    added = project(**{"notes/migrations/0002_note_title.py": MIGRATION})

    assert fingerprint_of(make_tree(added)) != fingerprint_of(make_tree(project()))


def test_migration_in_a_nested_folder_of_migrations_counts(make_tree):
    nested = project(**{"notes/migrations/data/0002_seed.py": MIGRATION})

    assert fingerprint_of(make_tree(nested)) != fingerprint_of(make_tree(project()))


def test_moved_migration_file_changes_the_fingerprint(make_tree):
    files = project()
    files["other/migrations/0001_initial.py"] = files.pop("notes/migrations/0001_initial.py")

    assert fingerprint_of(make_tree(files)) != fingerprint_of(make_tree(project()))


def test_changed_variable_value_changes_the_fingerprint(make_tree):
    root = make_tree(project())

    changed = fingerprint_of(root, {**ENV, "DATABASE_URL": "postgres://u:pw@db/other"})

    assert changed != fingerprint_of(root)


def test_added_variable_changes_the_fingerprint(make_tree):
    root = make_tree(project())

    assert fingerprint_of(root, {**ENV, "FEATURE": "on"}) != fingerprint_of(root)


def test_change_outside_migrations_keeps_the_fingerprint(make_tree):
    changed = project(
        **{
            "notes/views.py": "def index(request):\n    return 'v2'\n",
            "mysite/urls.py": "urlpatterns = []\n",
            "notes/migrations.py": "# a module named migrations, not a folder\n",
            "notes/migrations/README.md": "not Python\n",
        }
    )

    assert fingerprint_of(make_tree(changed)) == fingerprint_of(make_tree(project()))


def test_changed_dependencies_change_the_digest(make_tree):
    upgraded = project(**{"requirements.txt": "Django==5.2.1\ndjango-allauth==65.0\n"})

    assert digest_of(make_tree(upgraded)) != digest_of(make_tree(project()))


def test_app_added_to_installed_apps_changes_the_digest(make_tree):
    before = trees.STARTPROJECT_SETTINGS + "INSTALLED_APPS = ['django.contrib.auth']\n"
    after = before.replace("]", ", 'django.contrib.sessions']")

    digests = {
        digest_of(make_tree(project(**{"mysite/settings.py": settings})))
        for settings in (before, after)
    }

    assert len(digests) == 2


def test_change_in_a_star_imported_settings_module_changes_the_digest(make_tree):
    def split_settings(apps: str) -> dict[str, str]:
        files = project(**{"mysite/settings/__init__.py": "from .base import *\n"})
        del files["mysite/settings.py"]
        files["mysite/settings/base.py"] = f"INSTALLED_APPS = {apps}\n"
        return files

    before = digest_of(make_tree(split_settings("['notes']")))

    assert digest_of(make_tree(split_settings("['notes', 'django.contrib.sessions']"))) != before


def test_variable_values_never_appear_in_the_fingerprint(make_tree):
    root = make_tree(project())
    secret = ENV["SECRET_KEY"]

    value = fingerprint_of(root)

    assert secret not in value
    assert value not in {hashlib.sha256(v.encode()).hexdigest() for v in ENV.values()}
    assert fingerprint_of(root, key="another-key") != value  # keyed: unguessable without it


def test_symlink_leaving_the_tree_is_not_read(make_tree, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text(MIGRATION)
    root = make_tree(project())
    os.symlink(outside, root / "notes/migrations/0002_link.py")
    before = digest_of(root)

    outside.write_text(MIGRATION + "# changed outside the repository\n")

    assert before is not None
    assert digest_of(root) == before


def test_symlink_inside_the_tree_counts_by_its_content(make_tree):
    root = make_tree(project(**{"shared/0002_shared.py": MIGRATION}))
    os.symlink(root / "shared/0002_shared.py", root / "notes/migrations/0002_shared.py")
    before = digest_of(root)

    (root / "shared/0002_shared.py").write_text(MIGRATION + "# changed\n")

    assert digest_of(root) != before


def test_symlink_loop_ends_the_walk(make_tree):
    root = make_tree(project())
    os.symlink(root / "notes", root / "notes/migrations/loop")

    assert digest_of(root) is not None


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        (Plan(kind="inferred", framework="django", release_command=RELEASE), True),
        (Plan(kind="procfile", framework="django", release_command=RELEASE), False),
        (Plan(kind="inferred", framework="django", release_command=f"{RELEASE} && ./seed"), False),
        (Plan(kind="inferred", framework="flask", release_command=RELEASE), False),
        (Plan(kind="dockerfile", framework="django", release_command=RELEASE), False),
    ],
    ids=["detected-migrate", "procfile", "chained", "not-django", "own-dockerfile"],
)
def test_only_the_migrate_deployer_detected_for_django_may_be_skipped(plan, expected):
    assert may_skip(plan) is expected


def test_procfile_release_line_is_never_skipped(detect):
    files = trees.django_project(
        trees.STARTPROJECT_SETTINGS,
        Procfile=f"release: {RELEASE}\nweb: gunicorn mysite.wsgi --bind 0.0.0.0:$PORT\n",
    )

    plan = detect(files)

    assert plan.release_command == RELEASE
    assert not may_skip(plan)


def test_detected_django_plan_may_be_skipped(detect):
    assert may_skip(detect(trees.django_project(trees.STARTPROJECT_SETTINGS)))


def test_fifo_named_like_a_migration_is_not_opened(make_tree):
    root = make_tree(project())
    os.mkfifo(root / "notes/migrations/0002_fifo.py")

    assert digest_of(root) != digest_of(make_tree(project()))  # and returns: never blocks
