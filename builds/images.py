"""Image rules that come from settings: the guard's policy and tags that cannot be guessed."""

from __future__ import annotations

from django.conf import settings
from django.utils.crypto import salted_hmac

from builds.pipeline import image_guard
from builds.pipeline.detection import own_dockerfile
from builds.pipeline.errors import StageError
from builds.pipeline.image_guard import NAMESPACE, ImagePolicy
from builds.pipeline.plan import Plan


def base_image(python_version: str) -> str:
    """The image a generated Dockerfile of this Python version starts from."""
    return settings.DEPLOYER_BASE_IMAGE.format(version=python_version)


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


def check_before_build(api, plan: Plan, text: str, build_args: dict[str, str]) -> None:
    """The image guard once more just before the engine builds `text`: with the very
    arguments the build gets, and against what the engine holds (Deployer's label, ONBUILD
    triggers of base images just pulled). Raises StageError naming the file, line and image."""
    policy = image_policy()
    if plan.kind != "dockerfile":
        nothing = own_dockerfile.ParsedDockerfile()
        refused = image_guard.first_refusal(nothing, "", policy, build_args)
    else:
        file = plan.dockerfile_path or "Dockerfile"
        parsed = own_dockerfile.parse(text, build_args)
        refused = image_guard.first_refusal(
            parsed, file, policy, build_args
        ) or image_guard.engine_refusal(api, parsed, file, policy)
    if refused:
        raise StageError(refused)
