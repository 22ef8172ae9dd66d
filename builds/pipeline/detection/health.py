"""Health-check routes declared in Flask/FastAPI decorators and Django urls.py, found by text."""

from __future__ import annotations

import re

from builds.pipeline.detection.tree import Tree, depth_of
from builds.pipeline.plan import Evidence

# Most specific first: a /healthz beats a /status page.
NAMES = ("healthz", "health", "healthcheck", "health-check", "_health", "livez", "readyz",
         "ping", "status")  # fmt: skip
_NAME = "|".join(re.escape(name) for name in NAMES)
DECORATOR = re.compile(
    rf"""(?:\.(?:route|get|head|api_route|add_url_rule|add_api_route|add_route)|\bRoute)\(\s*(?:path\s*=\s*)?
    ["'](/(?:{_NAME})/?)["']""",
    re.VERBOSE,
)
DJANGO_PATH = re.compile(rf"""\b(?:re_)?path\(\s*r?["']\^?((?:{_NAME})/?)\$?["']""")
DJANGO_HEALTH_CHECK = re.compile(
    r"""path\(\s*["']([\w/-]*)["']\s*,\s*include\(\s*["']health_check\.urls"""
)
MAX_DEPTH = 4
MAX_FILES = 400
SKIPPED_DIRS = ("tests", "test", "docs", "docs_src", "examples", "migrations")


def find_health_path(tree: Tree) -> tuple[str, Evidence] | None:
    """The best health-check path declared in the source, with where it was found."""
    found: list[tuple[int, str, Evidence]] = []
    sources = [
        rel
        for rel in tree.files()
        if rel.endswith(".py") and depth_of(rel) <= MAX_DEPTH
        and not any(folder in SKIPPED_DIRS for folder in rel.split("/")[:-1])
    ][:MAX_FILES]  # fmt: skip
    for rel in sources:
        text = tree.read_text(rel) or ""
        if not any(word in text for word in ("health", "ping", "status", "livez", "readyz")):
            continue
        for regex, prefix in ((DECORATOR, ""), (DJANGO_PATH, "/"), (DJANGO_HEALTH_CHECK, "/")):
            for match in regex.finditer(text):
                path = prefix + match[1]
                name = path.strip("/") or "health_check"
                rank = NAMES.index(name) if name in NAMES else 0
                line = text.count("\n", 0, match.start()) + 1
                found.append((rank, path, Evidence(rel, line, f"health check route {path}")))
    if not found:
        return None
    _, path, evidence = min(found, key=lambda item: item[0])
    return path, evidence
