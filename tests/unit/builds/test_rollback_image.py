"""A rollback needs its build's image on the engine: said plainly when it is gone."""

from __future__ import annotations

import pytest
import requests
from docker import errors as docker_errors

from builds import runner
from builds.pipeline.errors import StageError


class _Engine:
    def __init__(self, raises: Exception | None):
        self.api = self
        self.raises = raises

    def inspect_image(self, image_id: str) -> dict:
        if self.raises:
            raise self.raises
        return {"Id": image_id}


def test_a_rollback_to_a_removed_image_says_it_was_removed_and_why():
    with pytest.raises(StageError) as refused:
        runner._check_image_exists(_Engine(docker_errors.ImageNotFound("gone")), "sha256:x")

    assert str(refused.value).startswith("The image of that build was removed (only the last")
    runner._check_image_exists(_Engine(None), "sha256:x")  # there: nothing to say


def test_an_engine_that_cannot_be_reached_is_not_reported_as_a_removed_image():
    with pytest.raises(requests.exceptions.ConnectionError):
        runner._check_image_exists(_Engine(requests.exceptions.ConnectionError()), "sha256:x")
