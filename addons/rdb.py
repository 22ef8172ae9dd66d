"""Redis backups: RDB snapshots taken, checked and put back through the engine's API.

A snapshot is `redis-cli --rdb` inside the add-on's container (a fresh point-in-time dump
from the server, over its own loopback), copied out of the container as a tar stream: the
add-on need not run beside the worker. Checking one starts a throw-away Redis of the same
image, with no network, whose data folder holds only that file; Redis refuses to start from
a damaged RDB, and its keyspace must show the keys the live server had. A restore swaps the
file into the add-on's volume while the add-on is stopped, keeping the previous data beside
it until the server has loaded the new file and shows the backup's keys; otherwise the
previous data is put back.
"""

from __future__ import annotations

import io
import re
import secrets
import tarfile
from pathlib import Path

from django.conf import settings

from addons import engine, kinds
from addons.models import AddOn
from builds.docker import LABEL_ROLE, describe_error, run_in
from builds.fences import operator_fence
from builds.installation import project_labels
from builds.pipeline import fence
from builds.pipeline.errors import StageError

DATA = kinds.of(kinds.REDIS).data_dir
UID = kinds.of(kinds.REDIS).user
SNAPSHOT = "deployer-backup.rdb"
INCOMING = "deployer-restore.rdb"
# The previous data while a restore is checked: put back if the new file does not load.
PREVIOUS = "dump.rdb.before-restore"
_KEYSPACE = re.compile(r"^(db\d+):keys=(\d+)", re.MULTILINE)


class RdbError(Exception):
    """A Redis backup step that failed, in one sentence."""


def keyspace(client, container: str) -> dict[str, int]:
    """{db0: keys, ...} of the Redis in `container` (INFO keyspace; empty dbs are absent)."""
    ran = _run(client, container, ["redis-cli", "-h", "127.0.0.1", "info", "keyspace"])
    if ran.exit_code != 0 or "# Keyspace" not in ran.stdout:
        raise RdbError(
            f"Counting the keys failed: {(ran.stderr or ran.stdout).strip()[:300] or ran.exit_code}"
        )
    return {db: int(keys) for db, keys in _KEYSPACE.findall(ran.stdout)}


