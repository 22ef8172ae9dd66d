"""deployer.toml: what it accepts, and how a file it does not accept is refused (line and key)."""

from __future__ import annotations

import pytest

from builds.pipeline.detect import DetectionError
from builds.pipeline.detection.deployer_toml import cron_problem, parse
from builds.pipeline.plan import CronJob

FULL = """\
# Settings for Deployer
[build]
python = "3.12"

[deploy]
health_path = "/up"
release = "python manage.py migrate --noinput"
watch = ["src/", "requirements.txt", "*.toml"]

[processes]
web = "gunicorn mysite.wsgi"
worker = "celery -A mysite worker"

[cron]
cleanup = { schedule = "0 3 * * *", command = "python manage.py clearsessions" }

[cron.report]
schedule = "*/15 9-17 * * mon-fri"
command = "python manage.py report"
"""


def test_every_setting_is_read_with_its_line():
    config = parse(FULL)

    assert (config.python.value, config.python.line) == ("3.12", 3)
    assert (config.health_path.value, config.health_path.line) == ("/up", 6)
    assert (config.release.value, config.release.line) == ("python manage.py migrate --noinput", 7)
    assert (config.watch.value, config.watch.line) == (["src/", "requirements.txt", "*.toml"], 8)
    assert config.processes == {"web": "gunicorn mysite.wsgi", "worker": "celery -A mysite worker"}
    assert (config.start.value, config.start.line) == ("gunicorn mysite.wsgi", 11)
    assert config.cron == [
        CronJob("cleanup", "0 3 * * *", "python manage.py clearsessions", 15),
        CronJob("report", "*/15 9-17 * * mon-fri", "python manage.py report", 17),
    ]


def test_an_empty_file_sets_nothing():
    config = parse("# nothing yet\n")

    assert config.python is config.health_path is config.start is config.watch is None
    assert config.processes == {} and config.cron == []


def refusal(text: str) -> str:
    with pytest.raises(DetectionError) as caught:
        parse(text)
    return str(caught.value)


def test_invalid_toml_names_the_line():
    message = refusal('[deploy]\nhealth_path = "/up"\nrelease = python manage.py migrate\n')

    assert message.startswith("deployer.toml line 3: not valid TOML")


def test_unknown_section_is_named_with_its_line():
    assert refusal('[build]\npython = "3.12"\n\n[deplyo]\nstart = "x"\n') == (
        "deployer.toml line 4: unknown key 'deplyo'; the sections are [build], [deploy], "
        "[processes], [cron]."
    )


def test_unknown_key_is_named_with_its_section_and_line():
    message = refusal('[deploy]\nhealth_path = "/up"\nhealthpath = "/up"\n')

    assert message.startswith("deployer.toml line 3: unknown key 'healthpath' in [deploy]")


def test_watch_at_the_top_level_says_where_it_belongs():
    message = refusal('watch = ["src/"]\n')

    assert message.startswith("deployer.toml line 1: unknown key 'watch' (put it under [deploy])")


def test_a_value_of_the_wrong_type_names_key_and_line():
    assert refusal("[deploy]\n\nhealth_path = 42\n") == (
        "deployer.toml line 3: [deploy] health_path must be a non-empty string, not a number."
    )


def test_health_path_follows_the_project_setting_rule():
    message = refusal('[deploy]\nhealth_path = "up"\n')

    assert message.startswith("deployer.toml line 2: [deploy] health_path: The health check path")


def test_web_twice_is_refused():
    message = refusal('[deploy]\nstart = "gunicorn a.wsgi"\n[processes]\nweb = "gunicorn b.wsgi"\n')

    assert message.startswith("deployer.toml line 4: [processes] web and [deploy] start")


@pytest.mark.parametrize(
    "watch",
    ['"src/"', "[]", '["/etc/"]', '["../other/"]', '["src/", 3]'],
)
def test_watch_must_be_a_list_of_relative_paths(watch):
    assert refusal(f"[deploy]\nwatch = {watch}\n").startswith(
        "deployer.toml line 2: [deploy] watch"
    )


def test_a_process_name_must_be_a_plain_name():
    message = refusal('[processes]\nweb = "gunicorn a.wsgi"\n"My Worker" = "celery worker"\n')

    assert message.startswith("deployer.toml line 3: [processes] 'My Worker' is not a valid")


def test_a_bad_cron_schedule_is_refused_with_its_line():
    message = refusal('[cron]\n\nnightly = { schedule = "0 25 * * *", command = "x" }\n')

    assert message == (
        "deployer.toml line 3: [cron] nightly schedule '0 25 * * *': the hour field '25': "
        "'25' is not a value from 0 to 23."
    )


def test_a_cron_job_needs_exactly_schedule_and_command():
    assert "has no command" in refusal('[cron]\nx = { schedule = "* * * * *" }\n')
    assert "unknown key 'user'" in refusal(
        '[cron]\nx = { schedule = "* * * * *", command = "y", user = "root" }\n'
    )
    assert "must be a table" in refusal('[cron]\nx = "* * * * * y"\n')


@pytest.mark.parametrize(
    "schedule",
    [
        "* * * * *",
        "0 3 * * *",
        "*/5 * * * *",
        "0 9-17/2 * * 1-5",
        "0,30 * 1,15 jan-mar sun",
        "59 23 31 12 7",
        "0 0 * * SAT",
    ],
)
def test_valid_cron_schedules(schedule):
    assert cron_problem(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("* * * *", "a schedule has 5 fields"),
        ("* * * * * *", "a schedule has 5 fields"),
        ("60 * * * *", "'60' is not a value from 0 to 59"),
        ("* * 0 * *", "'0' is not a value from 1 to 31"),
        ("*/0 * * * *", "the step '0'"),
        ("5/10 * * * *", "a step needs * or a range"),
        ("10-5 * * * *", "runs backwards"),
        ("@daily", "a schedule has 5 fields"),
        ("a * * * *", "'a' is not a value"),
        ("1,,2 * * * *", "'' is not a value"),
        ("-1 * * * *", "'' is not a value"),
    ],
)
def test_invalid_cron_schedules_say_why(schedule, problem):
    assert problem in (cron_problem(schedule) or "")


def test_an_array_of_tables_is_refused_with_its_line():
    message = refusal('[deploy]\nstart = "x"\n\n[[cron]]\nschedule = "* * * * *"\n')

    assert message == "deployer.toml line 4: cron must be a [cron] section."
