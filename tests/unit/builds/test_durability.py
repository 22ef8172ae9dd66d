from __future__ import annotations

import pytest
from django.db import connection, transaction

from builds.durability import asynchronous_commits, commit_durably

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting"),
]


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_progress_commits_do_not_wait_for_the_disk_and_the_default_comes_back():
    with asynchronous_commits():
        assert synchronous_commit() == "off"

    assert synchronous_commit() == "on"


def test_the_live_switch_commits_durably_inside_a_progress_block():
    with asynchronous_commits():
        with transaction.atomic():
            commit_durably()
            assert synchronous_commit() == "on"
        assert synchronous_commit() == "off"


def test_a_broken_connection_leaves_the_default():
    with asynchronous_commits():
        connection.connection.close()  # the server went away
    connection.close()

    assert synchronous_commit() == "on"
