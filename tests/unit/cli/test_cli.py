"""The `deployer` CLI against a live server: real HTTP round trips to the API.

No worker runs: a fake one (a thread started when a build is dispatched) writes the build's
log lines and moves its state, as the real worker would, so the CLI's following is tested.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from typer.testing import CliRunner

from api import tokens
from builds.models import Build, BuildLogLine
from deployer_cli import config
from deployer_cli.main import app
from projects import services as project_services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git"
    )


@pytest.fixture
def cli(live_server, user, monkeypatch, tmp_path):
    """cli(*args, scope="admin") -> the CliRunner result, logged in through DEPLOYER_* variables."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    def run(*args: str, scope: str = "admin", input: str | None = None):
        raw = tokens.create_token(user, "ci", scope=scope)[1]
        monkeypatch.setenv("DEPLOYER_URL", live_server.url)
        monkeypatch.setenv("DEPLOYER_TOKEN", raw)
        return CliRunner().invoke(app, list(args), input=input)

    return run


@pytest.fixture
def fake_worker(monkeypatch):
    """fake_worker(outcome) makes each dispatched build print three lines then end in `outcome`."""
    threads: list[threading.Thread] = []

    def install(outcome: str) -> None:
        def run(build_id: int) -> None:
            try:
                time.sleep(0.3)
                Build.objects.filter(pk=build_id).update(state=Build.State.BUILDING)
                for seq, text in enumerate(["Cloning", "Building image", "Health check"], 1):
                    BuildLogLine.objects.create(build_id=build_id, seq=seq, text=text)
                    Build.objects.filter(pk=build_id).update(log_line_count=seq)
                    time.sleep(0.3)
                Build.objects.filter(pk=build_id).update(
                    state=outcome,
                    failure_stage="health_checking" if outcome == "failed" else "",
                    failure_reason="The app never answered." if outcome == "failed" else "",
                    log_complete=True,
                )
            finally:
                connection.close()

        def delay(build_id: int) -> None:
            thread = threading.Thread(target=run, args=(build_id,))
            threads.append(thread)
            thread.start()

        monkeypatch.setattr("builds.tasks.run_build.delay", delay)

    yield install
    for thread in threads:
        thread.join(timeout=10)


def test_help_lists_the_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("login", "projects", "deploy", "logs", "env", "rollback", "status"):
        assert command in result.output


def test_login_checks_the_token_and_saves_it(live_server, user, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("DEPLOYER_URL", raising=False)
    monkeypatch.delenv("DEPLOYER_TOKEN", raising=False)
    raw = tokens.create_token(user, "laptop")[1]
    result = CliRunner().invoke(app, ["login", live_server.url], input=f"{raw}\n")
    assert result.exit_code == 0, result.output
    assert f"as {user.username}" in result.output
    assert config.load() == config.Config(live_server.url, raw)
    assert (config.path().stat().st_mode & 0o777) == 0o600


def test_login_with_a_bad_token_fails_and_saves_nothing(live_server, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["login", live_server.url, "--token", "dpl_nope_nope"])
    assert result.exit_code == 1
    assert "The token is not valid." in result.output
    assert not config.path().exists()


def test_projects_lists_them(cli, project):
    result = cli("projects")
    assert result.exit_code == 0, result.output
    assert "shop" in result.output


def test_deploy_follow_exits_0_when_the_build_goes_live(cli, project, fake_worker):
    fake_worker(Build.State.LIVE)
    result = cli("deploy", "shop", "--follow", scope="deploy")
    assert result.exit_code == 0, result.output
    assert result.output.index("Cloning") < result.output.index("Health check")
    assert "is live" in result.output


def test_deploy_follow_exits_1_when_the_build_fails(cli, project, fake_worker):
    fake_worker(Build.State.FAILED)
    result = cli("deploy", "shop", "--follow", scope="deploy")
    assert result.exit_code == 1
    assert "Health check" in result.output
    assert "failed at health_checking: The app never answered." in result.output


def test_deploy_with_a_read_token_fails_with_the_servers_reason(cli, project):
    result = cli("deploy", "shop", scope="read")
    assert result.exit_code == 1
    assert "this needs deploy" in result.output
    assert not project.builds.exists()


def test_deploy_of_an_unknown_project_fails(cli):
    result = cli("deploy", "nope")
    assert result.exit_code == 1
    assert "no project 'nope'" in result.output


def test_logs_prints_the_newest_builds_log(cli, project):
    build = Build.objects.create(project=project, state=Build.State.FAILED, log_complete=True)
    for seq, text in enumerate(["first", "second"], 1):
        BuildLogLine.objects.create(build=build, seq=seq, text=text)
    result = cli("logs", "shop")
    assert result.exit_code == 0, result.output
    assert "first\nsecond\n" in result.output


def test_env_set_list_unset(cli, project):
    assert cli("env", "set", "shop", "DEBUG=0", "NAME=a=b").exit_code == 0
    values = {v.key: v.decrypted_value() for v in project.env_vars.all()}
    assert values == {"DEBUG": "0", "NAME": "a=b"}
    listed = cli("env", "list", "shop")
    assert "DEBUG" in listed.output
    assert "a=b" not in listed.output
    assert cli("env", "unset", "shop", "DEBUG").exit_code == 0
    assert list(project.env_vars.values_list("key", flat=True)) == ["NAME"]


def test_env_import_reads_standard_input(cli, project):
    result = cli("env", "import", "shop", "-", input="A=1\nB=2\n")
    assert result.exit_code == 0, result.output
    assert "2 new" in result.output


def test_rollback_with_nothing_to_go_back_to_fails(cli, project):
    result = cli("rollback", "shop")
    assert result.exit_code == 1
    assert "nothing" in result.output.lower() or "no earlier" in result.output.lower()


def test_status_shows_the_newest_build(cli, project):
    Build.objects.create(project=project, state=Build.State.FAILED)
    result = cli("status", "shop")
    assert result.exit_code == 0, result.output
    assert "failed" in result.output
    assert "Health:" in result.output


def test_following_asks_again_after_a_brief_outage(monkeypatch):
    """A 502 from a proxy while the dashboard restarts costs a retry, not the CI job."""
    from deployer_cli import main
    from deployer_cli.client import ApiError

    answers = [
        ApiError("Bad gateway", status=502),
        {"lines": [{"seq": 1, "stage": "", "text": "done"}], "next_after": 1, "finished": True},
        {"state": "live", "finished": True},
    ]
    asked = []

    class Flaky:
        def get(self, path, **params):
            asked.append((path, params.get("after")))
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    monkeypatch.setattr(main.time, "sleep", lambda seconds: None)
    assert main.follow_log(Flaky(), 7, timeout=60)["state"] == "live"
    assert asked[:2] == [("/builds/7/log", 0), ("/builds/7/log", 0)]
