"""Commands from a Procfile or the settings: which server, and whether it is reachable on $PORT."""

from __future__ import annotations

import pytest

from builds.pipeline.detection.servers import port_problem, server_of, split_chained


@pytest.mark.parametrize(
    ("command", "server"),
    [
        ("gunicorn app:app", "gunicorn"),
        ("exec gunicorn app:app", "gunicorn"),
        ("WEB_CONCURRENCY=4 gunicorn app:app", "gunicorn"),
        ("python -m uvicorn main:app", "uvicorn"),
        ("python3 -m gunicorn app:app", "gunicorn"),
        ("hypercorn main:app", "hypercorn"),
        ("uwsgi --http :$PORT -w app:app", "uwsgi"),
        ("fastapi run main.py", "fastapi run"),
        ("daphne mysite.asgi:application", "daphne"),
        ("/app/.venv/bin/uvicorn main:app", "uvicorn"),
        ("python manage.py runserver", None),
        ("./start.sh", None),
    ],
)
def test_known_servers_are_recognised(command, server):
    assert server_of(command) == server


@pytest.mark.parametrize(
    "command",
    [
        "gunicorn app:app",
        "gunicorn app:app --bind 0.0.0.0:$PORT",
        "uvicorn main:app --host 0.0.0.0 --port $PORT",
        "hypercorn main:app --bind 0.0.0.0:${PORT}",
        "daphne -b 0.0.0.0 -p $PORT mysite.asgi:application",
        "uwsgi --http :$PORT -w app:app",
        "fastapi run main.py --port $PORT",
        "./start.sh",
    ],
)
def test_commands_reachable_on_port_pass(command):
    assert port_problem(command) is None


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("uvicorn main:app", "does not bind $PORT"),
        ("uvicorn main:app --port $PORT", "listens on 127.0.0.1"),
        ("gunicorn app:app --bind 0.0.0.0:8000", "does not bind $PORT"),
        ("gunicorn app:app --bind 127.0.0.1:$PORT", "localhost only"),
        ("hypercorn main:app", "does not bind $PORT"),
    ],
)
def test_commands_unreachable_on_port_are_explained(command, problem):
    assert problem in port_problem(command)


def test_chained_web_line_splits_before_the_server():
    assert split_chained(
        "python manage.py migrate && python manage.py check && gunicorn x.wsgi"
    ) == (
        "python manage.py migrate && python manage.py check",
        "gunicorn x.wsgi",
    )


def test_chain_not_ending_in_a_server_is_left_alone():
    assert split_chained("gunicorn x.wsgi && echo done") is None
