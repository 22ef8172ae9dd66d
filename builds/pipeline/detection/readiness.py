"""Production-readiness checks on settings and application modules, read with `ast`."""

from __future__ import annotations

import ast

from builds.pipeline.detection import pyast
from builds.pipeline.plan import Plan

SECRET_NAMES = frozenset({"SECRET_KEY", "secret_key", "JWT_SECRET_KEY"})


def check_secret(plan: Plan, name: str, value: ast.expr, file: str, line: int) -> None:
    """Warn when a secret is a literal, or falls back to one when the environment lacks it."""
    if name not in SECRET_NAMES:
        return
    if pyast.str_value(value):
        plan.warn(
            "hardcoded-secret-key",
            f"{name} is hard-coded in the source: anyone with the "
            "repository can forge sessions. Read it from an environment variable.",
            file,
            line,
        )
        return
    if isinstance(value, ast.Call):
        fallbacks = [*value.args[1:], *(k.value for k in value.keywords if k.arg == "default")]
        if any(pyast.str_value(f) for f in fallbacks):
            plan.warn(
                "hardcoded-secret-key",
                f"{name} falls back to a hard-coded value when the "
                "environment variable is missing. Remove the default.",
                file,
                line,
            )


def check_debug(plan: Plan, name: str, value: ast.expr, file: str, line: int) -> None:
    """Warn when DEBUG is the literal True."""
    if name in ("DEBUG", "debug") and isinstance(value, ast.Constant) and value.value is True:
        plan.warn(
            "debug-true",
            "DEBUG is hard-coded to True: error pages would show code and "
            "settings to visitors. Read it from an environment variable.",
            file,
            line,
        )


def check_sqlite(plan: Plan, value: ast.AST, file: str, line: int) -> bool:
    """Warn when a value names an SQLite database; True if it did."""
    for node in ast.walk(value):
        text = pyast.str_value(node) if isinstance(node, ast.expr) else None
        if text and (("sqlite3" in text and "backends" in text) or text.startswith("sqlite:")):
            plan.warn(
                "sqlite-database",
                "The database is SQLite on the container's filesystem: "
                "its data is lost at every deploy. Use a database server (DATABASE_URL).",
                file,
                getattr(node, "lineno", line),
            )
            return True
    return False


def check_module(plan: Plan, module: ast.Module, file: str) -> None:
    """Secret, debug and SQLite checks on every assignment in an application module."""
    for node in ast.walk(module):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            name = _target_name(target)
            if name:
                check_secret(plan, name, node.value, file, node.lineno)
                check_debug(plan, name, node.value, file, node.lineno)
        check_sqlite(plan, node.value, file, node.lineno)


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript):
        return pyast.str_value(target.slice)
    return None
