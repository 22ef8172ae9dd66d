"""A dependency change that only adds requirements installs on the last build's layer."""

from __future__ import annotations

import pytest

from builds.pipeline import incremental
from builds.pipeline.detection.installer import UV_INSTALL
from builds.pipeline.dockerfile import generate_dockerfile
from builds.pipeline.incremental import MAX_DEPTH, Base, Start
from builds.pipeline.plan import Plan

LAYER = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def plan(**changes) -> Plan:
    values = {
        "framework": "flask",
        "python_version": "3.11",
        "package_manager": "pip",
        "installer": "uv",
        "dependency_files": ["requirements.txt"],
        "install_steps": [f"{UV_INSTALL} -r requirements.txt"],
        "entrypoint": "app:app",
        "start_command": "gunicorn app:app --bind 0.0.0.0:$PORT",
        **changes,
    }
    return Plan(**values)


def text(**changes) -> str:
    return generate_dockerfile(plan(**changes), package_cache=True, labels={"a": "b"})


def test_requirement_lines_leave_out_comments_and_blanks():
    lines = incremental.requirement_lines("flask>=3  # web\n\n# bench 123\ngunicorn>=22\n")

    assert lines == ("flask>=3", "gunicorn>=22")


@pytest.mark.parametrize(
    "option",
    [
        "-r base.txt",
        "--index-url https://example.com/simple",
        "-e .",
        "flask==3.0.0 --hash=sha256:abc",
        "flask==3.0.0 \\",
    ],
)
def test_a_requirements_file_with_an_option_is_not_followed(option):
    assert incremental.requirement_lines(f"gunicorn\n{option}\n") is None


def test_a_build_that_keeps_every_requirement_and_adds_one_goes_on_the_earlier_layer():
    earlier = Base(LAYER, "d1", ("flask>=3", "gunicorn>=22"))

    start = incremental.start(earlier, "d1", ("flask>=3", "gunicorn>=22", "requests==2.32.3"))

    assert start == Start(LAYER, depth=1, added=1)


def test_the_same_requirements_start_where_the_earlier_build_did_so_its_steps_are_cached():
    from_setup = Base(LAYER, "d1", ("flask>=3",))
    on_a_layer = Base(OTHER, "d1", ("flask>=3", "six"), depth=1, on=LAYER)

    assert incremental.start(from_setup, "d1", ("flask>=3",)) == Start()
    assert incremental.start(on_a_layer, "d1", ("six", "flask>=3")) == Start(LAYER, depth=1)


@pytest.mark.parametrize(
    "requirements",
    [
        ("flask>=3",),  # gunicorn removed: it must not stay installed
        ("flask>=3.1", "gunicorn>=22", "requests"),  # flask changed: no old files below
    ],
)
def test_a_requirement_removed_or_changed_installs_everything_again(requirements):
    earlier = Base(LAYER, "d1", ("flask>=3", "gunicorn>=22"), depth=2, on=OTHER)

    assert incremental.start(earlier, "d1", requirements) == Start()


def test_other_setup_steps_an_option_line_or_a_long_chain_install_everything_again():
    earlier = Base(LAYER, "d1", ("flask>=3",))
    more = ("flask>=3", "requests")

    assert incremental.start(earlier, "d2", more) == Start()  # base image, labels, Python...
    assert incremental.start(earlier, "d1", None) == Start()  # an option line
    assert incremental.start(None, "d1", more) == Start()  # no earlier layer
    assert incremental.start(Base(LAYER, "", ("flask>=3",)), "", more) == Start()
    deep = Base(LAYER, "d1", ("flask>=3",), depth=MAX_DEPTH - 1, on=OTHER)
    assert incremental.start(deep, "d1", more) == Start()


def test_the_digest_covers_the_setup_steps_and_the_base_image_only():
    same = incremental.prefix_digest(text(), "sha256:base")

    assert same == incremental.prefix_digest(text(), "sha256:base")
    assert same != incremental.prefix_digest(text(), "sha256:rebuilt-base")
    assert same != incremental.prefix_digest(text(python_version="3.13"), "sha256:base")
    assert same != incremental.prefix_digest(text(start_command="gunicorn x:y"), "sha256:base")
    # The install step and what follows are not setup steps.
    assert same == incremental.prefix_digest(
        text(install_steps=[f"{UV_INSTALL} -r other.txt"]), "sha256:base"
    )


def test_on_top_replaces_the_setup_steps_by_the_layer_and_keeps_the_rest():
    full = text()
    _header, setup, rest = incremental.split(full)

    on_layer = incremental.on_top(full, LAYER)

    assert on_layer.count("FROM ") == 1 and f"FROM {LAYER}\n" in on_layer
    assert "earlier build's dependency layer" in on_layer
    assert on_layer.endswith("\n".join(rest) + "\n")
    assert rest[0].startswith("# Dependencies first")  # no ARG step: the RUN names the index
    assert not any(line in on_layer for line in setup if line.startswith(("RUN", "LABEL")))


def test_a_dockerfile_without_a_dependency_step_is_not_split():
    assert incremental.split("FROM python:3.11-slim\nCOPY . .\n") is None
    assert incremental.prefix_digest("FROM python:3.11-slim\n", "x") == ""
    with pytest.raises(ValueError):
        incremental.on_top("FROM python:3.11-slim\n", LAYER)


def test_a_stored_base_reads_back_and_a_damaged_one_is_ignored():
    base = Base(LAYER, "d1", ("flask",), depth=2, on=OTHER)

    assert Base.from_dict(base.to_dict()) == base
    assert Base.from_dict({}) is None
    assert Base.from_dict({"layer": LAYER, "digest": "d", "requirements": None}) is None


UV_LOCK = """version = 1
requires-python = ">=3.11"

[[package]]
name = "gunicorn"
version = "23.0.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "packaging" }]

[[package]]
name = "hello"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "gunicorn" }]

[[package]]
name = "member"
version = "0.2.0"
source = { editable = "packages/member" }

[[package]]
name = "packaging"
version = "26.4"
source = { registry = "https://pypi.org/simple" }
"""


def test_uv_lock_pins_are_its_packages_at_their_versions_without_the_project_itself():
    assert incremental.uv_lock_pins(UV_LOCK) == ("gunicorn==23.0.0", "packaging==26.4")


def test_a_package_added_to_uv_lock_starts_on_the_layer_and_a_version_change_does_not():
    before = incremental.uv_lock_pins(UV_LOCK)
    added = incremental.uv_lock_pins(
        UV_LOCK + '\n[[package]]\nname = "six"\nversion = "1.17.0"\nsource = { registry = "x" }\n'
    )
    upgraded = incremental.uv_lock_pins(UV_LOCK.replace('"26.4"', '"26.5"'))
    previous = Base(LAYER, "d", before)

    assert incremental.start(previous, "d", added) == Start(LAYER, 1, 1)
    assert incremental.start(previous, "d", upgraded) == Start()


@pytest.mark.parametrize(
    "broken", ["not toml = [", 'package = "x"', "[[package]]\nname = 3\n", "[[package]]\n"]
)
def test_a_uv_lock_that_cannot_be_read_installs_from_the_setup_steps(broken):
    assert incremental.uv_lock_pins(broken) is None


def test_requirements_from_another_kind_of_file_are_never_compared():
    full = text()

    assert incremental.prefix_digest(full, "sha256:base", kind="uv.lock") != (
        incremental.prefix_digest(full, "sha256:base", kind="requirements.txt")
    )
