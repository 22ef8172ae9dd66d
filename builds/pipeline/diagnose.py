"""Plain-language reasons for the build failures that real repositories hit most often.

pip's own output ends in a traceback or "error: subprocess-exited-with-error"; these
patterns, read from the step's output, name the cause and the fix in one sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# (pattern in the output, reason). The first pattern found, most specific first, wins.
KNOWN_FAILURES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"pg_config executable not found|pg_config is required to build psycopg2"),
        "psycopg2 needs pg_config to compile: add libpq-dev and gcc to the project's system "
        "packages, or use psycopg2-binary or psycopg 3 (psycopg[binary]).",
    ),
    (
        re.compile(
            r"mysql_config: not found|mysql_config not found|Can not find valid pkg-config name"
        ),
        "mysqlclient needs the MySQL client headers to compile: add default-libmysqlclient-dev, "
        "pkg-config and gcc to the project's system packages, or use PyMySQL.",
    ),
    (
        re.compile(r"Python\.h: No such file or directory"),
        "A package compiles a C extension and needs Python's headers: add python3-dev to the "
        "project's system packages, or pin a version that ships a wheel for this Python.",
    ),
    (
        re.compile(
            r"command '(?:x86_64-linux-gnu-)?(?:gcc|cc|g\+\+)' failed|gcc: not found|No such file or directory: 'gcc'|error: command 'gcc'"
        ),
        "A package has no wheel for this Python and must be compiled, but the image has no C "
        "compiler: add gcc (and the library's -dev package) to the project's system packages, "
        "or pin a version that ships a wheel.",
    ),
    (
        re.compile(r"No matching distribution found for ([^\s]+)"),
        "pip found no release of {0} for this Python version and platform: check the name and "
        "the version pin, or the Python version the project asks for.",
    ),
]


def explain_failure(output: Iterable[str]) -> str | None:
    """The reason for a failed build step, from its output lines, or None when unknown."""
    text = "\n".join(output)
    for pattern, reason in KNOWN_FAILURES:
        match = pattern.search(text)
        if match:
            return reason.format(*match.groups())
    return None
