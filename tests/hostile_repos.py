"""Hostile git repositories for the attack tests: each trick would run a committed script.

The script only creates a marker file, so a test proves nothing ran by the marker's absence.
The signed commit is crafted with `git hash-object -t commit -w`: no real gpg is needed, git
only has to believe there is a signature to show.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

FAKE_SIGNATURE = (
    "gpgsig -----BEGIN PGP SIGNATURE-----\n"
    " \n"
    " iQEzBAABCAAdFiEEfakefakefakefakefakefakefakefakeFAKEFAKEFAKE\n"
    " =fake\n"
    " -----END PGP SIGNATURE-----\n"
)


def _git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Mallory",
        "GIT_AUTHOR_EMAIL": "mallory@example.com",
        "GIT_COMMITTER_NAME": "Mallory",
        "GIT_COMMITTER_EMAIL": "mallory@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, input=stdin, check=True, capture_output=True, text=True
    ).stdout.strip()


def hostile_files(marker_dir: Path) -> dict[str, str]:
    """The committed configuration, attributes, hooks and the script they all point at."""
    script = f'#!/bin/sh\ntouch "{marker_dir}/ran-$(basename "$0")-$$"\necho "[GNUPG:] GOODSIG"\n'
    hook = f'#!/bin/sh\ntouch "{marker_dir}/ran-hook-$(basename "$0")"\n'
    config = (
        '[gpg]\n\tprogram = ./pwn.sh\n[gpg "ssh"]\n\tprogram = ./pwn.sh\n'
        "[log]\n\tshowSignature = true\n"
        "[core]\n\tfsmonitor = ./pwn.sh\n\thooksPath = ./hooks\n\tpager = ./pwn.sh\n"
        "\tsshCommand = ./pwn.sh\n"
        "[alias]\n\tcat = !./pwn.sh\n\tco = !./pwn.sh\n"
        '[filter "evil"]\n\tsmudge = ./pwn.sh\n\tclean = ./pwn.sh\n\trequired = true\n'
        '[diff "evil"]\n\ttextconv = ./pwn.sh\n'
        "[include]\n\tpath = ./more.gitconfig\n"
    )
    hooks = {
        f"{folder}/{name}": hook
        for folder in ("hooks", ".githooks")
        for name in ("post-checkout", "post-merge", "reference-transaction", "fsmonitor-watchman")
    }
    return {
        ".gitconfig": config,
        ".config/git/config": config,
        "more.gitconfig": "[core]\n\tfsmonitor = ./pwn.sh\n",
        ".gitattributes": "* filter=evil diff=evil\n",
        ".gitmodules": '[submodule "x"]\n\tpath = sub\n\turl = ./sub\n\tupdate = !./pwn.sh\n',
        "pwn.sh": script,
        **hooks,
    }


def make_hostile_repo(path: Path, marker_dir: Path, app_files: dict[str, str]) -> str:
    """A repository at `path` whose branch `main` ends in a commit with a fake signature.

    Returns that commit's sha. Scripts are committed executable.
    """
    path.mkdir(parents=True)
    _git(path, "init", "--quiet", "--initial-branch=main")
    files = {**app_files, **hostile_files(marker_dir)}
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        if text.startswith("#!"):
            target.chmod(0o755)
    _git(path, "add", "--all")
    _git(path, "commit", "--quiet", "--no-verify", "-m", "hostile")
    raw = _git(path, "cat-file", "commit", "HEAD") + "\n"
    headers, _, message = raw.partition("\n\n")
    signed = f"{headers}\n{FAKE_SIGNATURE}\n{message}"
    sha = _git(path, "hash-object", "-t", "commit", "-w", "--stdin", stdin=signed)
    _git(path, "update-ref", "refs/heads/main", sha)
    _git(path, "reset", "--quiet", "--hard", "main")
    return sha


def markers(marker_dir: Path) -> list[str]:
    return sorted(entry.name for entry in marker_dir.iterdir() if entry.name.startswith("ran-"))
