"""An add-on gives libpq's variables, DATABASE_URL and every database name the settings read."""

from __future__ import annotations

import pytest

from addons.environment import Credentials, part_of, standard, variables

PG = Credentials(
    host="deployer-shop-postgres", port=5432, database="shop", user="app", password="p@ss/w0rd"
)


def test_libpq_variables_let_settings_without_a_host_reach_the_server():
    assert standard(PG) == {
        "DATABASE_URL": "postgres://app:p%40ss%2Fw0rd@deployer-shop-postgres:5432/shop",
        "PGHOST": "deployer-shop-postgres",
        "PGPORT": "5432",
        "PGDATABASE": "shop",
        "PGUSER": "app",
        "PGPASSWORD": "p@ss/w0rd",
    }


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("DB_NAME", "database"),
        ("DB_USER", "user"),
        ("DB_PASSWORD", "password"),
        ("DB_HOST", "host"),
        ("DB_PORT", "port"),
        ("POSTGRES_DB", "database"),
        ("POSTGRES_USER", "user"),
        ("POSTGRES_PASSWORD", "password"),
        ("DATABASE_URL", "url"),
        ("DATABASE_NAME", "database"),
        ("PGDATABASE", "database"),
        ("DB_ENGINE", None),
        ("SECRET_KEY", None),
        ("REDIS_URL", None),
        ("USER", None),
    ],
)
def test_a_database_variables_last_word_says_which_part_it_wants(name, part):
    assert part_of(name) == part


def test_the_articles_names_are_filled_and_the_projects_own_values_win():
    given = variables(
        PG, ["DB_NAME", "DB_USER", "DB_PASSWORD", "SECRET_KEY"], {"DB_USER", "PGHOST"}
    )

    assert given["DB_NAME"] == "shop"
    assert given["DB_PASSWORD"] == "p@ss/w0rd"
    assert "DB_USER" not in given and "PGHOST" not in given
    assert "SECRET_KEY" not in given
