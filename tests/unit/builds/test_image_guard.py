"""The image guard: what an own Dockerfile may name, and the one sentence that refuses the rest."""

from __future__ import annotations

import pytest
from docker import errors as docker_errors

from builds.images import image_policy, image_tag
from builds.pipeline.cleanup import build_of
from builds.pipeline.detect import DetectionError
from builds.pipeline.detection.own_dockerfile import parse
from builds.pipeline.image_guard import (
    ImagePolicy,
    engine_refusal,
    first_refusal,
    repository,
)
from builds.pipeline.plan import Plan

POLICY = ImagePolicy(allowed=("python:[0-9]*-slim",))


def refused(text: str, build_args=None, policy=POLICY) -> str | None:
    return first_refusal(parse(text, build_args), "Dockerfile", policy, build_args)


@pytest.mark.parametrize(
    "text",
    [
        "FROM python:3.11-slim\n",
        "FROM python\n",
        "FROM ghcr.io/org/runtime:1.2@sha256:" + "a" * 64 + "\n",
        "FROM docker.io/library/python:3.12\n",
        "FROM ghcr.io/deployer/tool:1\n",  # someone named deployer on another registry
        "FROM deployer:1\n",  # docker.io/library/deployer, not Deployer's namespace
        "FROM registry.example.com:5000/team/app:2\n",
        "FROM scratch\nCOPY app /app\n",
        "FROM python:3.11-slim AS build\nFROM build\nCOPY --from=build /a /b\n",
        "FROM python:3.11-slim\nFROM python:3.11-slim\nCOPY --from=0 /a /b\n",
        "ARG PY=3.12\nFROM python:${PY:-3.11}-slim\n",
        "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\n",
        "# syntax=docker.io/docker/dockerfile:1.7-labs\nFROM python:3.11-slim\n",
        "FROM python:3.11-slim AS deps\nRUN --mount=type=bind,from=deps,target=/d true\n",
    ],
)
def test_registry_images_allowed_bases_and_own_stages_pass(text):
    assert refused(text) is None


@pytest.mark.parametrize(
    ("text", "build_args", "words"),
    [
        ("FROM deployer/other:12-0123456789ab\n", None, ("line 1", "FROM deployer/other")),
        ("FROM docker.io/deployer/other:3\n", None, ("deployer/",)),
        ("FROM index.docker.io/deployer/other:3\n", None, ("deployer/",)),
        ("FROM localhost:5000/deployer/other:3\n", None, ("deployer/",)),
        ("FROM 127.0.0.1:5000/deployer/other:3\n", None, ("deployer/",)),
        ("FROM deployer/setup:0123456789ab\n", None, ("Deployer's own",)),
        ("FROM python:3.11-slim\nCOPY --from=deployer/a:1 /app /s\n", None, ("line 2", "COPY")),
        ("FROM python:3.11-slim\nRUN --mount=from=deployer/a:1,target=/x true\n", None, ("RUN",)),
        ("FROM python:3.11-slim\nONBUILD COPY --from=deployer/a:1 / /\n", None, ("ONBUILD",)),
        ("FROM sha256:" + "ab" * 32 + "\n", None, ("bare image id",)),
        ("FROM 427c94f8ea46\n", None, ("bare image id",)),
        ("FROM python:3.11-slim\nCOPY --from=427c94f8 / /\n", None, ("bare image id",)),
        ("FROM python:3.11-slim\nCOPY --from=3 / /\n", None, ("bare image id",)),
        ("ARG X=deployer/setup:1\nFROM $X\n", None, ("FROM $X (that is, deployer/setup:1)",)),
        ("ARG X\nFROM ${X:-deployer/a:1}\n", None, ("deployer/a:1",)),
        ("ARG B=python:3.11-slim\nFROM $B\n", {"B": "deployer/a:1"}, ("deployer/a:1",)),
        ("FROM $NOWHERE\n", None, ("cannot be resolved", "$NOWHERE")),
        ("ARG A=x\nFROM ${A/x/deployer}\n", None, ("cannot be resolved",)),
        ("FROM Deployer/Other:1\n", None, ("not a valid image reference",)),
        ("# syntax=example/frontend:1\nFROM python:3.11-slim\n", None, ("frontend", "line 1")),
    ],
)
def test_other_projects_deployers_and_unresolvable_images_are_refused(text, build_args, words):
    reason = refused(text, build_args)

    assert reason is not None and reason.startswith("Dockerfile line ")
    assert "is refused because" in reason and reason.endswith(".")
    for word in words:
        assert word in reason


def test_buildkit_syntax_build_argument_is_refused_unless_an_allowed_frontend():
    reason = refused("FROM python:3.11-slim\n", {"BUILDKIT_SYNTAX": "example/frontend:1"})

    assert reason.startswith("The build argument BUILDKIT_SYNTAX=example/frontend:1 is refused")
    assert refused("FROM python:3.11-slim\n", {"BUILDKIT_SYNTAX": "docker/dockerfile:1"}) is None


def test_operator_allowed_pattern_lets_a_deployer_named_base_through():
    policy = ImagePolicy(allowed=("localhost:5000/deployer/python:*",))

    assert refused("FROM localhost:5000/deployer/python:3.12\n", policy=policy) is None
    assert refused("FROM localhost:5000/deployer/other:3\n", policy=policy) is not None


def test_allowed_pattern_never_lets_a_bare_id_through():
    assert refused("FROM 0123abcd\n", policy=ImagePolicy(allowed=("*",))) is not None


