"""Safe, bounded reading of a repository that may be hostile.

Every read goes through `Tree`: paths must stay inside the root (symlinks
that leave it are refused), only regular files are opened (a FIFO would
block forever), files over `MAX_FILE_BYTES` or containing NUL bytes are
skipped, and bytes that are not UTF-8 are replaced instead of raising.
The walk is bounded in depth and entries and skips VCS, dependency and
virtualenv folders, so a large repository is scanned in well under a second.
"""

from __future__ import annotations

import ast
import os
import stat
import warnings
from collections import deque
from pathlib import Path

from builds.pipeline.plan import Evidence

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 5
MAX_ENTRIES = 20_000
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "bower_components", ".venv", "venv", "env",
        "virtualenv", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
        ".ruff_cache", ".eggs", "site-packages", ".idea", ".vscode", "staticfiles",
    }
)  # fmt: skip


class Tree:
    """Read-only view of a repository checkout rooted at `root`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self.skipped: list[Evidence] = []
        self._texts: dict[str, str | None] = {}
        self._modules: dict[str, ast.Module | None] = {}
        self._files: list[str] | None = None
        self._reals: dict[str, str | None] = {}
        self._walked: set[str] = set()  # regular files reached without crossing a symlink
        self.cache: dict[str, object] = {}  # parsed manifests, keyed by their reader

    def _real(self, rel: str) -> str | None:
        """The real path of `rel` if it stays inside the root, else None (and a note)."""
        if rel not in self._reals:
            self._reals[rel] = self._resolve(rel)
        return self._reals[rel]

    def _resolve(self, rel: str) -> str | None:
        if rel in self._walked:
            return os.path.join(self.root, rel)
        if not rel or os.path.isabs(rel) or ".." in Path(rel).parts:
            return None
        real = os.path.realpath(os.path.join(self.root, rel))
        if real != str(self.root) and not real.startswith(str(self.root) + os.sep):
            self.skip(rel, "points outside the repository; not followed")
            return None
        return real

    def skip(self, rel: str, why: str) -> None:
        note = Evidence(rel, None, f"skipped: {why}")
        if note not in self.skipped:
            self.skipped.append(note)

    def _stat(self, rel: str) -> os.stat_result | None:
        real = self._real(rel)
        if real is None:
            return None
        try:
            return os.stat(real)
        except (OSError, ValueError):
            return None

    def is_file(self, rel: str) -> bool:
        """True if `rel` is a regular file inside the repository."""
        st = self._stat(rel)
        return st is not None and stat.S_ISREG(st.st_mode)

    def is_dir(self, rel: str) -> bool:
        """True if `rel` is a directory inside the repository."""
        st = self._stat(rel)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def read_text(self, rel: str) -> str | None:
        """The file's text, or None when missing, outside, special, huge or binary."""
        rel = rel.replace("\\", "/").removeprefix("./")
        if rel not in self._texts:
            self._texts[rel] = self._read(rel)
        return self._texts[rel]

    def _read(self, rel: str) -> str | None:
        st = self._stat(rel)
        if st is None:
            return None
        if not stat.S_ISREG(st.st_mode):
            if not stat.S_ISDIR(st.st_mode):
                self.skip(rel, "not a regular file")
            return None
        if st.st_size > MAX_FILE_BYTES:
            self.skip(rel, f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
            return None
        try:
            with open(self._real(rel) or "", "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError:
            return None
        if len(data) > MAX_FILE_BYTES:
            self.skip(rel, f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
            return None
        if b"\0" in data[:8192]:
            self.skip(rel, "binary file")
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.skip(rel, "not valid UTF-8; read with replacement characters")
            return data.decode("utf-8-sig", errors="replace")

    def parse_python(self, rel: str) -> ast.Module | None:
        """The file parsed with `ast` (never imported), or None if unreadable or invalid."""
        if rel not in self._modules:
            self._modules[rel] = self._parse(rel)
        return self._modules[rel]

    def _parse(self, rel: str) -> ast.Module | None:
        text = self.read_text(rel)
        if text is None:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escape sequences in user code
                return ast.parse(text, filename=rel)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self.skip(rel, "not valid Python 3 source")
            return None

    def listdir(self, rel: str = "") -> list[str]:
        """Names in a directory inside the repository, sorted (empty if absent)."""
        real = self._real(rel) if rel else str(self.root)
        if real is None:
            return []
        try:
            return sorted(os.listdir(real))
        except OSError:
            return []

    def files(self) -> list[str]:
        """Relative paths of the files found by a bounded walk, shallowest first."""
        if self._files is None:
            self._files = self._walk()
        return self._files

    def _walk(self) -> list[str]:
        found: list[str] = []
        seen = 0
        queue: deque[tuple[str, int]] = deque([("", 0)])
        while queue:
            rel_dir, depth = queue.popleft()
            try:
                entries = sorted(os.scandir(os.path.join(self.root, rel_dir)), key=lambda e: e.name)
            except OSError:
                continue
            if any(entry.name == "pyvenv.cfg" for entry in entries) and rel_dir:
                continue  # a virtualenv committed under another name
            for entry in entries:
                seen += 1
                if seen > MAX_ENTRIES:
                    self.skip(rel_dir or ".", f"walk stopped after {MAX_ENTRIES} entries")
                    return found
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH and entry.name not in SKIP_DIRS:
                        queue.append((rel, depth + 1))
                elif entry.is_file(follow_symlinks=False):
                    found.append(rel)
                    self._walked.add(rel)
                elif entry.is_symlink():
                    found.append(rel)
        return found


def depth_of(rel: str) -> int:
    """How many folders deep a relative path is (0 for a file at the root)."""
    return rel.count("/")


def module_file(tree: Tree, module: str) -> str | None:
    """The file defining a dotted module name: a/b.py or a/b/__init__.py (also under src/)."""
    base = module.replace(".", "/")
    for candidate in (
        f"{base}.py",
        f"{base}/__init__.py",
        f"src/{base}.py",
        f"src/{base}/__init__.py",
    ):
        if tree.is_file(candidate):
            return candidate
    return None
