"""Who may follow a build's log, checked in one query on the poll's hot path.

A poll through Django's session and auth middleware costs three queries before the view
starts (the session, the user, then the build), and with fifty followers that was most of
the dashboard's CPU (bench/log_followers.py; a poll answered before them cost a third).

So the first poll of a session in a web process goes the whole way (the middleware loads the
user, projects.permissions decides), and the process then remembers whose session it is:
the user and their session auth hash (derived from the password). That cannot change for a
session key: Django gives a session a new key at every login and deletes it at logout. Each
later poll checks everything again in ONE query with the build: the session row still
exists and has not expired, the user is still active with the same password, and their role
(staff, owner, membership of the project or its parent) still lets them view the project.
Nothing about permissions is cached, so a removed member or a logged-out session is refused
at its next poll. Whatever cannot be said this way (another session engine, SQLite, a session
this process has not seen) goes the whole way.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from builds import logfollow
from builds.models import Build
from projects.models import Membership, Project

DB_SESSIONS = "django.contrib.sessions.backends.db"
# Sessions remembered per process (a few hundred bytes each); the least recent go first.
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Holder:
    """Whose session it is, as the whole check found it."""

    user_id: int
    auth_hash: str


_holders: OrderedDict[str, Holder] = OrderedDict()
_lock = threading.Lock()


def _digest(session_key: str) -> str:
    # Session keys are credentials: the process keeps only their hashes.
    return hashlib.sha256(session_key.encode()).hexdigest()


def usable() -> bool:
    return settings.SESSION_ENGINE == DB_SESSIONS and connection.vendor == "postgresql"


def remember(request: HttpRequest) -> None:
    """After the whole check let `request.user` follow a build: whose session this is."""
    session_key = request.session.session_key
    if not session_key or not usable():
        return
    holder = Holder(request.user.pk, request.user.get_session_auth_hash())
    digest = _digest(session_key)
    with _lock:
        _holders[digest] = holder
        _holders.move_to_end(digest)
        while len(_holders) > MAX_SESSIONS:
            _holders.popitem(last=False)


def forget_all() -> None:
    with _lock:
        _holders.clear()


def build_for_session(request: HttpRequest, pk: int) -> Build | None:
    """The build with the poll's fields, as builds.logfollow.build_to_follow reads it, when
    this process knows the request's session and one query shows it still valid and its
    user still allowed to view the build's project; None when that cannot be said (the
    caller then takes the whole way, which answers 302 or 404 as it should)."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key or not usable():
        return None
    with _lock:
        holder = _holders.get(_digest(session_key))
    if holder is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_query(), [holder.user_id, session_key, timezone.now(), pk])
        row = cursor.fetchone()
    if row is None:  # no such build, session or user
        return None
    password, is_active, is_staff, member_role = row[7:]
    user = get_user_model()(
        id=holder.user_id, password=password, is_active=is_active, is_staff=is_staff
    )
    # As django.contrib.auth.get_user: an inactive user, or a changed password, ends the session.
    if not is_active or not constant_time_compare(user.get_session_auth_hash(), holder.auth_hash):
        return None
    return logfollow.viewable_build(user, pk, row[:7], member_role=member_role)


@cache
def _query() -> str:
    """One row: the build's poll fields, its project's owner and parent, the user's password,
    active and staff flags and their membership role (of the parent, for a preview, as
    projects.permissions.role_of reads it); no row unless the session exists unexpired."""
    q = connection.ops.quote_name

    def table(model) -> str:
        return q(model._meta.db_table)

    def col(alias: str, model, name: str) -> str:
        return f"{alias}.{q(model._meta.get_field(name).column)}"

    user_model = get_user_model()
    # Names come from the models' metadata, quoted; every value is a parameter.
    member_role = (
        f"(SELECT {col('m', Membership, 'role')} FROM {table(Membership)} m"  # noqa: S608
        f" WHERE {col('m', Membership, 'user')} = {col('u', user_model, 'id')}"
        f" AND {col('m', Membership, 'project')} = COALESCE({col('p', Project, 'parent')},"
        f" {col('p', Project, 'id')}))"
    )
    fields = [
        *(col("b", Build, name) for name in ("state", "finished_at", "log_line_count")),
        col("b", Build, "log_complete"),
        col("p", Project, "id"),
        col("p", Project, "owner"),
        col("p", Project, "parent"),
        col("u", user_model, "password"),
        col("u", user_model, "is_active"),
        col("u", user_model, "is_staff"),
        member_role,
    ]
    return (
        f"SELECT {', '.join(fields)} FROM {table(Build)} b"  # noqa: S608
        f" JOIN {table(Project)} p ON {col('p', Project, 'id')} = {col('b', Build, 'project')}"
        f" JOIN {table(user_model)} u ON {col('u', user_model, 'id')} = %s"
        f" JOIN {table(Session)} s ON {col('s', Session, 'session_key')} = %s"
        f" AND {col('s', Session, 'expire_date')} > %s"
        f" WHERE {col('b', Build, 'id')} = %s"
    )
