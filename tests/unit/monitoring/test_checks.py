from __future__ import annotations

import pytest

from monitoring import checks
from monitoring.checks import ContainerState, Probe, Verdict
from monitoring.models import HealthState as State
from tests.unit.monitoring.conftest import answered, running


def classify(container, probe=None, known_restarts=0, slow_ms=1000):
    return checks.classify(
        container,
        probe,
        path="/healthz",
        memory_mb=64,
        known_restarts=known_restarts,
        slow_ms=slow_ms,
    )


def test_running_container_answering_200_quickly_is_healthy():
    verdict = classify(running(), answered(200, 35.4))

    assert verdict.state == State.HEALTHY
    assert verdict.reason == "GET /healthz answered 200 in 35 ms."
    assert verdict.ok


def test_a_redirect_counts_as_healthy_like_the_deploy_health_gate():
    assert classify(running(), answered(302)).state == State.HEALTHY


def test_an_error_status_is_unhealthy_and_named():
    verdict = classify(running(), answered(503, detail="Service Unavailable"))

    assert verdict.state == State.UNHEALTHY
    assert verdict.reason == "GET /healthz answered 503 Service Unavailable."
    assert not verdict.ok


def test_no_answer_is_unhealthy_with_the_connection_error():
    verdict = classify(running(), answered(None, detail="timed out"))

    assert verdict.state == State.UNHEALTHY
    assert "got no answer: timed out" in verdict.reason


def test_an_answer_slower_than_the_limit_is_unhealthy():
    verdict = classify(running(), answered(200, 1500.0), slow_ms=1000)

    assert verdict.state == State.UNHEALTHY
    assert "1500 ms, slower than the limit of 1000 ms" in verdict.reason


def test_exited_container_is_crashed_with_its_exit_code_and_signal():
    verdict = classify(ContainerState("exited", exit_code=137))

    assert verdict.state == State.CRASHED
    assert verdict.reason == "The app exited with code 137 (killed by SIGKILL)."


def test_exit_code_of_an_error_points_at_the_logs():
    assert "code 3 (an error in the app" in classify(ContainerState("exited", exit_code=3)).reason


def test_exit_code_zero_says_a_web_process_should_keep_running():
    assert "should keep running" in classify(ContainerState("exited", exit_code=0)).reason


def test_oom_killed_exit_names_the_limit_and_the_advice():
    verdict = classify(ContainerState("exited", exit_code=137, oom_killed=True))

    assert verdict.state == State.OOM_KILLED
    assert "memory limit of 64 MB" in verdict.reason
    assert "Raise the project's memory limit" in verdict.reason


def test_restarting_container_is_a_crash_loop_with_the_restart_count():
    verdict = classify(ContainerState("restarting", exit_code=1, restart_count=4), known_restarts=4)

    assert verdict.state == State.CRASHED
    assert "keeps crashing" in verdict.reason
    assert "code 1" in verdict.reason
    assert "4 restart(s)" in verdict.reason


def test_restarting_after_out_of_memory_is_oom_killed():
    verdict = classify(
        ContainerState("restarting", exit_code=137, oom_killed=True, restart_count=1)
    )

    assert verdict.state == State.OOM_KILLED


def test_a_restart_since_the_last_check_is_a_crash_even_when_it_answers_again():
    verdict = classify(running(restarts=3), answered(200), known_restarts=2)

    assert verdict.state == State.CRASHED
    assert "Docker restarted it (once since the last check)" in verdict.reason


def test_a_restart_after_an_oom_kill_is_oom_killed():
    verdict = classify(running(restarts=1, oom=True), answered(200), known_restarts=0)

    assert verdict.state == State.OOM_KILLED
    assert "memory limit of 64 MB" in verdict.reason


def test_an_old_oom_flag_without_a_new_restart_does_not_count_again():
    # Docker keeps OOMKilled of the last exit while the restarted container runs.
    verdict = classify(running(restarts=1, oom=True), answered(200), known_restarts=1)

    assert verdict.state == State.HEALTHY


def test_a_vanished_container_is_crashed():
    verdict = classify(checks.MISSING)

    assert verdict.state == State.CRASHED
    assert "no longer exists" in verdict.reason


@pytest.mark.parametrize("status", ["paused", "created"])
def test_a_container_that_is_not_running_for_other_reasons_is_unhealthy(status):
    assert classify(ContainerState(status)).state == State.UNHEALTHY


def test_container_state_is_read_from_docker_inspect_attrs():
    attrs = {
        "State": {"Status": "exited", "ExitCode": 137, "OOMKilled": True, "Error": ""},
        "RestartCount": 2,
    }

    assert ContainerState.from_attrs(attrs) == ContainerState("exited", 137, True, 2, "")


def test_one_failed_answer_keeps_a_healthy_app_healthy_and_says_so():
    failed = Verdict(State.UNHEALTHY, "GET /healthz answered 500.")

    settled = checks.settle(State.HEALTHY, 0, failed, unhealthy_after=2)

    assert settled.state == State.HEALTHY
    assert settled.reason.startswith("Failed check 1 of 2")


def test_the_second_failed_answer_in_a_row_makes_it_unhealthy():
    failed = Verdict(State.UNHEALTHY, "GET /healthz answered 500.")

    assert checks.settle(State.HEALTHY, 1, failed, unhealthy_after=2) == failed


def test_a_crash_is_never_held_back():
    crashed = Verdict(State.CRASHED, "exited")

    assert checks.settle(State.HEALTHY, 0, crashed, unhealthy_after=3) == crashed


def test_with_a_threshold_of_one_the_first_failure_counts():
    failed = Verdict(State.UNHEALTHY, "slow")

    assert checks.settle(State.HEALTHY, 0, failed, unhealthy_after=1) == failed


@pytest.mark.parametrize(
    ("previous", "new", "expected"),
    [
        (State.HEALTHY, State.UNHEALTHY, True),
        (State.HEALTHY, State.CRASHED, True),
        (State.HEALTHY, State.OOM_KILLED, True),
        (State.UNKNOWN, State.CRASHED, True),
        (State.UNHEALTHY, State.HEALTHY, True),
        (State.OOM_KILLED, State.HEALTHY, True),
        (State.UNHEALTHY, State.CRASHED, False),
        (State.UNKNOWN, State.HEALTHY, False),
        (State.STOPPED, State.HEALTHY, False),
        (State.HEALTHY, State.STOPPED, False),
        (State.STOPPED, State.CRASHED, False),
    ],
)
def test_only_changes_between_healthy_and_a_problem_notify(previous, new, expected):
    assert checks.notifies(previous, new) is expected


def test_probe_defaults_describe_no_latency():
    assert Probe(None).latency_ms is None
