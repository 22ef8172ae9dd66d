"""Python version: where the request is read from, and how a range meets the available versions."""

from __future__ import annotations

import pytest

from builds.pipeline.detect import DetectionError
from builds.pipeline.detection.python_version import resolve_python_version
from builds.pipeline.plan import Evidence, Overrides
from tests.unit.builds import trees

AVAILABLE = ["3.10", "3.11", "3.12", "3.13"]
ASKED = Evidence("pyproject.toml", 4, "requires-python")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("^3.12", "3.12"),
        (">=3.10", "3.11"),
        (">=3.10,<3.12", "3.11"),
        (">=3.9 <3.11", "3.10"),
        ("~=3.11", "3.11"),
        ("~=3.11.4", "3.11"),
        ("~3.12", "3.12"),
        ("3.13.*", "3.13"),
        ("==3.12.*", "3.12"),
        ("3.13.2", "3.13"),
        ("==3.11.9", "3.11"),
        ("3.12", "3.12"),
        ("python-3.10.14", "3.10"),
        (">=3.10,!=3.11.*", "3.12"),
        ("3.10 || 3.13", "3.13"),
        ("*", "3.11"),
        ("<3.11", "3.10"),
        (">3.12", "3.12"),  # 3.12.1 is greater than 3.12
        (">=3.12.999", "3.13"),
    ],
)
def test_range_resolves_to_the_allowed_version_closest_to_the_default(spec, expected):
    assert resolve_python_version(spec, ASKED, AVAILABLE) == expected


def test_unsatisfiable_range_names_the_file_line_versions_and_setting():
    with pytest.raises(DetectionError) as raised:
        resolve_python_version(">=3.14", ASKED, AVAILABLE)

    message = str(raised.value)
    assert "pyproject.toml line 4" in message
    assert "3.10, 3.11, 3.12, 3.13" in message
    assert "Python version setting" in message


def test_exact_version_never_falls_back_to_another_minor():
    with pytest.raises(DetectionError):
        resolve_python_version("3.9.18", Evidence(".python-version", 1, "asked"), AVAILABLE)


def test_unreadable_version_is_an_error_not_a_guess():
    with pytest.raises(DetectionError) as raised:
        resolve_python_version("pypy3.10", Evidence(".python-version", 1, "asked"), AVAILABLE)

    assert ".python-version line 1" in str(raised.value)


@pytest.mark.parametrize(
    ("files", "expected_spec"),
    [
        ({".python-version": "# pyenv\n3.12.3\n"}, "3.12.3"),
        ({"runtime.txt": "python-3.12.1\n"}, "python-3.12.1"),
        ({"Pipfile": '[requires]\npython_full_version = "3.12.2"\n'}, "3.12.2"),
        ({"pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.12"\n'}, "^3.12"),
        ({"pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.12"\n'}, ">=3.12"),
        ({"setup.cfg": "[options]\npython_requires = >=3.12\n"}, ">=3.12"),
        ({".python-version": "3.12\n", "runtime.txt": "python-3.11.9\n"}, "3.12"),
    ],
)
def test_version_request_is_read_from_each_supported_file(detect, files, expected_spec):
    plan = detect(
        {"requirements.txt": "flask==3.0.3\n", "app.py": trees.FLASK_APP, **files},
        available=("3.11", "3.12"),
    )

    assert plan.python_spec == expected_spec
    assert plan.python_version == "3.12"


def test_no_request_uses_the_documented_default(detect):
    plan = detect({"app.py": trees.FLASK_APP}, available=("3.11", "3.12"))

    assert plan.python_version == "3.11"
    assert plan.python_spec is None


def test_newer_base_image_does_not_change_the_choice_for_a_range(detect):
    files = {
        "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.10"\n',
        "app.py": trees.FLASK_APP,
    }

    assert detect(files, available=("3.11", "3.12")).python_version == "3.11"
    assert detect(files, available=("3.11", "3.12", "3.14")).python_version == "3.11"


def test_default_missing_from_the_engine_uses_the_newest_available(detect):
    plan = detect({"app.py": trees.FLASK_APP}, available=("3.12", "3.13"))

    assert plan.python_version == "3.13"


def test_python_version_setting_overrides_the_repository(detect):
    plan = detect(
        {".python-version": "3.13\n", "app.py": trees.FLASK_APP},
        Overrides(python_version="3.12"),
        available=("3.12", "3.13"),
    )

    assert plan.python_version == "3.12"


def test_unavailable_request_in_the_repository_fails_detection(detect):
    with pytest.raises(DetectionError, match=r"runtime\.txt line 1"):
        detect({"runtime.txt": "python-3.9.18\n", "app.py": trees.FLASK_APP}, available=("3.11",))