def snapshot(client, addon: AddOn, path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Write a fresh RDB snapshot of the live add-on to `path`; returns the key counts just
    before and just after it was taken (equal unless the app wrote meanwhile)."""
    before = keyspace(client, addon.container_name)
    inside = f"{DATA}/{SNAPSHOT}"
    ran = _run(client, addon.container_name, ["redis-cli", "-h", "127.0.0.1", "--rdb", inside])
    try:
        if ran.exit_code != 0:
            raise RdbError(f"redis-cli --rdb failed ({ran.exit_code}): {ran.stderr.strip()[:300]}")
        _copy_out(client, addon.container_name, inside, path)
    finally:
        _run(client, addon.container_name, ["rm", "-f", inside])
    return before, keyspace(client, addon.container_name)


def load_and_count(client, addon: AddOn, path: Path, name: str) -> dict[str, int]:
    """Start a throw-away Redis from the RDB file at `path` alone; returns its key counts.

    Raises RdbError when Redis will not load it (a damaged file) or cannot be started.
    """
    labels = {**project_labels(addon.project.slug), LABEL_ROLE: "backup-check"}
    # The add-on's own fence, on no network at all: nothing reaches the copy, nor it anything.
    limits = operator_fence("none", settings.DEPLOYER_ADDON_MEMORY_MB, user=UID)
    password = secrets.token_urlsafe(16)
    try:
        container_id = client.api.create_container(
            addon.image,
            command=kinds.server_command(kinds.REDIS),
            name=name,
            user=UID,
            labels=labels,
            host_config=client.api.create_host_config(**fence.host_config(limits)),
            environment={"REDIS_PASSWORD": password, "REDISCLI_AUTH": password},
        )["Id"]
    except Exception as exc:
        raise RdbError(f"The check container could not be created: {describe_error(exc)}") from exc
    try:
        _copy_in(client, container_id, path, "dump.rdb")
        client.api.start(container_id)
        engine.wait_until_ready(
            client,
            container_id,
            kinds.ready_command(kinds.REDIS, user="", database=""),
            timeout=settings.DEPLOYER_ADDON_READY_TIMEOUT,
        )
        return keyspace(client, container_id)
    except StageError as exc:
        raise RdbError(f"Redis would not load the file: {exc}") from exc
    except RdbError:
        raise
    except Exception as exc:
        raise RdbError(describe_error(exc)) from exc
    finally:
        client.api.remove_container(container_id, v=True, force=True)


def matches(restored: dict[str, int], before: dict[str, int], after: dict[str, int]) -> str:
    """ "" when every database of the copy holds as many keys as the live one had while the
    snapshot was taken (between its counts before and after), else what differs."""
    problems = []
    for db in sorted(set(restored) | set(before) | set(after)):
        low, high = sorted((before.get(db, 0), after.get(db, 0)))
        if not low <= restored.get(db, 0) <= high:
            problems.append(f"{db} has {restored.get(db, 0)} keys, the live server had {high}")
    return "; ".join(problems)


def put_back(client, addon: AddOn, path: Path, expected: dict[str, int]) -> None:
    """Replace the live add-on's data by the RDB file at `path` (the add-on is stopped and
    started again); the previous data is restored when the server does not come back with
    `expected` keys. Raises RdbError saying what happened."""
    api = client.api
    api.stop(addon.container_name, timeout=settings.DEPLOYER_STOP_GRACE)
    # Still in the stopped container's volume: the file goes in beside the old data first.
    _copy_in(client, addon.container_name, path, INCOMING)
    _swap(client, addon, f"mv -f dump.rdb {PREVIOUS} 2>/dev/null; mv {INCOMING} dump.rdb")
    api.start(addon.container_name)
    problem = ""
    try:
        engine.wait_until_ready(
            client,
            addon.container_name,
            kinds.ready_command(kinds.REDIS, user="", database=""),
            timeout=settings.DEPLOYER_ADDON_READY_TIMEOUT,
        )
        got = keyspace(client, addon.container_name)
        if got != expected:
            problem = f"it came back with {got or 'no keys'} instead of {expected}"
    except (StageError, RdbError) as exc:
        problem = str(exc)
    if not problem:
        _run(client, addon.container_name, ["rm", "-f", f"{DATA}/{PREVIOUS}"])
        return
    # The restored data is wrong: stop without saving it, and put the previous file back.
    api.stop(addon.container_name, timeout=settings.DEPLOYER_STOP_GRACE)
    _swap(client, addon, f"[ -e {PREVIOUS} ] && mv -f {PREVIOUS} dump.rdb")
    api.start(addon.container_name)
    raise RdbError(f"The restored Redis was not right ({problem}); its previous data is back.")


def _swap(client, addon: AddOn, shell: str) -> None:
    """Run `shell` in the add-on's data folder from a one-off container of its image that
    mounts only its volume (the add-on itself is stopped)."""
    limits = operator_fence(
        "none",
        settings.DEPLOYER_ADDON_MEMORY_MB,
        user=UID,
        mounts=(engine.data_mount(addon.volume_name, DATA),),
    )
    labels = {**project_labels(addon.project.slug), LABEL_ROLE: "backup-restore"}
    container_id = client.api.create_container(
        addon.image,
        entrypoint=["sh", "-c"],
        command=[f"cd {DATA} && {shell}"],
        user=UID,
        labels=labels,
        host_config=client.api.create_host_config(**fence.host_config(limits)),
    )["Id"]
    try:
        client.api.start(container_id)
        code = client.api.wait(container_id, timeout=60).get("StatusCode")
        if code not in (0, None):
            logs = client.api.logs(container_id).decode("utf-8", "replace").strip()[:300]
            raise RdbError(f"Putting the file in place failed ({code}): {logs}")
    finally:
        client.api.remove_container(container_id, v=True, force=True)


def _copy_in(client, container: str, path: Path, name: str) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid = path.stat().st_size, 0o600, 999, 999
        with path.open("rb") as handle:
            tar.addfile(info, handle)
    if not client.api.put_archive(container, DATA, data.getvalue()):
        raise RdbError("The backup could not be copied into the container.")


def _copy_out(client, container: str, inside: str, path: Path) -> None:
    """The file `inside` the container, to `path`, read as a tar stream (the container's
    answer is untrusted: only a regular file of that name is taken)."""
    bundle = path.with_name(path.name + ".tar")
    try:
        chunks, _ = client.api.get_archive(container, inside)
        with bundle.open("wb") as out:  # streamed to disk: a snapshot may be large
            for chunk in chunks:
                out.write(chunk)
        with tarfile.open(bundle) as tar:
            member = next((m for m in tar.getmembers() if m.name == Path(inside).name), None)
            if member is None or not member.isfile():
                raise RdbError("The snapshot was not in the container's answer.")
            source = tar.extractfile(member)
            with path.open("wb") as out:
                while block := source.read(1 << 20):
                    out.write(block)
    except RdbError:
        raise
    except Exception as exc:
        raise RdbError(f"The snapshot could not be copied out: {describe_error(exc)}") from exc
    finally:
        bundle.unlink(missing_ok=True)


def _run(client, container: str, command: list[str]):
    try:
        return run_in(client, container, command)
    except Exception as exc:
        raise RdbError(f"{command[0]} could not run: {describe_error(exc)}") from exc
