"""System packages that Python packages with native parts need (issue 12).

A small known table, by PEP 503 name: `build` packages go in the build stage
only (compilers, headers), `runtime` packages in the final image (shared
libraries). python3-dev is listed for compiling because the local stand-in
images use Debian's python3; on the official images it is harmless and the
build stage is thrown away.
"""

from __future__ import annotations

from dataclasses import dataclass

from builds.pipeline.detection.packages import Dependencies
from builds.pipeline.plan import Plan

COMPILE = ("gcc", "libc6-dev", "python3-dev")


@dataclass(frozen=True)
class NativeNeeds:
    build: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()


NATIVE: dict[str, NativeNeeds] = {
    "psycopg2": NativeNeeds((*COMPILE, "libpq-dev"), ("libpq5",)),
    # psycopg 3 without its binary extra loads the system libpq at run time.
    "psycopg": NativeNeeds((), ("libpq5",)),
    "mysqlclient": NativeNeeds(
        (*COMPILE, "pkg-config", "default-libmysqlclient-dev"), ("libmariadb3",)
    ),
    "uwsgi": NativeNeeds(COMPILE, ()),
    "python-ldap": NativeNeeds((*COMPILE, "libldap2-dev", "libsasl2-dev"), ("libldap-2.5-0",)),
}


def add_system_packages(plan: Plan, deps: Dependencies, extra: list[str]) -> None:
    """Fill plan.build_packages / runtime_packages from the table and the project setting."""
    build: list[str] = []
    runtime: list[str] = []
    for name in sorted(deps.names):
        needs = NATIVE.get(name)
        if needs is None or _has_binary(name, deps):
            continue
        build += [p for p in needs.build if p not in build]
        runtime += [p for p in needs.runtime if p not in runtime]
        plan.note(
            None,
            None,
            f"{name} needs system packages: build {list(needs.build) or '-'}, "
            f"runtime {list(needs.runtime) or '-'}",
        )
    for package in extra:
        if package not in runtime:
            runtime.append(package)
    if extra:
        plan.note(
            None, None, f"extra system packages from the project settings: {', '.join(extra)}"
        )
    plan.build_packages, plan.runtime_packages = build, runtime


def _has_binary(name: str, deps: Dependencies) -> bool:
    extras = deps.extras.get(name, set())
    return "binary" in extras or deps.has(f"{name}-binary")
