"""Which Python versions a build may ask for: the base images this engine has, or a configured list."""

from __future__ import annotations

import re

from django.conf import settings

VERSION = re.compile(r"^3\.\d+$")


def available_pythons(client) -> list[str]:
    """`DEPLOYER_PYTHON_VERSIONS` as a list; with "auto", the versions whose base image is on the engine."""
    configured = settings.DEPLOYER_PYTHON_VERSIONS
    if configured != ["auto"]:
        return configured
    template = settings.DEPLOYER_BASE_IMAGE
    repository = template.split(":")[0]
    found = set()
    # The low-level call is one request; images.list() inspects every image it lists.
    for image in client.api.images(name=repository):
        for tag in image.get("RepoTags") or ():
            for minor in range(6, 20):
                version = f"3.{minor}"
                if tag == template.format(version=version):
                    found.add(version)
    return sorted(found, key=lambda v: int(v.split(".")[1]))
