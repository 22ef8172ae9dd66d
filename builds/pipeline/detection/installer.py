"""Which installer a plan uses (uv, or pip where uv cannot serve it) and its exact commands.

uv is pinned here, in one place, and never reaches an app image. A build that reaches the
package cache fetches it from the cache in its install step and removes it in the same step
(`UV_FETCH`, `UV_DROP`): one stage, no layer holds uv. Any other build installs in a build
stage that starts from a shared setup image with this uv (`dockerfile.UV_SETUP`, made once
per engine, so no build downloads uv from the Internet), whose /opt/venv is copied into the
final stage.
uv installs into the app's /opt/venv with no cache left behind (`--no-cache`), and the
bytecode is compiled afterwards as pip does (`COMPILE`), so images hold the same files as
with pip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

UV_VERSION = "0.13.9"
# Beside, never inside, the app's virtualenv: /opt/venv is what the final stage copies.
UV_DIR = "/opt/uv"
UV = f"{UV_DIR}/bin/uv"
VENV = "/opt/venv"
# uv's settings in the install step: the system's trust store (what pip uses through the
# base image's certificates), and files hard-linked out of its temporary cache, which is on
# the step's own filesystem and removed after it: copying them cost Django's install 1.3-2 s
# of its 4.5-6.5 s step on this machine's disk (linking them is uv's default elsewhere).
UV_ENV = {"UV_SYSTEM_CERTS": "1", "UV_LINK_MODE": "hardlink", "UV_NO_CACHE": "1"}
UV_INSTALL = f"{UV} pip install --python {VENV}/bin/python --no-cache"
# Bytecode as pip leaves it, compiled once after the last install step, one file after the
# other: uv's `--compile-bytecode` took 4.8 s for Django under a 1-CPU quota and, without
# one, about as long as this (1.2 s) while failing the whole install on a file that does not
# compile (uv issue 2245); here such a file (test data, Python 2 leftovers) is skipped
# silently, as pip does.
COMPILE = f"({VENV}/bin/python -m compileall -qq {VENV}/lib || true)"
PIP_INSTALL = "pip install --no-cache-dir"
# The package cache's name on its network (builds/package_cache.py): plain HTTP, which pip
# refuses unless the host is named as trusted.
CACHE_HOST = "package-cache"
# The build argument that points uv at the package cache (an environment variable uv reads,
# given only to builds of plans that install from public PyPI alone).
INDEX_ARG = "UV_DEFAULT_INDEX"
# The cache serves the pinned uv executable itself (builds/package_cache.py puts it in the
# cache's image), so a single-stage build on the cache fetches it into UV_DIR with the base
# image's Python (0.1-0.2 s for its 38 MB on the local bridge; pip fetching the wheel took
# 1.2 s), uses it for the install steps, and removes it in the same RUN after them.
CACHE_PORT = 5000
UV_PATH = f"/tools/uv-{UV_VERSION}"
UV_URL = f"http://{CACHE_HOST}:{CACHE_PORT}{UV_PATH}"
UV_FETCH = (
    f'mkdir -p {UV_DIR}/bin && python3 -c "import shutil, urllib.request; '
    f"shutil.copyfileobj(urllib.request.urlopen('{UV_URL}', timeout=120), "
    f"open('{UV}', 'wb'), 1 << 20)\" && chmod 755 {UV}"
)
UV_EXPORT = "export " + " ".join(f"{name}={value}" for name, value in UV_ENV.items())
# The package cache's index. A single-stage build on the cache names it in its install
# step's export rather than through `ARG UV_DEFAULT_INDEX`: the classic builder commits a
# step for every ARG (55 ms here), run again by every build whose dependencies changed.
INDEX_URL = f"http://{CACHE_HOST}:{CACHE_PORT}/index/"
UV_EXPORT_ON_CACHE = f"{UV_EXPORT} {INDEX_ARG}={INDEX_URL}"
UV_DROP = f"rm -rf {UV_DIR}"
PYPI_SIMPLE = ("https://pypi.org/simple", "https://pypi.python.org/simple")

# Options of a requirements file that uv reads as pip does; any other sends it to pip.
_UV_OPTIONS = re.compile(
    r"^(-i|--index-url|--extra-index-url|--no-index|-f|--find-links|--no-binary|--only-binary"
    r")(?=[\s=]|$)"
)
# Options that name somewhere other than public PyPI: such a plan bypasses the package cache.
_INDEX_OPTIONS = re.compile(r"^(-i|--index-url|--extra-index-url|--no-index|-f|--find-links)\b")


def uv_refuses(option: str) -> str | None:
    """Why uv cannot install a requirements file with this option line, or None if it can."""
    if not _UV_OPTIONS.match(option):
        return f"`{option.split()[0]}` is a pip option uv does not read"
    link = re.match(r"^(-f|--find-links)(?:\s*=\s*|\s+)(\S+)", option)
    if link and not re.match(r"^https?://", link[2]):
        return "`--find-links` to a local folder"
    return None


def names_an_index(option: str) -> bool:
    """Whether an option line sends installs somewhere other than public PyPI."""
    match = _INDEX_OPTIONS.match(option)
    if not match:
        return False
    value = re.split(r"\s*=\s*|\s+", option, maxsplit=1)[1:] or [""]
    return value[0].rstrip("/") not in PYPI_SIMPLE


def uv_install(*arguments: str, hashes: bool = False) -> str:
    """`uv pip install` into /opt/venv, hash-checked (every requirement) when `hashes`."""
    return " ".join([UV_INSTALL, *(["--require-hashes"] if hashes else []), *arguments])


def public_only(indexes: Iterable[str]) -> bool:
    """Whether every index URL in `indexes` is public PyPI's."""
    return all(url.rstrip("/") in PYPI_SIMPLE for url in indexes)
