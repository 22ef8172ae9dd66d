"""The `deployer` commands. Each one is a few API calls; the server does the work."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from deployer_cli import config
from deployer_cli.client import ApiError, Client

app = typer.Typer(
    help="Deploy and watch apps on a Deployer server, from a terminal or CI.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
env_app = typer.Typer(help="A project's environment variables.", no_args_is_help=True)
app.add_typer(env_app, name="env")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

LIVE = "live"
FOLLOW_WAIT_SECONDS = 2  # the server holds each log request up to this long for a new line
FOLLOW_RETRIES = 5  # a server away for about a minute, not longer


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True)
    return typer.Exit(code)


def client() -> Client:
    found = config.load()
    if found is None:
        raise fail(
            "Not logged in: run `deployer login URL`, or set DEPLOYER_URL and DEPLOYER_TOKEN."
        )
    return Client(found)


def call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except ApiError as exc:
        raise fail(str(exc)) from None


# Session -----------------------------------------------------------------------------------


@app.command()
def login(
    url: Annotated[
        str, typer.Argument(help="The dashboard's address, e.g. https://deploy.example.com")
    ],
    token: Annotated[
        str, typer.Option(help="A personal API token (asked for when not given).")
    ] = "",
) -> None:
    """Check a token against a server and remember both for the next commands."""
    if not token:
        token = typer.prompt("API token (Account → API tokens)", hide_input=True)
    candidate = config.Config(url.rstrip("/"), token.strip())
    me = call(Client(candidate).get, "/me")
    where = config.save(candidate)
    restricted = f", project {me['project']}" if me["project"] else ""
    out.print(f"Logged in to {candidate.url} as {me['username']} ({me['scope']}{restricted}).")
    out.print(f"Saved in {where}.")


@app.command()
def projects() -> None:
    """The projects you can see."""
    table = Table("Project", "Branch", "Address", "Owner")
    for project in call(lambda: list(client().pages("/projects"))):
        table.add_row(project["slug"], project["branch"], project["url"], project["owner"])
    out.print(table)


@app.command()
def status(project: Annotated[str, typer.Argument(help="Only this project.")] = "") -> None:
    """The newest build of each project and, for one project, its health."""
    api = client()
    builds = call(lambda: list(api.pages("/status")))
    table = Table("Project", "Build", "State", "Ref", "Commit", "Created")
    for build in builds:
        if project and build["project"] != project:
            continue
        table.add_row(
            build["project"],
            f"#{build['id']}",
            _state(build),
            build["ref"],
            build["commit_sha"][:8],
            build["created_at"][:19].replace("T", " "),
        )
    out.print(table)
    if project:
        health = call(api.get, f"/projects/{project}/health")
        out.print(f"Health: {health['label']}. {health['reason']}")


def _state(build: dict) -> str:
    colour = {"live": "green", "failed": "red", "cancelled": "yellow"}.get(build["state"], "cyan")
    return f"[{colour}]{build['state']}[/{colour}]"


# Deploying -----------------------------------------------------------------------------------


@app.command()
def deploy(
    project: str,
    ref: Annotated[
        str, typer.Option(help="Branch, tag or commit; default the project's branch.")
    ] = "",
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Stream the build log; exit 1 unless it goes live."),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Stop following after this many seconds.")] = 1800,
) -> None:
    """Queue a deploy of PROJECT (with --follow: wait for it, for CI)."""
    api = client()
    build = call(api.post, f"/projects/{project}/deploy", {"ref": ref} if ref else {})
    out.print(f"Build #{build['id']} of {project} queued ({build['ref']}).")
    if follow:
        _follow_to_end(api, build["id"], timeout)


@app.command()
def rollback(
    project: str,
    build: Annotated[
        int | None, typer.Argument(help="The build to go back to; default the previous live one.")
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Wait until it is live.")] = False,
    timeout: Annotated[float, typer.Option(help="Stop following after this many seconds.")] = 600,
) -> None:
    """Redeploy an earlier build's image, without building."""
    api = client()
    queued = call(api.post, f"/projects/{project}/rollback", {"build": build} if build else {})
    out.print(f"Build #{queued['id']} queued: back to build #{queued['rollback_of']}.")
    if follow:
        _follow_to_end(api, queued["id"], timeout)


@app.command()
def cancel(build: int) -> None:
    """Cancel a queued or running build."""
    answer = call(client().post, f"/builds/{build}/cancel")
    out.print(answer["message"])


