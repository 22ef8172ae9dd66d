from __future__ import annotations

from projects.envfile import parse_env_file


def _values(text: str) -> dict[str, str]:
    parsed = parse_env_file(text)
    assert parsed.errors == []
    return {entry.key: entry.value for entry in parsed.entries}


def _errors(text: str) -> list[str]:
    return [str(error) for error in parse_env_file(text).errors]


def test_comments_and_blank_lines_are_skipped():
    assert _values("# a comment\n\n   \n  # indented comment\nA=1\n") == {"A": "1"}


def test_export_prefix_is_ignored():
    assert _values("export A=1\nexport\tB=2") == {"A": "1", "B": "2"}


def test_equals_signs_inside_values_are_kept():
    assert _values("URL=postgres://u:p@h/db?sslmode=require&x=y") == {
        "URL": "postgres://u:p@h/db?sslmode=require&x=y"
    }


def test_inline_comment_ends_an_unquoted_value_only_after_whitespace():
    assert _values("A=value # note\nB=url#fragment\nC=  # only a comment") == {
        "A": "value",
        "B": "url#fragment",
        "C": "",
    }


def test_spaces_around_key_and_unquoted_value_are_trimmed():
    assert _values("  A  =  two words  ") == {"A": "two words"}


def test_single_quotes_are_literal():
    assert _values(r"A='it\n is # not a comment $HOME'") == {"A": r"it\n is # not a comment $HOME"}


def test_double_quotes_understand_escapes():
    assert _values(r'A="line1\nline2\t\"quoted\" \\ \$HOME \q"') == {
        "A": 'line1\nline2\t"quoted" \\ $HOME \\q'
    }


def test_quoted_values_keep_hashes_and_may_be_followed_by_a_comment():
    assert _values("A=\"x # y\"  # comment\nB='p#q'") == {"A": "x # y", "B": "p#q"}


def test_quoted_values_may_span_lines():
    text = 'KEY="-----BEGIN KEY-----\nabc\n-----END KEY-----"\nNEXT=1'

    assert _values(text) == {"KEY": "-----BEGIN KEY-----\nabc\n-----END KEY-----", "NEXT": "1"}


def test_windows_line_endings_are_understood():
    assert _values("A=1\r\nB=2\r\n") == {"A": "1", "B": "2"}


def test_empty_values_are_allowed():
    assert _values("A=\nB=''\nC=\"\"") == {"A": "", "B": "", "C": ""}


def test_errors_name_their_line_number():
    text = "GOOD=1\nNO_EQUALS\n1BAD=x\nMY-VAR=y\nQ='x' trailing\n"

    assert _errors(text) == [
        "Line 2: expected KEY=value",
        "Line 3: '1BAD' is not a valid variable name",
        "Line 4: 'MY-VAR' is not a valid variable name",
        "Line 5: unexpected text after the closing quote",
    ]


def test_duplicate_keys_are_reported_on_the_later_line():
    assert _errors("A=1\nB=2\nA=3") == ["Line 3: A is already set on line 1"]


def test_an_unclosed_quote_is_reported_on_the_line_it_opens():
    assert _errors('A=1\nB="never closed\nC=3') == ["Line 2: the closing quote is missing"]


def test_entries_remember_their_line_numbers():
    parsed = parse_env_file("# header\nA=1\n\nB=2")

    assert [(entry.line, entry.key) for entry in parsed.entries] == [(2, "A"), (4, "B")]
