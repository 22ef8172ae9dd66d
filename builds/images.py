"""Image rules that come from settings: the guard's policy and tags that cannot be guessed."""

from __future__ import annotations

from django.conf import settings
from django.utils.crypto import salted_hmac

from builds.pipeline.image_guard import NAMESPACE, ImagePolicy


def image_policy() -> ImagePolicy:
    """What an own Dockerfile may name besides registry images and its own stages: the base
    image setting (any version) and `DEPLOYER_ALLOWED_IMAGES`; `# syntax=` may name only
    `DEPLOYER_DOCKERFILE_FRONTENDS`."""
    base = settings.DEPLOYER_BASE_IMAGE.replace("{version}", "[0-9]*")
    return ImagePolicy(
        allowed=(base, *settings.DEPLOYER_ALLOWED_IMAGES),
        frontends=tuple(settings.DEPLOYER_DOCKERFILE_FRONTENDS),
    )


def image_tag(project_slug: str, build_id: int) -> str:
    """`deployer/<project>:<build>-<12 hex>`: the build names the tag (cleanup reads it back,
    see `cleanup.build_of`), the HMAC of SECRET_KEY over project and build makes it a name
    no other project can guess or compute. Stored on the build; never recomputed."""
    secret = salted_hmac("deployer.image-tag", f"{project_slug}\0{build_id}", algorithm="sha256")
    return f"{NAMESPACE}/{project_slug}:{build_id}-{secret.hexdigest()[:12]}"
