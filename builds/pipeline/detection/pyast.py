"""Small helpers for reading Python source through `ast`, never by importing it."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator


def dotted_name(node: ast.AST) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def str_value(node: ast.AST | None) -> str | None:
    """The value of a string literal, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def module_statements(module: ast.Module) -> Iterator[ast.stmt]:
    """Statements run at import time: the body plus `if`/`try`/`with` blocks, not functions."""
    pending = list(module.body)
    while pending:
        statement = pending.pop(0)
        yield statement
        if isinstance(statement, ast.If | ast.With):
            pending[0:0] = [*statement.body, *getattr(statement, "orelse", [])]
        elif isinstance(statement, ast.Try):
            blocks = [statement.body, statement.orelse, statement.finalbody]
            blocks += [handler.body for handler in statement.handlers]
            pending[0:0] = [s for block in blocks for s in block]


def assignments(module: ast.Module) -> Iterator[tuple[str, ast.expr, int]]:
    """(name, value, line) for each module-level `NAME = value` or `NAME: T = value`."""
    for statement in module_statements(module):
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    yield target.id, statement.value, statement.lineno
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            if isinstance(statement.target, ast.Name):
                yield statement.target.id, statement.value, statement.lineno


def import_aliases(module: ast.Module, package: str = "") -> dict[str, str]:
    """Local name -> qualified name for the imports run when the module is imported.

    Relative imports are resolved against `package`, the importing module's package.
    """
    return import_aliases_in(module_statements(module), package)


def import_aliases_in(nodes: Iterable[ast.AST], package: str = "") -> dict[str, str]:
    """Local name -> qualified name for the import statements among `nodes`."""
    aliases: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                aliases[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom):
            base = absolute_module(package, node)
            for alias in node.names if base else []:
                aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
    return aliases


def absolute_module(package: str, node: ast.ImportFrom) -> str | None:
    """The absolute module a `from ... import` reads from, given the importer's package."""
    if not node.level:
        return node.module
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base) or None


def qualified_call(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """For a call, the qualified name of what is called, through the module's imports."""
    if not isinstance(node, ast.Call):
        return None
    name = dotted_name(node.func)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    qualified = aliases.get(head, head)
    return f"{qualified}.{rest}" if rest else qualified


def env_reads(module: ast.Module) -> Iterator[tuple[str, bool, int]]:
    """(variable, required, line) for os.environ[...] / os.environ.get / os.getenv reads.

    Only `os.environ["X"]` is required: it raises KeyError when X is unset.
    """
    for node in ast.walk(module):
        if isinstance(node, ast.Subscript) and dotted_name(node.value) in ("os.environ", "environ"):
            name = str_value(node.slice)
            if name:
                yield name, True, node.lineno
        elif isinstance(node, ast.Call):
            func = dotted_name(node.func)
            if func in ("os.environ.get", "os.getenv", "environ.get", "getenv") and node.args:
                name = str_value(node.args[0])
                if name:
                    yield name, False, node.lineno
