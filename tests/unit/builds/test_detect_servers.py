"""Commands from a Procfile or the settings: which server, and whether it is reachable on $PORT."""

from __future__ import annotations

import pytest

from builds.pipeline.detection.servers import (
    bound_port,
    port_problem,
    served_app,
    server_of,
    split_chained,
)


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


@pytest.mark.parametrize(
    ("command", "port"),
    [
        ("gunicorn -b 0.0.0.0:5000 app:app", 5000),
        ("exec /usr/local/bin/gunicorn config.wsgi --bind 0.0.0.0:5000 --chdir=/app", 5000),
        ("gunicorn --bind=:8080 app:app", 8080),
        ("uvicorn main:app --host 0.0.0.0 --port 80", 80),
        ("daphne -b 0.0.0.0 -p 8001 config.asgi:application", 8001),
        ("hypercorn main:app --bind '[::]:9000'", 9000),
        ("python manage.py runserver 0.0.0.0:8000", 8000),
        ("python manage.py runserver 8002", 8002),
        ("gunicorn app:app --bind 0.0.0.0:$PORT", None),
        ("daphne -b 0.0.0.0 config.asgi:application", None),
        ("python worker.py --port 8000", None),
    ],
)
def test_bound_port_is_the_number_the_server_is_told_to_listen_on(command, port):
    assert bound_port(command) == port


@pytest.mark.parametrize(
    ("command", "app"),
    [
        ("gunicorn -b 0.0.0.0:5000 app:app", "app:app"),
        ("gunicorn -k uvicorn.workers.UvicornWorker main:app", "main:app"),
        ("exec /usr/local/bin/gunicorn config.wsgi --bind 0.0.0.0:5000", "config.wsgi"),
        ("python -m uvicorn --reload main:create_app()", "main:create_app()"),
        ("daphne -b 0.0.0.0 -p 8001 config.asgi:application", "config.asgi:application"),
        ("python manage.py runserver 0.0.0.0:8000", None),
        ("gunicorn --config gunicorn.conf.py", None),
    ],
)
def test_served_app_is_the_server_s_positional_app_argument(command, app):
    assert served_app(command) == app
