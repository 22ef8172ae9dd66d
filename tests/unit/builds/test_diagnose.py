from __future__ import annotations

import pytest

from builds.pipeline.diagnose import explain_failure
from builds.pipeline.image import _StreamState

PSYCOPG2_OUTPUT = """\
      Error: pg_config executable not found.

      pg_config is required to build psycopg2 from source.  Please add the directory
      containing pg_config to the $PATH or specify the full executable path with the
      option:
  error: subprocess-exited-with-error"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (PSYCOPG2_OUTPUT, "psycopg2 needs pg_config to compile: add libpq-dev"),
        (
            "/bin/sh: 1: mysql_config: not found\nOSError: mysql_config not found",
            "mysqlclient needs the MySQL client headers",
        ),
        ("src/x.c:1:10: fatal error: Python.h: No such file or directory", "add python3-dev"),
        ("error: command 'gcc' failed: No such file or directory", "no C compiler: add gcc"),
        ("ERROR: No matching distribution found for djangoo==9.9", "no release of djangoo==9.9"),
    ],
)
def test_known_compile_failures_are_explained_in_one_sentence(output, expected):
    assert expected in explain_failure(output.splitlines())


def test_unknown_failures_get_no_invented_reason():
    assert explain_failure(["Traceback (most recent call last):", "KeyError: 'x'"]) is None


def test_a_failed_build_ends_with_the_plain_reason_after_pips_output():
    lines = []
    state = _StreamState()
    for chunk in [
        {"stream": "Step 5/9 : RUN pip install -r requirements.txt\n"},
        {"stream": PSYCOPG2_OUTPUT + "\n"},
        {
            "error": "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1",
            "errorDetail": {"code": 1},
        },
    ]:
        state.consume(chunk, lines.append)

    assert lines[-1].startswith("Why: psycopg2 needs pg_config")
    assert state.error.startswith("The build step `pip install -r requirements.txt` failed")
    assert "psycopg2-binary" in state.error


def test_only_the_failing_steps_output_is_read():
    lines = []
    state = _StreamState()
    for chunk in [
        {"stream": "Step 2/9 : RUN echo pg_config executable not found\n"},
        {"stream": "pg_config executable not found\n"},
        {"stream": "Step 3/9 : RUN false\n"},
        {"error": "The command '/bin/sh -c false' returned a non-zero code: 1", "errorDetail": {}},
    ]:
        state.consume(chunk, lines.append)

    assert "pg_config" not in state.error
