"""Where a volume may be mounted: below /app or at or below /data, a plain absolute path."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from volumes import paths


@pytest.mark.parametrize(
    "given, clean",
    [
        ("/app/media", "/app/media"),
        ("/app/media/", "/app/media"),
        (" /data ", "/data"),
        ("/data/uploads/2024", "/data/uploads/2024"),
    ],
)
def test_paths_below_the_app_or_data_are_accepted_and_cleaned(given, clean):
    assert paths.clean_path(given) == clean


@pytest.mark.parametrize(
    "path, said",
    [
        ("media", "is not absolute"),
        ("../etc", "is not absolute"),
        ("/app/../etc", "'..' part"),
        ("/app/./media", "'.' or '..' part"),
        ("/app//media", "empty"),
        ("/", "outside the app"),
        ("/etc", "outside the app"),
        ("/usr/local", "outside the app"),
        ("/proc", "outside the app"),
        ("/opt/venv", "outside the app"),
        ("/application", "outside the app"),
        ("/database", "outside the app"),
        ("/app", "would hide its code"),
        ("/app/$HOME", "characters other than"),
        ("/app/" + "x" * 200, "longer than"),
    ],
)
def test_other_paths_are_refused_saying_why(path, said):
    with pytest.raises(ValidationError, match=said):
        paths.clean_path(path)


def test_overlapping_paths_are_noticed():
    assert paths.overlaps("/data", "/data/uploads")
    assert paths.overlaps("/app/media", "/app/media")
    assert not paths.overlaps("/app/media", "/app/media2")


@pytest.mark.parametrize("name", ["", "Media", "-x", "a_b", "x" * 41, "a b"])
def test_bad_names_are_refused(name):
    with pytest.raises(ValidationError, match="lowercase letters"):
        paths.clean_name(name)
