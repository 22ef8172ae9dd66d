"""The variables an add-on gives the app: libpq's standard ones, DATABASE_URL, and every
name the app's settings read for its database (DB_NAME, POSTGRES_USER, ...), unless the
project sets it itself. Pure: credentials and names in, variables out."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from urllib.parse import quote

# A database variable's last word says which part of the connection it wants.
_PARTS = (
    (re.compile(r"(^|_)(URL|URI)$"), "url"),
    (re.compile(r"(^|_)(NAME|DB|DATABASE)$"), "database"),
    (re.compile(r"(^|_)(USER|USERNAME)$"), "user"),
    (re.compile(r"(^|_)(PASSWORD|PASS|PASSWD)$"), "password"),
    (re.compile(r"(^|_)(HOST|HOSTNAME|SERVER)$"), "host"),
    (re.compile(r"(^|_)PORT$"), "port"),
)
PREFIXES = ("DB_", "DATABASE_", "POSTGRES_", "POSTGRESQL_", "PG")


@dataclass(frozen=True)
class Credentials:
    host: str
    port: int
    database: str
    user: str
    password: str

    @property
    def url(self) -> str:
        return (
            f"postgres://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(self.database, safe='')}"
        )

    def part(self, name: str) -> str:
        return str(getattr(self, name))


def standard(credentials: Credentials) -> dict[str, str]:
    """libpq's variables (so settings with no HOST reach the server) and DATABASE_URL."""
    return {
        "DATABASE_URL": credentials.url,
        "PGHOST": credentials.host,
        "PGPORT": str(credentials.port),
        "PGDATABASE": credentials.database,
        "PGUSER": credentials.user,
        "PGPASSWORD": credentials.password,
    }


LIBPQ = {
    "PGHOST": "host",
    "PGPORT": "port",
    "PGDATABASE": "database",
    "PGUSER": "user",
    "PGPASSWORD": "password",
}


def part_of(name: str) -> str | None:
    """Which part of the connection a database variable's name asks for, or None."""
    if name in LIBPQ:
        return LIBPQ[name]
    if name == "DATABASE_URL" or name.startswith(PREFIXES):
        for pattern, part in _PARTS:
            if pattern.search(name):
                return part
    return None


def variables(
    credentials: Credentials, read_names: Iterable[str], project_names: Collection[str]
) -> dict[str, str]:
    """What the add-on gives: the standard variables and each database name the settings
    read, except those the project sets (the project's own value wins)."""
    given = standard(credentials)
    for name in read_names:
        part = part_of(name)
        if part:
            given[name] = credentials.url if part == "url" else credentials.part(part)
    return {name: value for name, value in given.items() if name not in project_names}
