"""How durably a build's writes are committed: its progress need not wait for the disk.

A build records its progress in a few dozen small transactions (its state per stage,
timings, commit, plan, image, log lines). With PostgreSQL's default, each one waits until
its commit is flushed to disk, 1-4 ms apiece on this project's machine: a code-only
deploy spent about 25 ms of its second doing that. Those writes use asynchronous commit
instead: PostgreSQL flushes them a fraction of a second later, and a crash of the
database server can lose only that last fraction, never consistency; a build caught in
such a crash is lost anyway and the reaper marks it failed. The one write that must not be
lost, the switch of the live deployment, commits durably.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection


def _set(statement: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(statement)


def _try_to_set(statement: str) -> None:
    """A failure leaves the default, durable commits: the writes that follow report their own."""
    try:
        _set(statement)
    except DatabaseError:
        pass


@contextmanager
def asynchronous_commits() -> Iterator[None]:
    """This thread's commits do not wait for the disk until the block ends (PostgreSQL)."""
    _try_to_set("SET synchronous_commit = off")
    try:
        yield
    finally:
        _try_to_set("RESET synchronous_commit")


def commit_durably() -> None:
    """Inside a transaction: it waits for its commit to reach the disk, whatever the session's setting."""
    _set("SET LOCAL synchronous_commit = on")
