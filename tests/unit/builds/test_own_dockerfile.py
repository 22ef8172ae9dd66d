"""An own Dockerfile read like the engine reads it: stages, ARGs, the images it names, port, user."""

from __future__ import annotations

import pytest

from builds.pipeline.detection.own_dockerfile import Unresolvable, expand, parse


def refs(text: str, build_args=None) -> list[tuple[str, int, str | None, bool]]:
    return [
        (ref.instruction, ref.line, ref.image, ref.stage)
        for ref in parse(text, build_args).references
    ]


def test_multi_stage_file_names_its_images_and_its_stages_apart():
    text = (
        "FROM python:3.12 AS build\n"
        "RUN pip wheel -w /w .\n"
        "FROM build AS test\n"
        "FROM ghcr.io/org/runtime:1.2 \\\n  AS final\n"
        "COPY --from=build /w /w\n"
        "COPY --from=0 /w /w0\n"
    )

    assert refs(text) == [
        ("FROM", 1, "python:3.12", False),
        ("FROM", 3, "build", True),
        ("FROM", 4, "ghcr.io/org/runtime:1.2", False),
        ("COPY --from", 6, "build", True),
        ("COPY --from", 7, "0", True),
    ]
    assert parse(text).base_images == [("python:3.12", 1), ("ghcr.io/org/runtime:1.2", 4)]


def test_platform_flag_is_not_taken_for_the_image():
    parsed = parse("FROM --platform=$BUILDPLATFORM python:3.11-slim AS b\n")

    assert parsed.base_images == [("python:3.11-slim", 1)]
    assert parsed.stages[0].platform == "$BUILDPLATFORM"
    assert parsed.stages[0].name == "b"


def test_lowercase_instructions_and_stage_keyword_are_read():
    text = "from python:3.11-slim as Build\ncopy --from=build /a /b\nexpose 5000\nuser app\n"
    parsed = parse(text)

    assert refs(text)[1] == ("COPY --from", 2, "build", True)
    assert parsed.exposed_port == 5000
    assert parsed.user == "app"


def test_global_arg_default_is_substituted_into_from():
    assert parse("ARG PY=3.12\nFROM python:${PY}-slim\n").base_images == [("python:3.12-slim", 2)]


def test_build_argument_wins_over_the_arg_default():
    parsed = parse("ARG BASE=python:3.11-slim\nFROM $BASE\n", {"BASE": "deployer/a:1"})

    assert parsed.base_images == [("deployer/a:1", 2)]


def test_build_argument_not_declared_by_an_arg_changes_nothing():
    parsed = parse("FROM python:3.11-slim\n", {"BASE": "deployer/a:1"})

    assert parsed.base_images == [("python:3.11-slim", 1)]


@pytest.mark.parametrize(
    ("word", "scope", "expected"),
    [
        ("${A:-x}", {"A": None}, "x"),
        ("${A:-x}", {"A": ""}, "x"),
        ("${A:-x}", {"A": "y"}, "y"),
        ("${A-x}", {"A": ""}, ""),
        ("${A-x}", {"A": None}, "x"),
        ("${A:+x}", {"A": "y"}, "x"),
        ("${A:+x}", {"A": ""}, ""),
        ("${A+x}", {"A": ""}, "x"),
        ("${A:-${B}/c}", {"A": None, "B": "b"}, "b/c"),
        ("a$B", {"B": "b"}, "ab"),
        ("'$B'", {"B": "b"}, "$B"),
        ('"$B"', {"B": "b"}, "b"),
        ("\\$B", {"B": "b"}, "$B"),
        ("cost$", {}, "cost$"),
    ],
)
def test_variables_expand_the_way_the_engine_expands_them(word, scope, expected):
    assert expand(word, scope) == expected


@pytest.mark.parametrize(
    "word", ["$UNDECLARED", "${UNDECLARED:-python}", "${A#pre}", "${A/x/y}", "${A", "'open"]
)
def test_what_cannot_be_evaluated_is_unresolvable(word):
    with pytest.raises(Unresolvable):
        expand(word, {"A": "deployer/a"})


def test_arg_declared_after_the_first_from_is_not_seen_by_a_later_from():
    parsed = parse("FROM python:3.11-slim\nARG X=deployer/setup:1\nFROM $X\n")

    assert parsed.references[1].image is None
    assert "$X" in parsed.references[1].problem


def test_stage_arg_reimports_the_global_value_for_copy_from():
    text = "ARG SRC=deployer/a:1\nFROM python:3.11-slim\nARG SRC\nCOPY --from=$SRC / /\n"

    assert refs(text)[1] == ("COPY --from", 4, "deployer/a:1", False)


def test_env_of_the_stage_is_used_for_copy_from():
    text = "FROM python:3.11-slim\nARG T=v\nENV IMG=deployer/x:${T}\nCOPY --from=${IMG} / /\n"

    assert refs(text, {"T": "9"})[1] == ("COPY --from", 4, "deployer/x:9", False)