@app.command()
def logs(
    project: str,
    build: Annotated[int | None, typer.Option(help="This build; default the newest.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
) -> None:
    """A build's log (the newest build's by default)."""
    api = client()
    if build is None:
        newest = call(api.get, f"/projects/{project}/builds", page_size=1)["items"]
        if not newest:
            raise fail(f"{project} has no builds yet.")
        build = newest[0]["id"]
    if follow:
        _follow_to_end(api, build, timeout=None)
        return
    after = 0
    while True:
        page = call(api.get, f"/builds/{build}/log", after=after)
        _print_lines(page["lines"])
        if not page["lines"] or page["finished"]:
            break
        after = page["next_after"]


def _print_lines(lines: list[dict]) -> None:
    for line in lines:
        out.print(line["text"], markup=False)


def follow_log(api: Client, build_id: int, timeout: float | None) -> dict:
    """Print the build's log as it grows; the build as it ended (or as it is at the timeout).

    A server that is briefly away (restarting, a proxy's 502) is asked again with the same
    cursor, so a CI job does not fail for it and no line is lost or repeated.
    """
    after, failures = 0, 0
    deadline = None if timeout is None else time.monotonic() + timeout
    while deadline is None or time.monotonic() < deadline:
        try:
            page = api.get(f"/builds/{build_id}/log", after=after, wait=FOLLOW_WAIT_SECONDS)
        except ApiError as exc:
            failures += 1
            if not _transient(exc) or failures > FOLLOW_RETRIES:
                raise fail(str(exc)) from None
            err.print(f"{exc} (trying again)", markup=False)
            time.sleep(min(2**failures, 10))
            continue
        failures = 0
        _print_lines(page["lines"])
        after = page["next_after"]
        if page["finished"]:
            break
    return call(api.get, f"/builds/{build_id}")


def _transient(exc: ApiError) -> bool:
    return exc.status == 0 or exc.status in (502, 503, 504)


def _follow_to_end(api: Client, build_id: int, timeout: float | None) -> None:
    try:
        build = follow_log(api, build_id, timeout)
    except KeyboardInterrupt:
        raise fail(
            f"Stopped following; build #{build_id} goes on (`deployer cancel {build_id}`).", 130
        ) from None
    if build["state"] == LIVE:
        out.print(f"[green]Build #{build_id} is live.[/green]")
        return
    if not build["finished"]:
        raise fail(f"Build #{build_id} is still {build['state']} after the timeout.", 2)
    where = f" at {build['failure_stage']}" if build["failure_stage"] else ""
    reason = f": {build['failure_reason']}" if build["failure_reason"] else "."
    raise fail(f"Build #{build_id} {build['state']}{where}{reason}")


# Environment -------------------------------------------------------------------------------


@env_app.command("list")
def env_list(project: str) -> None:
    """The variables' names (values stay on the server)."""
    table = Table("Key", "At build", "Changed")
    for var in call(lambda: list(client().pages(f"/projects/{project}/env"))):
        table.add_row(
            var["key"], "yes" if var["available_at_build"] else "", var["updated_at"][:19]
        )
    out.print(table)


@env_app.command("set")
def env_set(
    project: str,
    assignments: Annotated[list[str], typer.Argument(help="KEY=VALUE, one or more.")],
    build: Annotated[
        bool | None, typer.Option("--build/--no-build", help="Also pass it at build time.")
    ] = None,
) -> None:
    """Add or change variables (the next deploy uses them)."""
    api = client()
    for assignment in assignments:
        key, equals, value = assignment.partition("=")
        if not equals:
            raise fail(f"{assignment!r} is not KEY=VALUE.")
        body: dict = {"value": value}
        if build is not None:
            body["available_at_build"] = build
        call(api.put, f"/projects/{project}/env/{key}", body)
        out.print(f"{key} set.")


@env_app.command("unset")
def env_unset(project: str, keys: list[str]) -> None:
    """Delete variables."""
    api = client()
    for key in keys:
        call(api.delete, f"/projects/{project}/env/{key}")
        out.print(f"{key} deleted.")


@env_app.command("import")
def env_import(
    project: str,
    file: Annotated[Path, typer.Argument(help="A .env file; - for standard input.")],
) -> None:
    """Add or replace every variable of a .env file; all or nothing."""
    text = sys.stdin.read() if str(file) == "-" else file.read_text()
    result = call(client().post, f"/projects/{project}/env-import", {"text": text})
    out.print(f"Imported: {len(result['created'])} new, {len(result['updated'])} replaced.")


if __name__ == "__main__":
    app(prog_name="deployer")
