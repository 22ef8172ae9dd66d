"""Reading a Django settings module with `ast`, following `from .base import *`.

Split settings (settings/base.py + settings/production.py) are merged in
import order, so a later assignment wins as it would at run time. Branches
are not evaluated: both sides of an `if` count, the later one winning.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from builds.pipeline.detection import pyast
from builds.pipeline.detection.tree import Tree, module_file

MAX_DEPTH = 6


@dataclass
class Setting:
    """One assignment: its value node, where it was made, and that file's module."""

    value: ast.expr
    file: str
    line: int


@dataclass
class Settings:
    module: str
    file: str
    values: dict[str, Setting] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def literal(self, name: str) -> object:
        """The literal value of a setting, or None when absent or computed."""
        setting = self.values.get(name)
        try:
            return ast.literal_eval(setting.value) if setting else None
        except (ValueError, TypeError, SyntaxError, RecursionError):
            return None


def read_settings(tree: Tree, module: str) -> Settings | None:
    """The merged settings of `module`, or None if its file is not in the repository."""
    file = module_file(tree, module)
    if file is None:
        return None
    settings = Settings(module, file)
    _merge(tree, module, file, settings, depth=0)
    return settings


def _merge(tree: Tree, module: str, file: str, settings: Settings, depth: int) -> None:
    parsed = tree.parse_python(file)
    if parsed is None or file in settings.files or depth > MAX_DEPTH:
        return
    settings.files.append(file)
    package = module if file.endswith("__init__.py") else module.rpartition(".")[0]
    for statement in pyast.module_statements(parsed):
        if isinstance(statement, ast.ImportFrom) and any(a.name == "*" for a in statement.names):
            target = pyast.absolute_module(package, statement)
            target_file = module_file(tree, target) if target else None
            if target and target_file:
                _merge(tree, target, target_file, settings, depth + 1)
        elif isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    settings.values[target.id] = Setting(statement.value, file, statement.lineno)
