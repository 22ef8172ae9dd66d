"""Multi-line secrets (a PEM key in an env var) are hidden whole and line by line, everywhere
the project's output is stored or shown: build logs, failure reasons, runtime logs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from builds.buildlog import REDACTED, BuildLog, Redactor
from builds.models import Build, Deployment
from builds.pipeline.errors import StageError
from builds.stages import BuildStopped, stage
from projects import services as project_services
from tests.unit.builds.engine_fakes import FakeLogs

pytestmark = pytest.mark.django_db

PEM_LINES = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACDx0pKfJ9mN7sYw1rH4qVbG2cLhYxWn0uQeX9dFzK3pSgAAAJj0Yf8R9GH/",
    "EQAAAAtzc2gtZWQyNTUxOQAAACDx0pKfJ9mN7sYw1rH4qVbG2cLhYxWn0uQeX9dFzK3pSg",
    "-----END OPENSSH PRIVATE KEY-----",
]
PEM = "\n".join(PEM_LINES) + "\n"
BODY_LINES = PEM_LINES[1:-1]
HTMX = {"HTTP_HX_REQUEST": "true"}


def assert_no_part_of_the_key_in(text: str) -> None:
    for line in PEM_LINES:
        assert line not in text, line
    assert "b3BlbnNzaC1rZXkt" not in text


@pytest.fixture
def project(user):
    project = project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git"
    )
    project_services.add_env_var(project, "SSH_PRIVATE_KEY", PEM)
    project_services.add_env_var(project, "API_TOKEN", "tok-0123456789abcdef")
    return project


@pytest.fixture
def redact(project) -> Redactor:
    return Redactor(project_services.secret_values(project))


# The redactor --------------------------------------------------------------------------------


def test_a_multi_line_secret_printed_whole_is_one_mark(redact):
    assert redact(f"key:\n{PEM}done") == f"key:\n{REDACTED}\ndone"


def test_each_line_of_a_multi_line_secret_is_hidden_on_its_own(redact):
    for line in PEM_LINES:
        assert redact(f"> {line} <") == f"> {REDACTED} <"


def test_a_multi_line_secret_with_windows_line_endings_or_escaped_newlines_is_hidden(redact):
    assert_no_part_of_the_key_in(redact(PEM.replace("\n", "\r\n")))
    assert redact(repr(PEM)) == f"'{REDACTED}\\n'"


def test_a_secret_read_as_lines_is_hidden(redact):
    lines = ["starting", *PEM.splitlines(), "token tok-0123456789abcdef", "ready"]

    shown = redact.lines(lines)

    assert shown == ["starting", REDACTED, f"token {REDACTED}", "ready"]


def test_output_that_splits_a_secret_line_across_chunks_still_hides_every_whole_line(redact):
    shown = redact.lines([PEM_LINES[0], "noise", *BODY_LINES])

    assert_no_part_of_the_key_in("\n".join(shown))


def test_short_lines_of_a_multi_line_secret_are_not_treated_as_secrets():
    assert Redactor(["ab\ncd\nlonger-part"])("ab cd x") == "ab cd x"


# Build logs ----------------------------------------------------------------------------------


def _build(project) -> Build:
    return Build.objects.create(project=project, state=Build.State.QUEUED)


def _stored(build: Build) -> str:
    return "\n".join(build.log_lines.order_by("seq").values_list("text", flat=True))


def test_a_release_command_printing_the_key_at_once_leaves_no_line_of_it_in_the_log(project):
    build = _build(project)
    log = BuildLog(build, secrets=project_services.secret_values(project))

    log(f"Running the release command: cat $SSH_PRIVATE_KEY\n{PEM}ok")

    assert_no_part_of_the_key_in(_stored(build))
    assert REDACTED in _stored(build)


def test_a_release_command_printing_the_key_line_by_line_leaves_no_line_of_it_in_the_log(
    project,
):
    build = _build(project)
    log = BuildLog(build, secrets=project_services.secret_values(project))

    for line in PEM.splitlines():  # as builds/pipeline/release.py logs a stream
        log(line)

    assert_no_part_of_the_key_in(_stored(build))
    assert _stored(build).count(REDACTED) == len(PEM_LINES)


# Failure reasons ----------------------------------------------------------------------------


def test_a_stage_error_quoting_the_secret_is_stored_redacted(project):
    build = _build(project)
    log = BuildLog(build, secrets=project_services.secret_values(project))

    with pytest.raises(BuildStopped), stage(build, Build.State.CLONING, log):
        raise StageError(f"git clone failed: fatal: bad key {PEM} (token tok-0123456789abcdef)")

    build.refresh_from_db()
    assert build.state == Build.State.FAILED
    assert build.failure_reason.startswith("git clone failed: fatal: bad key ")
    assert_no_part_of_the_key_in(build.failure_reason)
    assert "tok-0123456789abcdef" not in build.failure_reason
    assert_no_part_of_the_key_in(_stored(build))


def test_an_internal_error_quoting_the_secret_is_stored_redacted(project):
    build = _build(project)
    log = BuildLog(build, secrets=project_services.secret_values(project))

    with pytest.raises(BuildStopped), stage(build, Build.State.BUILDING, log):
        raise RuntimeError(PEM_LINES[2])

    build.refresh_from_db()
    assert PEM_LINES[2] not in build.failure_reason
    assert "RuntimeError" in build.failure_reason


def test_the_build_page_shows_the_redacted_reason(auth_client, project):
    build = _build(project)
    log = BuildLog(build, secrets=project_services.secret_values(project))
    with pytest.raises(BuildStopped), stage(build, Build.State.RELEASING, log):
        raise StageError(f"The release command printed {PEM_LINES[1]}")

    html = auth_client.get(reverse("builds:detail", args=[build.pk])).content.decode()

    assert "The release command printed" in html
    assert_no_part_of_the_key_in(html)


# Runtime logs --------------------------------------------------------------------------------


def _engine() -> FakeLogs:
    text = f"Booting worker\n{PEM}Authorization: Bearer tok-0123456789abcdef"
    return FakeLogs([(f"2026-12-06T10:00:0{i}Z", line) for i, line in enumerate(text.split("\n"))])


def _live(project) -> Deployment:
    build = Build.objects.create(project=project, state=Build.State.LIVE, commit_sha="a" * 40)
    return Deployment.objects.create(
        project=project, build=build, state=Deployment.State.LIVE, container_id="c1"
    )


def test_runtime_logs_hide_the_projects_secrets_before_they_are_shown(
    auth_client, project, monkeypatch
):
    _live(project)

    monkeypatch.setattr("builds.docker.client", _engine().client)

    html = auth_client.get(
        reverse("builds:runtime-logs", args=[project.slug]), **HTMX
    ).content.decode()

    assert "Booting worker" in html
    assert "Authorization: Bearer ********" in html
    assert_no_part_of_the_key_in(html)
    assert "tok-0123456789abcdef" not in html


def test_runtime_logs_are_not_shown_when_the_secrets_cannot_be_decrypted(
    auth_client, project, monkeypatch
):
    from projects import crypto

    _live(project)

    def undecryptable(project):
        raise crypto.InvalidToken()

    monkeypatch.setattr("projects.services.secret_values", undecryptable)

    def no_engine(timeout=None):
        raise AssertionError("the engine must not be asked")

    monkeypatch.setattr("builds.docker.client", no_engine)

    html = auth_client.get(
        reverse("builds:runtime-logs", args=[project.slug]), **HTMX
    ).content.decode()

    assert "cannot be decrypted with DEPLOYER_SECRETS_KEY" in html
    assert "runtime-output" not in html