def test_policy_from_settings_allows_the_base_image_and_the_operators_patterns(settings):
    settings.DEPLOYER_BASE_IMAGE = "localhost:5000/deployer/python:{version}"
    settings.DEPLOYER_ALLOWED_IMAGES = ["ghcr.io/acme/*"]

    policy = image_policy()

    assert refused("FROM localhost:5000/deployer/python:3.12\n", policy=policy) is None
    assert refused("FROM localhost:5000/deployer/python:latest\n", policy=policy) is not None


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("python:3.12", ("docker.io", "library/python")),
        ("deployer/x:1", ("docker.io", "deployer/x")),
        ("docker.io/deployer/x", ("docker.io", "deployer/x")),
        ("index.docker.io/deployer/x", ("docker.io", "deployer/x")),
        ("localhost/deployer/x", ("localhost", "deployer/x")),
        ("localhost:5000/a", ("localhost:5000", "a")),
        ("[::1]:5000/deployer/x", ("[::1]:5000", "deployer/x")),
        ("UPPER/case", ("UPPER", "case")),
        ("UPPER/Case", None),
        ("a//b", None),
    ],
)
def test_references_are_read_as_the_engine_reads_them(image, expected):
    assert repository(image) == expected


def test_detection_refuses_another_projects_image_with_one_sentence(detect):
    with pytest.raises(DetectionError) as refusal:
        detect({"Dockerfile": "FROM python:3.11-slim\nCOPY --from=deployer/a:1 /app /s\n"})

    assert str(refusal.value).startswith("Dockerfile line 2: COPY --from deployer/a:1 is refused")


def test_detection_resolves_with_the_builds_arguments(make_tree):
    from builds.pipeline.detect import detect_plan

    root = make_tree({"Dockerfile": "ARG B=python:3.11-slim\nFROM $B\nUSER web\n"})

    assert detect_plan(root).base_images == ["python:3.11-slim"]
    assert detect_plan(root).image_user == "web"
    with pytest.raises(DetectionError, match="deployer/a:1"):
        detect_plan(root, build_args={"B": "deployer/a:1"})


def test_image_user_defaults_to_none_and_survives_a_round_trip():
    assert Plan().image_user is None
    assert Plan.from_dict(Plan(image_user="app").to_dict()).image_user == "app"


class FakeEngine:
    """The one seam that leaves the machine: the engine's image inspection."""

    def __init__(self, images: dict[str, dict]):
        self.images = images

    def inspect_image(self, image):
        if image not in self.images:
            raise docker_errors.ImageNotFound(image)
        return self.images[image]


def test_engine_refuses_an_image_carrying_deployers_label():
    engine = FakeEngine({"decoy:1": {"Config": {"Labels": {"org.deployer.managed": "1"}}}})

    reason = engine_refusal(engine, parse("FROM decoy:1\n"), "Dockerfile", POLICY)

    assert reason.startswith("Dockerfile line 1: FROM decoy:1 is refused because")
    assert "org.deployer.managed" in reason


def test_engine_refuses_a_base_image_whose_onbuild_trigger_reads_deployers_images():
    trigger = "COPY --from=deployer/setup:1 / /s"
    engine = FakeEngine({"evil:1": {"Config": {"OnBuild": [trigger]}}})

    reason = engine_refusal(engine, parse("FROM evil:1\n"), "Dockerfile", POLICY)

    assert "ONBUILD trigger" in reason and "deployer/setup:1" in reason


def test_engine_passes_absent_and_plain_images_and_onbuild_from_own_stages():
    engine = FakeEngine(
        {
            "python:3.11-slim": {"Config": {"Labels": {"org.deployer.role": "base-image"}}},
            "tool:1": {"Config": {"OnBuild": ["COPY --from=build /a /b"]}},
        }
    )
    text = "FROM python:3.11-slim AS build\nFROM tool:1\nFROM ghcr.io/not/pulled:yet\n"

    assert engine_refusal(engine, parse(text), "Dockerfile", POLICY) is None


def test_image_tag_names_the_build_with_a_part_no_one_else_can_compute(settings):
    tag = image_tag("shop", 42)
    settings.SECRET_KEY = "another-secret-key-of-more-than-32-characters"

    assert tag.startswith("deployer/shop:42-") and len(tag.rpartition("-")[2]) == 12
    assert image_tag("shop", 42) != tag
    assert image_tag("shop", 43).rpartition("-")[2] != tag.rpartition("-")[2]
    assert build_of(tag) == "42"
    assert build_of("deployer/shop:41") == "41"


def test_build_stage_check_refuses_a_frontend_argument_for_a_generated_dockerfile_too():
    from builds.images import check_before_build
    from builds.pipeline.errors import StageError

    plan = Plan(kind="inferred")

    with pytest.raises(StageError, match="BUILDKIT_SYNTAX=example/frontend:1 is refused"):
        check_before_build(FakeEngine({}), plan, "", {"BUILDKIT_SYNTAX": "example/frontend:1"})
    check_before_build(FakeEngine({}), plan, "", {"GREETING": "hi"})


def test_build_stage_check_resolves_with_the_arguments_the_engine_gets():
    from builds.images import check_before_build
    from builds.pipeline.errors import StageError

    plan = Plan(kind="dockerfile", dockerfile_path="Dockerfile")
    text = "ARG B=python:3.11-slim\nFROM $B\n"

    check_before_build(FakeEngine({}), plan, text, {})
    with pytest.raises(StageError, match="Dockerfile line 2: FROM \\$B"):
        check_before_build(FakeEngine({}), plan, text, {"B": "deployer/a:1"})
