"""Parsed manifests (pyproject.toml, Pipfile, setup.cfg, setup.py), read once per tree.

A manifest that is missing or does not parse reads as empty, and the
failure is noted in `tree.skipped`: detection carries on with what it has.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from typing import Any

from builds.pipeline.detection import pyast
from builds.pipeline.detection.tree import Tree


def toml(tree: Tree, rel: str) -> dict[str, Any]:
    """The TOML file as a dict ({} when missing or invalid)."""
    key = f"toml:{rel}"
    if key not in tree.cache:
        text = tree.read_text(rel)
        data: dict[str, Any] = {}
        if text is not None:
            try:
                data = tomllib.loads(text)
            except (tomllib.TOMLDecodeError, RecursionError):
                tree.skip(rel, "not valid TOML")
        tree.cache[key] = data
    return tree.cache[key]  # type: ignore[return-value]


def pyproject(tree: Tree) -> dict[str, Any]:
    """pyproject.toml as a dict."""
    return toml(tree, "pyproject.toml")


def pipfile(tree: Tree) -> dict[str, Any]:
    """Pipfile (TOML) as a dict."""
    return toml(tree, "Pipfile")


def setup_cfg(tree: Tree) -> configparser.ConfigParser:
    """setup.cfg parsed without interpolation (empty parser when missing or invalid)."""
    key = "setup.cfg"
    if key not in tree.cache:
        parser = configparser.ConfigParser(interpolation=None)
        text = tree.read_text("setup.cfg")
        if text is not None:
            try:
                parser.read_string(text)
            except configparser.Error:
                tree.skip("setup.cfg", "not a valid INI file")
                parser = configparser.ConfigParser(interpolation=None)
        tree.cache[key] = parser
    return tree.cache[key]  # type: ignore[return-value]


def setup_call(tree: Tree) -> ast.Call | None:
    """The `setup(...)` call in setup.py, read with ast and never run."""
    module = tree.parse_python("setup.py") if tree.is_file("setup.py") else None
    for node in ast.walk(module) if module else []:
        if isinstance(node, ast.Call) and (pyast.dotted_name(node.func) or "").endswith("setup"):
            return node
    return None


def line_of(tree: Tree, rel: str, pattern: str) -> int | None:
    """The first line number of `rel` matching the regex `pattern`."""
    regex = re.compile(pattern)
    for number, line in enumerate((tree.read_text(rel) or "").splitlines(), start=1):
        if regex.search(line):
            return number
    return None
