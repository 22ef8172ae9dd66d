"""The guard on the images a repository's own Dockerfile may name.

Every project's image sits in the same engine, so a Dockerfile that could name any image
could read any other project's code (`FROM deployer/<other>:<build>`, `COPY --from=` it).
A FROM, a `COPY --from=` and a `RUN --mount=...,from=...` may name:

- an image from a registry (`name[:tag][@digest]`) outside Deployer's namespace;
- an allowed image (the base image setting, the operator's allowed patterns);
- one of the file's own stages, by name or index.

Never an image under `deployer/` (other projects' builds and Deployer's own setup images),
on Docker Hub or a loopback registry, since the engine finds `deployer/x` and
`docker.io/deployer/x` as the same local tag; never a bare image id (`sha256:...` or a
hex prefix), which could name any image on the engine; never a reference whose variables
cannot be resolved; and never an image the engine holds with Deployer's managed label.
A `# syntax=` frontend (or the BUILDKIT_SYNTAX build argument) runs inside the builder
and can read any image, so only the allowed frontends pass.

A guard, not the fence: image tags also carry a part that cannot be guessed (see
`builds.runner.image_tag`), and docs/security.md names the engine options.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from docker import APIClient
from docker import errors as docker_errors

from builds.docker import LABEL_MANAGED, describe_error
from builds.pipeline.detection.own_dockerfile import (
    ImageReference,
    ParsedDockerfile,
    flag_references,
)
from builds.pipeline.errors import StageError

NAMESPACE = "deployer"
# distribution/reference's grammar (the one the engine parses references with).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN}(?:\.{_DOMAIN})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
REFERENCE = re.compile(
    rf"(?P<name>(?:(?P<domain>{_HOST})/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)
_IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]+", re.IGNORECASE)
_LOOPBACK = re.compile(r"(?:localhost|127(?:\.\d{1,3}){3}|\[::1\]|\[0*:(?:0*:)*0*1\])(?::\d+)?")


@dataclass(frozen=True)
class ImagePolicy:
    """What the operator allows beyond registry images: glob patterns of images (the base
    image setting with `{version}` as `*`, say) and the repositories of allowed frontends."""

    allowed: tuple[str, ...] = ()
    frontends: tuple[str, ...] = ("docker/dockerfile",)


def repository(image: str) -> tuple[str, str] | None:
    """(registry, path) the engine reads `image` as, or None when it is no valid reference.

    `python:3.12` is ("docker.io", "library/python"), `deployer/x` and `docker.io/deployer/x`
    are both ("docker.io", "deployer/x"), `localhost:5000/a` is ("localhost:5000", "a").
    """
    match = REFERENCE.fullmatch(image)
    if not match:
        return None
    first, _, rest = match["name"].partition("/")
    # The engine's rule: a first part with a dot, a colon or upper case, or `localhost`, is a host.
    if rest and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, rest
    else:
        domain, path = "docker.io", match["name"]
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = f"library/{path}"
    return domain, path


def refusal(reference: ImageReference, policy: ImagePolicy) -> str | None:
    """Why `reference` may not be used, in words, or None when it may."""
    if reference.image is None:
        return (
            f"it cannot be resolved ({reference.problem}), and only a reference that can be "
            "checked may be built: declare every variable with an ARG"
        )
    if reference.instruction == "# syntax":
        return _frontend_refusal(reference.image, policy)
    if reference.stage or (reference.instruction == "FROM" and reference.image == "scratch"):
        return None
    image = reference.image
    if _IMAGE_ID.fullmatch(image) or image.lower().startswith("sha256:"):
        return (
            "it is a bare image id, which can name any image on the engine, another project's "
            "too; name a registry image, an allowed base image or a stage of this file"
        )
    if any(fnmatch.fnmatchcase(image, pattern) for pattern in policy.allowed):
        return None
    parts = repository(image)
    if parts is None:
        return "it is not a valid image reference (name[:tag][@digest], in lower case)"
    domain, path = parts
    if path.startswith(f"{NAMESPACE}/") and (domain == "docker.io" or _LOOPBACK.fullmatch(domain)):
        return (
            f"images under {NAMESPACE}/ are other projects' builds and Deployer's own, which no "
            "build may read; name a registry image, an allowed base image or a stage of this file"
        )
    return None


def _frontend_refusal(image: str, policy: ImagePolicy) -> str | None:
    parts = repository(image)
    allowed = {repository(frontend) for frontend in policy.frontends}
    if parts is not None and parts in allowed:
        return None
    names = ", ".join(policy.frontends) or "none"
    return (
        "a BuildKit frontend runs inside the builder and can read every image on the engine, "
        f"so only the allowed frontends may be named (allowed: {names})"
    )


def sentence(file: str, reference: ImageReference, reason: str) -> str:
    """The one sentence a refusal is shown as: the file, the line, the image, why."""
    shown = reference.written
    if reference.image is not None and reference.image != reference.written:
        shown = f"{reference.written} (that is, {reference.image})"
    return f"{file} line {reference.line}: {reference.instruction} {shown} is refused because {reason}."


def first_refusal(
    parsed: ParsedDockerfile,
    file: str,
    policy: ImagePolicy,
    build_args: Mapping[str, str] | None = None,
) -> str | None:
    """The sentence refusing the first image `parsed` may not name, or None when all may."""
    syntax = (build_args or {}).get("BUILDKIT_SYNTAX")
    if syntax is not None:
        reference = ImageReference("# syntax", 0, syntax, syntax)
        reason = refusal(reference, policy)
        if reason:
            return f"The build argument BUILDKIT_SYNTAX={syntax} is refused because {reason}."
    for reference in parsed.references:
        reason = refusal(reference, policy)
        if reason:
            return sentence(file, reference, reason)
    return None


def engine_refusal(
    api: APIClient, parsed: ParsedDockerfile, file: str, policy: ImagePolicy
) -> str | None:
    """What the engine knows against the images `parsed` names, as one sentence, or None.

    An image the engine holds with Deployer's managed label is refused whatever its name;
    so is one whose ONBUILD triggers name an image this guard refuses (they run in this
    build). An image the engine does not hold yet is a registry's, pulled for this build.
    Raises StageError when the engine cannot be asked.
    """
    for reference in _images(parsed.references):
        try:
            attributes = api.inspect_image(reference.image)
        except docker_errors.NotFound:
            continue
        except docker_errors.APIError as exc:
            raise StageError(
                f"{file} line {reference.line}: {reference.image} could not be checked on the "
                f"engine ({describe_error(exc)})."
            ) from exc
        config = attributes.get("Config") or {}
        if (config.get("Labels") or {}).get(LABEL_MANAGED):
            return sentence(
                file,
                reference,
                f"the engine holds it as an image Deployer built ({LABEL_MANAGED}), "
                "another project's or Deployer's own, which no build may read",
            )
        for trigger in config.get("OnBuild") or ():
            instruction, _, value = trigger.strip().partition(" ")
            for inner in flag_references(instruction, value, reference.line, parsed.stage_names):
                reason = refusal(inner, policy)
                if reason:
                    return sentence(
                        file,
                        reference,
                        f"its ONBUILD trigger `{trigger}` names {inner.written}, and {reason}",
                    )
    return None


def _images(references: Iterable[ImageReference]) -> Iterable[ImageReference]:
    for reference in references:
        if reference.instruction != "# syntax" and reference.image and not reference.stage:
            if reference.image != "scratch":
                yield reference
