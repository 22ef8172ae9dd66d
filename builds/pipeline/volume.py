"""Volume: the project's own persistent volume, where a Django app's SQLite database lives.

The database's place in the image (`/app/db.sqlite3`) is a link into the volume's
mount point DATA_DIR (`/var/lib/deployer/data/db.sqlite3`), put into the build context by
Deployer (context.py), so the image holds no data and no extra build step. SQLite follows
the link and keeps its journal and WAL files beside the real file, on the volume. The
release container and the web container mount the same volume, so the migrated tables are
the app's, and the volume outlives every container: redeploys and rollbacks keep the data.

The volume is the engine's (a named volume, labelled with the project), never a host path
of the worker: the app need not run beside the worker. Plain values in, plain values out,
but for the two calls to the engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import docker
from docker import errors as docker_errors
from docker.types import Mount

from builds.docker import LABEL_PROJECT, run_in
from builds.pipeline.detection.sqlite import DATA_DIR, volume_links
from builds.pipeline.errors import StageError
from builds.pipeline.release import Precheck

PREFIX = "deployer-data-"
# The release container exits with this code when the volume is not writable (release.py).
UNWRITABLE_EXIT = 86


def volume_name(project: str) -> str:
    return f"{PREFIX}{project}"


def mount(name: str) -> Mount:
    return Mount(target=DATA_DIR, source=name, type="volume")


def writable_precheck(project: str, databases: Sequence[str], user: str | None) -> Precheck:
    """Run before the release command, in its container: the app's user must be able to
    write the volume and each database file on it, or the release fails saying so."""
    targets = " ".join(f"'{t}'" for t in volume_links(databases).values())
    shell = (
        f"[ -w {DATA_DIR} ] || exit {UNWRITABLE_EXIT}\n"
        f'for f in {targets}; do [ ! -e "$f" ] || [ -w "$f" ] || exit {UNWRITABLE_EXIT}; done'
    )
    uid = user.partition(":")[0] if user else None
    who = f"uid {uid}" if uid else "the image's user"
    reason = (
        f"The project's volume {volume_name(project)} (mounted at {DATA_DIR}) or its SQLite "
        f"database there is not writable by the app's user ({who}). Give the volume's files "
        f"back to {who} (chown them in a container that mounts the volume), or delete the "
        "volume to start from an empty database."
    )
    return Precheck(shell, UNWRITABLE_EXIT, reason)


def check_writable(client: docker.DockerClient, container_id: str, precheck: Precheck) -> None:
    """Run `precheck` inside the new web container (as its user); raises StageError with its
    reason when it fails, or when it cannot run at all. For deploys whose release was skipped."""
    try:
        exit_code = run_in(client, container_id, ["sh", "-c", precheck.shell]).exit_code
    except docker_errors.DockerException as exc:
        raise StageError(
            f"The project's volume could not be checked in the new container: {exc}"
        ) from exc
    if exit_code == precheck.exit_code:
        raise StageError(f"{precheck.reason} The new version was not switched to.")


def ensure_volume(
    client: docker.DockerClient, name: str, project: str, labels: dict[str, str]
) -> bool:
    """Create the project's volume `name` when it does not exist; True when it was created now.

    Raises StageError when the engine cannot create it, or a volume of that name exists
    that is not this project's.
    """
    try:
        existing = client.api.inspect_volume(name)
    except docker_errors.NotFound:
        existing = None
    except docker_errors.APIError as exc:
        raise StageError(f"The project's volume {name} could not be looked up: {exc}") from exc
    if existing is not None:
        if (existing.get("Labels") or {}).get(LABEL_PROJECT) != project:
            raise StageError(f"The Docker volume {name} exists but is not this project's.")
        return False
    try:
        client.api.create_volume(name, labels=labels)
    except docker_errors.APIError as exc:
        raise StageError(f"The project's volume {name} could not be created: {exc}") from exc
    return True


def database_sizes(
    client: docker.DockerClient, container_id: str, databases: Sequence[str]
) -> int | None:
    """The bytes the kept databases take (with their WAL), read inside the app's container;
    None when it cannot be read. The container is untrusted: only digits are believed."""
    files = [f"{t}{suffix}" for t in volume_links(databases).values() for suffix in ("", "-wal")]
    script = 'for f in "$@"; do [ -f "$f" ] && stat -c %s "$f"; done; true'
    try:
        output = run_in(client, container_id, ["sh", "-c", script, "sh", *files]).stdout
    except docker_errors.DockerException:
        return None
    numbers = [line for line in output.split()[:8] if line.isdigit()]
    return sum(int(n) for n in numbers) if numbers else None