def test_arg_default_built_from_an_unresolvable_arg_stays_unresolvable():
    parsed = parse("ARG A=${NOPE}\nARG B=$A\nFROM $B\n")

    assert parsed.references[0].image is None


def test_run_mount_from_values_are_collected():
    text = (
        "FROM python:3.11-slim AS deps\n"
        "RUN --mount=type=cache,target=/c --mount=type=bind,from=deployer/a:1,target=/x true\n"
        "RUN --mount=type=bind,source=/w,from=deps,target=/w true\n"
    )

    assert refs(text)[1:] == [
        ("RUN --mount", 2, "deployer/a:1", False),
        ("RUN --mount", 3, "deps", True),
    ]


def test_onbuild_copy_from_is_collected():
    assert refs("FROM python:3.11-slim\nONBUILD COPY --from=deployer/a:1 / /\n")[1] == (
        "ONBUILD COPY --from",
        2,
        "deployer/a:1",
        False,
    )


def test_stage_index_not_yet_built_is_an_image_name():
    assert refs("FROM python:3.11-slim\nCOPY --from=1 / /\nFROM python:3.11-slim\n")[1][3] is False


def test_later_stage_named_in_hex_digits_is_not_trusted_as_a_stage():
    text = "FROM python:3.11-slim\nCOPY --from=cafe / /\nFROM python:3.11-slim AS cafe\n"

    assert refs(text)[1][3] is False


def test_syntax_directive_is_an_image_reference_and_escape_is_honoured():
    text = "# syntax=example/frontend:1\n# escape=`\nFROM python:3.11-slim\nRUN echo a `\n  b\n"
    parsed = parse(text)

    assert parsed.references[0].instruction == "# syntax"
    assert parsed.references[0].image == "example/frontend:1"
    assert parsed.directives["escape"] == "`"
    assert len(parsed.references) == 2


def test_directive_after_a_blank_line_is_only_a_comment():
    assert parse("\n# syntax=example/frontend:1\nFROM python:3.11-slim\n").directives == {}


def test_heredoc_body_lines_are_read_as_instructions_too():
    text = "FROM python:3.11-slim\nRUN <<CMD\nFROM deployer/a:1\nCMD\n"

    assert ("FROM", 3, "deployer/a:1", False) in refs(text)


def test_final_user_follows_the_stage_the_last_one_builds_on():
    text = "FROM python:3.11-slim AS base\nUSER 1000:1000\nFROM base\nCMD run\n"

    assert parse(text).user == "1000:1000"


def test_final_user_is_none_when_the_last_stage_starts_from_an_image():
    assert parse("FROM python:3.11-slim AS b\nUSER app\nFROM python:3.11-slim\n").user is None


def test_user_with_an_arg_is_resolved():
    assert parse("FROM python:3.11-slim\nARG U=web\nUSER ${U}\n").user == "web"


def test_first_exposed_port_with_protocol_is_read():
    assert parse("FROM python:3.11-slim\nEXPOSE 5000/tcp 6000\nEXPOSE 7000\n").exposed_port == 5000


def test_exec_and_shell_form_commands_are_read_as_command_lines():
    final = parse(
        'FROM python:3.12-slim\nENTRYPOINT ["/entrypoint", "--wait"]\nCMD gunicorn app:app\n'
    ).final

    assert (final.entrypoint.text, final.entrypoint.words) == (
        "/entrypoint --wait",
        ("/entrypoint", "--wait"),
    )
    assert (final.cmd.text, final.cmd.line, final.cmd.words) == ("gunicorn app:app", 3, None)


def test_entrypoint_resets_the_cmd_the_stage_inherited_but_not_its_own():
    inherited = parse('FROM python:3.12 AS base\nCMD run\nFROM base\nENTRYPOINT ["/e"]\n')
    own = parse('FROM python:3.12\nCMD run\nENTRYPOINT ["/e"]\n')

    assert inherited.final.cmd is None
    assert own.final.cmd.text == "run"


def test_workdir_and_copy_destinations_resolve_with_args_and_relative_paths():
    final = parse(
        "FROM python:3.12-slim\nARG APP_HOME=/app\nWORKDIR ${APP_HOME}\nWORKDIR src\n"
        "COPY --chown=app:app . ${APP_HOME}\nCOPY start.sh ./bin/\nCOPY --from=build /w /w\n"
        'COPY ["a.txt", "b.txt", "/data/"]\n'
    ).final

    assert final.workdir == "/app/src"
    assert [(c.sources, c.destination) for c in final.copies] == [
        ((".",), "/app"),
        (("start.sh",), "/app/src/bin/"),
        (("a.txt", "b.txt"), "/data/"),
    ]


def test_final_base_follows_the_stages_the_last_one_builds_on():
    parsed = parse("FROM python:3.11 AS build\nFROM python:3.13-slim AS run\nFROM run\nCMD serve\n")

    assert parsed.final_base.image == "python:3.13-slim"
    assert parsed.final.cmd.text == "serve"
