"""Health-check routes, found by text in the places whose full URL is known.

Only routes whose path is certain count: Django patterns in the root URLconf,
and decorators on the application object itself (`@app.get("/healthz")`),
not on a blueprint or router that may add a prefix. A wrong guess would fail
every deploy, while "/" with a warning only checks less.
"""

from __future__ import annotations

import re

from builds.pipeline.detection.tree import Tree, depth_of
from builds.pipeline.detection.webapp import App
from builds.pipeline.plan import Evidence

# Most specific first: a /healthz beats a /status page.
NAMES = (
    "healthz",
    "health",
    "healthcheck",
    "health-check",
    "_health",
    "livez",
    "readyz",
    "ping",
    "status",
)
_NAME = "|".join(re.escape(name) for name in NAMES)
_METHODS = "route|get|head|api_route|add_url_rule|add_api_route|add_route"
DJANGO_PATH = re.compile(rf"""\b(?:re_)?path\(\s*r?["']\^?((?:{_NAME})/?)\$?["']""")
DJANGO_HEALTH_CHECK = re.compile(
    r"""path\(\s*["']([\w/-]*)["']\s*,\s*include\(\s*["']health_check\.urls"""
)
STARLETTE_ROUTE = re.compile(rf"""\bRoute\(\s*(?:path\s*=\s*)?["'](/(?:{_NAME})/?)["']""")
MAX_DEPTH = 4
MAX_FILES = 400
SKIPPED_DIRS = ("tests", "test", "docs", "docs_src", "examples", "migrations")


def find_health_path(tree: Tree, app: App | None) -> tuple[str, Evidence] | None:
    """The best health-check path declared for `app`, with where it was found."""
    if app is None:
        return None
    if app.framework == "django":
        sources = [app.urlconf] if app.urlconf else []
        patterns = [(DJANGO_PATH, "/"), (DJANGO_HEALTH_CHECK, "/")]
    else:
        attribute = app.entrypoint.partition(":")[2]
        receivers = {"app", "application", attribute} - {""}
        names = "|".join(re.escape(r) for r in receivers if r.isidentifier())
        decorator = re.compile(
            rf"""\b(?:{names})\.(?:{_METHODS})\(\s*(?:path\s*=\s*)?["'](/(?:{_NAME})/?)["']"""
        )
        sources = _python_sources(tree)
        patterns = [(decorator, ""), (STARLETTE_ROUTE, "")]
    found: list[tuple[int, str, Evidence]] = []
    for rel in sources:
        text = tree.read_text(rel) or ""
        for regex, prefix in patterns:
            for match in regex.finditer(text):
                path = prefix + match[1]
                name = path.strip("/")
                rank = NAMES.index(name) if name in NAMES else 0
                line = text.count("\n", 0, match.start()) + 1
                found.append((rank, path, Evidence(rel, line, f"health check route {path}")))
    if not found:
        return None
    _, path, evidence = min(found, key=lambda item: item[0])
    return path, evidence


def _python_sources(tree: Tree) -> list[str]:
    sources = []
    for rel in tree.files():
        if rel.endswith(".py") and depth_of(rel) <= MAX_DEPTH:
            if not any(folder in SKIPPED_DIRS for folder in rel.split("/")[:-1]):
                text = tree.read_text(rel) or ""
                if any(word in text for word in ("health", "ping", "status", "livez", "readyz")):
                    sources.append(rel)
        if len(sources) >= MAX_FILES:
            break
    return sources
