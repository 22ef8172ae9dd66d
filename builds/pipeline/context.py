"""Context: the build context as a tar stream Deployer writes itself, never a folder it writes into.

The checkout is walked without following links (a link is sent as a link, never
dereferenced), the repository's `.dockerignore` is applied with Docker's own rules
(docker-py's PatternMatcher, `!` exceptions included), `.git` is never sent, and a FIFO,
device or socket refuses the build. The Dockerfile to build is a member under a name
Deployer owns, with a `.dockerignore` member naming it: the engine reads both, then drops
them from the context (as it does for any Dockerfile a `.dockerignore` lists), so
`COPY . .` never sees them and a change to the generated Dockerfile keeps the source's
cache. Nothing is written into the checkout; the tar goes to an anonymous temporary file.
"""

from __future__ import annotations

import io
import stat
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from docker.utils.build import PatternMatcher

from builds.pipeline.detection.tree import RefusedPath, Tree
from builds.pipeline.errors import StageError

# The names Deployer owns at the root of every context; the repository's own entries of
# these names are never sent (its .dockerignore is read and applied instead).
DOCKERFILE = ".deployer.Dockerfile"
DOCKERIGNORE = ".dockerignore"
OWN_NAMES = (DOCKERFILE, DOCKERIGNORE)
NEVER_SENT = ".git"  # at any depth: it holds the remote's address and, once, its token


@dataclass(frozen=True)
class Context:
    """A build context ready to stream: the tar file (at its start) and what it holds."""

    fileobj: IO[bytes]
    dockerfile: str
    files: int
    bytes: int
    notes: tuple[str, ...]


def ignore_patterns(tree: Tree, default: str) -> list[str]:
    """The repository's .dockerignore patterns, or `default`'s when it has none.

    Read through the guarded reader: raises StageError when it is a link out of the
    repository, not a regular file, too large or binary.
    """
    try:
        text = tree.require_text(DOCKERIGNORE)
    except RefusedPath as exc:
        raise StageError(f"The repository's .dockerignore was refused: {exc}") from exc
    if text is None:
        text = default
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def build_context(
    root: Path,
    dockerfile_text: str,
    *,
    patterns: list[str],
    max_files: int,
    max_bytes: int,
    links: Mapping[str, str] | None = None,
    generated: Mapping[str, str] | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> Context:
    """The tar of `root` after `patterns`, with `dockerfile_text` as DOCKERFILE.

    `generated` ({name: text}) are files Deployer writes at the context's root (a lock
    file's export), in place of any the repository has under those names.

    `links` ({path: target}) are symbolic links Deployer puts in the context in place of
    whatever the repository has there (a kept SQLite database's place, pointing into the
    project's volume), with the folders they need.

    Raises StageError naming the file when an entry is a FIFO, device or socket, a file
    cannot be read, or the context holds more than `max_files` entries or `max_bytes`.
    """
    tree = Tree(root)
    matcher = PatternMatcher(patterns)
    exceptions = [p.cleaned_pattern for p in matcher.patterns if p.exclusion]
    notes: list[str] = []

    links = dict(links or {})
    generated = dict(generated or {})

    def excluded(rel: str) -> bool:
        return (
            rel in OWN_NAMES
            or rel in links
            or rel in generated
            or NEVER_SENT in rel.split("/")
            or matcher.matches(rel)
        )

    def prune(rel: str) -> bool:
        # An excluded folder is still entered when an exception (`!dir/keep`) may lie inside,
        # as Docker does; an exception starting with a wildcard may match anywhere.
        return NEVER_SENT in rel.split("/") or (
            excluded(rel) and not any(e.startswith(rel) or e[:1] in "*?[" for e in exceptions)
        )

    fileobj = tempfile.TemporaryFile(prefix="deployer-context-")
    files = total = 0
    sent: set[str] = set()
    try:
        with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for rel, st in tree.entries(prune=prune, max_entries=max_files * 10):
                if rel == DOCKERFILE:
                    notes.append(
                        f"The repository's own {DOCKERFILE} is left out of the build context: "
                        "Deployer builds from its own file of that name."
                    )
                if rel in generated:
                    notes.append(
                        f"The repository's own {rel} is left out of the build context: "
                        "Deployer writes its own file of that name."
                    )
                if rel in links:
                    notes.append(
                        f"The repository's own {rel} is left out of the build context: the "
                        "app's SQLite database lives on the project's volume instead."
                    )
                if excluded(rel):
                    continue
                sent.add(rel)
                info = _member(rel, st, tree)
                if not info.isdir():
                    files += 1
                if files > max_files:
                    raise StageError(
                        f"The build context has more than {max_files} files after .dockerignore "
                        "(DEPLOYER_BUILD_CONTEXT_MAX_FILES). Exclude generated, vendored or "
                        "data folders in .dockerignore."
                    )
                if info.isreg():
                    total += info.size
                    if total > max_bytes:
                        raise StageError(
                            f"The build context is larger than {max_bytes // 1_000_000} MB after "
                            f".dockerignore (at {rel}; DEPLOYER_BUILD_CONTEXT_MAX_MB). Exclude "
                            "large files or data folders in .dockerignore."
                        )
                    with tree.open_regular(rel) as handle:
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)
            for rel, target in links.items():
                _add_link(tar, rel, target, sent)
            for name, text in (
                *generated.items(),
                (DOCKERIGNORE, f"{DOCKERIGNORE}\n{DOCKERFILE}\n"),
                (DOCKERFILE, dockerfile_text),
            ):
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    except RefusedPath as exc:
        fileobj.close()
        raise StageError(f"The build context was refused: {exc}.") from exc
    except OSError as exc:  # a file shorter than its size: it changed while read
        fileobj.close()
        raise StageError(f"The build context could not be written: {exc}.") from exc
    except BaseException:
        fileobj.close()
        raise
    fileobj.seek(0)
    for note in notes:
        log(note)
    return Context(fileobj, DOCKERFILE, files, total, tuple(notes))


def _add_link(tar: tarfile.TarFile, rel: str, target: str, sent: set[str]) -> None:
    """A link member at `rel`, after the folders above it that the context lacks."""
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        folder = "/".join(parts[:depth])
        if folder not in sent:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
            sent.add(folder)
    info = tarfile.TarInfo(rel)
    info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
    tar.addfile(info)


def _member(rel: str, st, tree: Tree) -> tarfile.TarInfo:
    """The tar header of one entry: a folder, a regular file or a link (by its own text)."""
    info = tarfile.TarInfo(rel)
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = int(st.st_mtime) if 0 <= st.st_mtime < 8**11 else 0
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, tree.link_text(rel)
    elif stat.S_ISREG(st.st_mode):
        info.size = st.st_size
    else:
        raise RefusedPath(tree.refusal(rel) or f"{rel} is not a regular file")
    return info
