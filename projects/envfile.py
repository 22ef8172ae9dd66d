"""Parse a pasted `.env` file into (line, key, value) entries and per-line errors.

Accepted: blank lines and `#` comments, an optional `export ` prefix, `KEY=value` where the
value may contain `=`, unquoted values ending at ` #` (an inline comment), 'single quotes'
taken literally, and "double quotes" with backslash escapes (\\n \\t \\r \\" \\\\ \\$). Quoted
values may span several lines. A key given twice is an error on its second line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from projects.validators import ENV_KEY

ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}
EXPORT = re.compile(r"^export[ \t]+")
INLINE_COMMENT = re.compile(r"[ \t]+#.*$")


@dataclass(frozen=True)
class Entry:
    line: int
    key: str
    value: str


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass
class ParsedEnvFile:
    entries: list[Entry] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


class _Unterminated(Exception):
    pass


class _TrailingText(Exception):
    pass


def parse_env_file(text: str) -> ParsedEnvFile:
    result = ParsedEnvFile()
    first_line_of: dict[str, int] = {}
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    index = 0
    while index < len(lines):
        number = index + 1
        stripped = lines[index].lstrip()
        index += 1
        if not stripped.strip() or stripped.startswith("#"):
            continue
        body = EXPORT.sub("", stripped)
        key, equals, rest = body.partition("=")
        key = key.strip()
        if not equals:
            result.errors.append(LineError(number, "expected KEY=value"))
            continue
        if not ENV_KEY.match(key):
            result.errors.append(LineError(number, f"'{key}' is not a valid variable name"))
            continue
        try:
            value, index = _value(rest, lines, index)
        except _Unterminated:
            result.errors.append(LineError(number, "the closing quote is missing"))
            break
        except _TrailingText:
            result.errors.append(LineError(number, "unexpected text after the closing quote"))
            continue
        if key in first_line_of:
            result.errors.append(
                LineError(number, f"{key} is already set on line {first_line_of[key]}")
            )
            continue
        first_line_of[key] = number
        result.entries.append(Entry(number, key, value))
    return result


def _value(rest: str, lines: list[str], index: int) -> tuple[str, int]:
    """The value starting at `rest`, and the index of the next unread line."""
    if not rest.strip() or rest.lstrip()[0] not in "'\"":
        return INLINE_COMMENT.sub("", rest).strip(), index
    rest = rest.lstrip()
    quote, chars, position = rest[0], [], 1
    while True:
        while position < len(rest):
            char = rest[position]
            if char == quote:
                after = rest[position + 1 :].strip()
                if after and not after.startswith("#"):
                    raise _TrailingText
                return "".join(chars), index
            if char == "\\" and quote == '"' and position + 1 < len(rest):
                following = rest[position + 1]
                chars.append(ESCAPES.get(following, "\\" + following))
                position += 2
                continue
            chars.append(char)
            position += 1
        if index >= len(lines):
            raise _Unterminated
        chars.append("\n")
        rest, position, index = lines[index], 0, index + 1
