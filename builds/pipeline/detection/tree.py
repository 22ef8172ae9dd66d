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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from builds.pipeline.plan import Evidence

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 5
MAX_ENTRIES = 20_000
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        ".venv",
        "venv",
        "env",
        "virtualenv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
        "site-packages",
        ".idea",
        ".vscode",
        "staticfiles",
    }
)


class RefusedPath(Exception):
    """A repository path that Deployer will not follow or open; the message names it and why."""


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

    def refusal(self, rel: str) -> str | None:
        """Why the entry at `rel` cannot be read as a file of the repository, or None.

        None when it is absent, a regular file or a folder inside the root. Otherwise the
        reason, naming it: a path or link leaving the repository (told by the link's own
        text, never the host path it resolves to), or a FIFO, device or socket.
        """
        rel = rel.replace("\\", "/").removeprefix("./")
        if not rel or os.path.isabs(rel) or ".." in Path(rel).parts:
            return f"{rel!r} is not a path inside the repository"
        if not os.path.lexists(os.path.join(self.root, rel)):
            return None
        if self._real(rel) is None:
            return f"{rel} {self._leaves_by(rel)}, outside the repository"
        st = self._stat(rel)
        if st is None or stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
            return None  # absent (a dangling link inside), a file or a folder
        return f"{rel} is {kind_of(st.st_mode)}, not a regular file"

    def _leaves_by(self, rel: str) -> str:
        """How `rel` leaves the root: the first link on its way, by its link text."""
        parts = Path(rel).parts
        for depth in range(1, len(parts) + 1):
            prefix = os.path.join(self.root, *parts[:depth])
            if os.path.islink(prefix):
                target = os.readlink(prefix)
                if depth == len(parts):
                    return f"is a link to {target}"
                return f"is inside {'/'.join(parts[:depth])}, a link to {target}"
        return "leads"

    def require_text(self, rel: str) -> str | None:
        """The text of `rel`, None when absent; raises RefusedPath when it may not be read."""
        why = self.refusal(rel)
        if why:
            raise RefusedPath(f"{why}; Deployer reads only regular files inside the repository.")
        if not self.is_file(rel):
            return None
        text = self.read_text(rel)
        if text is None:
            reason = next(
                (n.message.removeprefix("skipped: ") for n in self.skipped if n.file == rel),
                "unreadable",
            )
            raise RefusedPath(f"{rel} cannot be read ({reason}).")
        return text

    def link_text(self, rel: str) -> str:
        """What the link at `rel` says (its own text, never followed)."""
        return os.readlink(os.path.join(self.root, rel))

    def open_regular(self, rel: str) -> BinaryIO:
        """`rel` opened for reading in binary; raises RefusedPath unless a regular file inside.

        Opened without blocking and checked on the open descriptor, so a FIFO or device
        that took a file's place is never read.
        """
        # A file the walk reached without crossing a link needs no resolving; the descriptor
        # is checked either way.
        why = None if rel in self._walked else self.refusal(rel)
        real = self._real(rel)
        if why or real is None:
            raise RefusedPath(why or f"{rel} is not in the repository")
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError as exc:
            raise RefusedPath(f"{rel} cannot be opened ({exc.strerror})") from exc
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise RefusedPath(f"{rel} is {kind_of(mode)}, not a regular file")
        return os.fdopen(fd, "rb")

    def entries(
        self, *, prune: Callable[[str], bool] = lambda rel: False, max_entries: int = MAX_ENTRIES
    ) -> Iterator[tuple[str, os.stat_result]]:
        """Every entry below the root as (relative path, lstat), depth first in name order.

        Links are yielded as links, never followed; a folder for which `prune` is true is
        yielded but not entered. Raises RefusedPath past `max_entries` entries or when a
        folder cannot be listed.
        """
        count = 0
        stack = [""]
        while stack:
            rel_dir = stack.pop()
            try:
                with os.scandir(os.path.join(self.root, rel_dir)) as scanned:
                    found = sorted(scanned, key=lambda entry: entry.name)
            except OSError as exc:
                raise RefusedPath(f"{rel_dir or '.'} cannot be listed ({exc.strerror})") from exc
            below = []
            for entry in found:
                count += 1
                if count > max_entries:
                    raise RefusedPath(f"the repository has more than {max_entries} entries")
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    self._walked.add(rel)
                yield rel, st
                if stat.S_ISDIR(st.st_mode) and not prune(rel):
                    below.append(rel)
            stack.extend(reversed(below))

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
            with self.open_regular(rel) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except (OSError, RefusedPath):
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


def app_root(checkout: Path, setting: str) -> Path:
    """The real path of the folder the app root setting names inside `checkout`.

    Raises RefusedPath naming the setting when it leaves the checkout (`..`, an absolute
    path, a link out), or is not a folder of the repository.
    """
    rel = setting.strip().strip("/") or "."
    tree = Tree(checkout)
    if rel == ".":
        return tree.root
    why = tree.refusal(rel)
    if why:
        raise RefusedPath(
            f"The app root directory setting {setting!r} was refused: {why}; Deployer does "
            "not follow links out of the checkout."
        )
    if not tree.is_dir(rel):
        raise RefusedPath(
            f"The app root directory setting {setting!r} is not a folder of the repository."
        )
    return Path(tree._real(rel) or tree.root)


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


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
