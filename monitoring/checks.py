"""Classify one check of a live app: its container as Docker describes it, plus an HTTP answer.

Pure functions of plain values (no ORM, no Docker calls), so every rule is tested directly.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from monitoring.models import PROBLEM_STATES, HealthState

State = HealthState


@dataclass(frozen=True)
class ContainerState:
    """What matters of `docker inspect`'s State for health: status, exit code, OOM, restarts."""

    status: str  # running, restarting, exited, dead, paused, created, removing, or missing
    exit_code: int | None = None
    oom_killed: bool = False
    restart_count: int = 0
    error: str = ""

    @classmethod
    def from_attrs(cls, attrs: dict) -> ContainerState:
        state = attrs.get("State") or {}
        return cls(
            status=state.get("Status", "unknown"),
            exit_code=state.get("ExitCode"),
            oom_killed=bool(state.get("OOMKilled")),
            restart_count=int(attrs.get("RestartCount") or 0),
            error=state.get("Error") or "",
        )


MISSING = ContainerState(status="missing")


@dataclass(frozen=True)
class Probe:
    """One GET of the health path: the status (None without an answer), its reason, its time."""

    status: int | None
    detail: str = ""
    latency_ms: float | None = None


@dataclass(frozen=True)
class Verdict:
    state: str
    reason: str

    @property
    def ok(self) -> bool:
        return self.state == State.HEALTHY


def classify(
    container: ContainerState,
    probe: Probe | None,
    *,
    path: str,
    memory_mb: int,
    known_restarts: int,
    slow_ms: float,
) -> Verdict:
    """The state of an app from its container and its health-path answer.

    `known_restarts` is the RestartCount seen at the previous check: more now means the app
    crashed since, even if Docker has already restarted it and it answers again. Docker keeps
    OOMKilled of the last exit while the restarted container runs, so that flag alone says
    nothing new; with a new restart it tells an out-of-memory kill from another crash.
    """
    new_restarts = max(0, container.restart_count - known_restarts)
    if container.status == "missing":
        return Verdict(
            State.CRASHED,
            "The container no longer exists in the Docker engine (removed outside Deployer?). "
            "Deploy again to start a new one.",
        )
    if container.status in ("exited", "dead"):
        if container.oom_killed:
            return Verdict(State.OOM_KILLED, oom_reason(memory_mb))
        return Verdict(State.CRASHED, exit_reason(container.exit_code) + _engine_error(container))
    if container.status == "restarting":
        if container.oom_killed:
            return Verdict(
                State.OOM_KILLED,
                f"{oom_reason(memory_mb)} Docker is restarting it "
                f"({container.restart_count} restart(s) so far).",
            )
        return Verdict(
            State.CRASHED,
            f"The app keeps crashing: {exit_reason(container.exit_code, sentence=False)}, and "
            f"Docker is restarting it ({container.restart_count} restart(s) so far).",
        )
    if container.status == "paused":
        return Verdict(State.UNHEALTHY, "The container is paused (docker pause): it cannot answer.")
    if container.status != "running":
        return Verdict(State.UNHEALTHY, f"The container is {container.status}, not running.")
    if new_restarts:
        if container.oom_killed:
            return Verdict(
                State.OOM_KILLED,
                f"{oom_reason(memory_mb)} Docker restarted it ({_times(new_restarts)} since the "
                "last check).",
            )
        return Verdict(
            State.CRASHED,
            f"The app crashed and Docker restarted it ({_times(new_restarts)} since the last "
            "check). Its last lines are kept with this event.",
        )
    return classify_answer(probe, path=path, slow_ms=slow_ms)


def classify_answer(probe: Probe | None, *, path: str, slow_ms: float) -> Verdict:
    """A running container's health-path answer: healthy, or unhealthy saying how."""
    if probe is None:
        return Verdict(State.UNHEALTHY, "The container publishes no port to check.")
    if probe.status is None:
        return Verdict(State.UNHEALTHY, f"GET {path} got no answer: {probe.detail}.")
    took = f" in {probe.latency_ms:.0f} ms" if probe.latency_ms is not None else ""
    if not 200 <= probe.status < 400:
        return Verdict(
            State.UNHEALTHY, f"GET {path} answered {probe.status} {probe.detail}".rstrip() + "."
        )
    if probe.latency_ms is not None and probe.latency_ms > slow_ms:
        return Verdict(
            State.UNHEALTHY,
            f"GET {path} answered {probe.status}{took}, slower than the limit of {slow_ms:.0f} ms.",
        )
    return Verdict(State.HEALTHY, f"GET {path} answered {probe.status}{took}.")


def settle(previous: str, failures: int, verdict: Verdict, *, unhealthy_after: int) -> Verdict:
    """Hold a healthy app's state through fewer than `unhealthy_after` failed answers in a row.

    `failures` counts the failed answers before this one. Only a wrong or slow answer is
    held back; a crash or an OOM kill is a fact and counts at once.
    """
    if verdict.state != State.UNHEALTHY or previous not in (State.HEALTHY, State.UNKNOWN):
        return verdict
    if failures + 1 >= unhealthy_after:
        return verdict
    return Verdict(
        previous,
        f"Failed check {failures + 1} of {unhealthy_after} before it counts as unhealthy: "
        f"{verdict.reason}",
    )


def notifies(previous: str, new: str) -> bool:
    """Whether a change is announced: between healthy and a problem, either way.

    A first check (unknown) that finds a problem also counts: the deploy's health gate had
    passed. Stopping on purpose and the first healthy check are not news.
    """
    if new in PROBLEM_STATES:
        return previous not in PROBLEM_STATES and previous != State.STOPPED
    return new == State.HEALTHY and previous in PROBLEM_STATES


def oom_reason(memory_mb: int) -> str:
    return (
        f"The app was killed for using more than its memory limit of {memory_mb} MB (out of "
        "memory). Raise the project's memory limit, or make the app use less (fewer workers "
        "or threads, smaller batches)."
    )


def exit_reason(code: int | None, *, sentence: bool = True) -> str:
    """'The app exited with code 137 (killed by SIGKILL).' and the like."""
    text = f"the app exited with code {code}" if code is not None else "the app exited"
    if code == 0:
        text += " (it stopped on its own; a web process should keep running)"
    elif code is not None and code > 128:
        try:
            name = signal.Signals(code - 128).name
        except ValueError:
            name = ""
        if name:
            text += f" (killed by {name})"
    elif code is not None:
        text += " (an error in the app: see its last lines)"
    return text[0].upper() + text[1:] + "." if sentence else text


def _engine_error(container: ContainerState) -> str:
    return f" Docker reported: {container.error}" if container.error else ""


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"
