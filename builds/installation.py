"""This installation's id, on every container, image, network and volume it creates.

Stored in the database (made by a migration), so it follows the installation through
restarts, upgrades and a new SECRET_KEY, and a test run (a fresh test database) gets its
own. DEPLOYER_INSTALLATION_ID overrides it.
"""

from __future__ import annotations

import functools

from django.conf import settings

from builds import docker as docker_seam
from builds.models import Installation


@functools.cache
def installation_id() -> str:
    if settings.DEPLOYER_INSTALLATION_ID:
        return settings.DEPLOYER_INSTALLATION_ID
    return Installation.objects.get_or_create(pk=1, defaults={"key": Installation.new_key()})[0].key


def project_labels(project: str) -> dict[str, str]:
    """The labels of everything Deployer makes for `project`."""
    return {
        docker_seam.LABEL_MANAGED: "1",
        docker_seam.LABEL_INSTALLATION: installation_id(),
        docker_seam.LABEL_PROJECT: project,
    }
