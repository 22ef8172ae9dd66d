"""Clone exactly one commit of a repository, shallowly, with a time and size cap and no prompts.

Git here is a parser of the repository, never a shell for it. Every git process runs with:
- a HOME in an empty folder outside the checkout, no global or system configuration
  (GIT_CONFIG_GLOBAL=/dev/null, GIT_CONFIG_NOSYSTEM=1), so a committed `.gitconfig` is a file;
- no hooks, no fsmonitor, no signature display, no LFS smudge, no submodules, no pager,
  no replace objects; filter drivers cannot exist since no configuration is the repository's;
- only the https/ssh (and, when allowed, file) transports;
- credentials given per command through GIT_CONFIG_* environment entries (an https
  Authorization header scoped to the repository's URL) or a deploy key in a 0600 file outside
  the checkout, never in argv, the URL or `.git/config`.
Commit details are read with `git cat-file commit`, which runs nothing the repository names.
"""

from __future__ import annotations

import base64
import fcntl
import os
import resource
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from builds.pipeline.errors import StageError
from builds.pipeline.sha import is_sha
from deployer import outbound

# A project's mirror (see _fetch_mirrored): the one ref it keeps, where a server that will
# not fetch a commit by its sha leaves its branches, and how many fetches it holds.
MIRROR_REF = "refs/deployer/fetched"
MIRROR_BRANCHES = "refs/deployer/branches"
MIRROR_MAX_PACKS = 32
# How often the size of the destination is measured while git runs.
SIZE_POLL_SECONDS = 0.2
MAX_MB_SETTING = "DEPLOYER_CLONE_MAX_MB"

# Configuration given on every command line: it wins over the checkout's own `.git/config`
# (which git itself wrote) and there is no other configuration to win over.
HARDENING = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.attributesFile=/dev/null",
    "core.askPass=/bin/false",
    "core.pager=cat",
    "log.showSignature=false",
    "merge.verifySignatures=false",
    "gpg.program=/bin/false",
    "gpg.ssh.program=/bin/false",
    "gpg.x509.program=/bin/false",
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "credential.helper=",
    "protocol.allow=never",
    "protocol.https.allow=always",
)


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    message: str
    # The SSH host keys known after the clone (a first connection adds the host's key).
    known_hosts: str = ""


@dataclass(frozen=True)
class Credentials:
    """What the project's owner gave to reach the repository; never logged, never on disk for long.

    `username`/`password`: basic auth for an https URL (a token alone goes in `password`).
    `ssh_private_key`: the project's deploy key (OpenSSH format) for ssh:// and git@ URLs.
    `known_hosts`: the project's own known_hosts lines (empty: the first host key is accepted).
    """

    username: str = ""
    password: str = ""
    ssh_private_key: str = ""
    known_hosts: str = ""

    def __repr__(self) -> str:  # never print a secret by accident
        return "Credentials(********)"


NO_CREDENTIALS = Credentials()


def redact_url(text: str, url: str) -> str:
    """Hide the credentials of `url` wherever they appear in `text`."""
    parts = urlsplit(url)
    if parts.password:
        text = text.replace(parts.password, "********")
    if parts.username:
        text = text.replace(f"{parts.username}@", "********@")
    return text


def public_url(url: str) -> str:
    """`url` without credentials, for logs."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit(parts._replace(netloc=host))
    return url


def is_ssh_url(url: str) -> bool:
    return url.startswith("ssh://") or ("://" not in url and "@" in url.split(":", 1)[0])


def _is_http_url(url: str) -> bool:
    return url.startswith(("https://", "http://"))


@dataclass(frozen=True)
class GitContext:
    """The environment and `-c` options every git command of one clone runs with."""

    env: dict[str, str]
    options: tuple[str, ...]


def git_context(
    url: str,
    *,
    home: Path,
    credentials: Credentials = NO_CREDENTIALS,
    ssh_key_file: Path | None = None,
    known_hosts_file: Path | None = None,
    allow_file: bool = False,
    pinned_addresses: tuple[str, ...] = (),
) -> GitContext:
    """The environment and options for git on `url`: pure, so tests can read what git is given.

    `pinned_addresses` (checked by `checked_addresses`) are the only ones an http(s) git
    connects to: it does not resolve the host name again.
    """
    options = [*HARDENING, f"protocol.file.allow={'always' if allow_file else 'never'}"]
    options.extend(outbound.git_pin_options(url, pinned_addresses)[1::2])
    # Plain http only for the loopback repositories an operator allows (tests, development).
    options.append(f"protocol.http.allow={'always' if allow_file else 'never'}")
    ssh = is_ssh_url(url) and ssh_key_file is not None
    options.append(f"protocol.ssh.allow={'always' if ssh else 'never'}")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ATTR_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        "GIT_PAGER": "cat",
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_PROTOCOL_FROM_USER": "0",
        "LANG": "C",
        # An ssh that can use nothing of the worker's: no config, no agent, no default keys.
        "GIT_SSH_COMMAND": ssh_command(ssh_key_file, known_hosts_file) if ssh else "/bin/false",
        "GIT_SSH_VARIANT": "ssh",
    }
    entries: list[tuple[str, str]] = []
    if credentials.password and _is_http_url(url):
        userinfo = f"{credentials.username or 'x-access-token'}:{credentials.password}"
        token = base64.b64encode(userinfo.encode()).decode()
        entries.append((f"http.{_url_scope(url)}.extraHeader", f"Authorization: Basic {token}"))
        # A redirect must not carry the header to a host the owner did not name.
        entries.append(("http.followRedirects", "false"))
    env["GIT_CONFIG_COUNT"] = str(len(entries))
    for index, (key, value) in enumerate(entries):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return GitContext(env=env, options=tuple(options))


def ssh_command(key_file: Path, known_hosts_file: Path | None) -> str:
    known = shlex.quote(str(known_hosts_file)) if known_hosts_file else "/dev/null"
    return (
        f"ssh -i {shlex.quote(str(key_file))} -o IdentitiesOnly=yes -o IdentityAgent=none "
        f"-F /dev/null -o BatchMode=yes -o UserKnownHostsFile={known} "
        "-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=accept-new "
        "-o PasswordAuthentication=no -o KbdInteractiveAuthentication=no "
        "-o ForwardAgent=no -o ClearAllForwardings=yes -o PermitLocalCommand=no"
    )


def _url_scope(url: str) -> str:
    """scheme://host[:port]/path of the repository: git sends the header to that URL only."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class _Clone:
    """One clone's git runner: a private HOME, key files, the size cap and the time cap."""

    def __init__(
        self, url: str, dest: Path, context: GitContext, timeout: float, max_bytes: int | None
    ):
        self.url, self.dest, self.context = url, dest, context
        self.timeout, self.max_bytes = timeout, max_bytes

    def git(
        self,
        args: list[str],
        *,
        watch: Path | None = None,
        env: dict[str, str] | None = None,
        stdin: str = "",
    ) -> str:
        """Run git `args`; `watch`: the folder its writes grow (the checkout unless said)."""
        options = [part for option in self.context.options for part in ("-c", option)]
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            process = subprocess.Popen(
                ["git", *options, *args],
                cwd=self.dest,
                env={**self.context.env, **(env or {})},
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                # Python ignores SIGXFSZ and this keeps it so: a write past the file size
                # limit then fails with "File too large" instead of killing git unexplained.
                start_new_session=True,
                restore_signals=False,
            )
            self._limit_file_size(process.pid)
            if stdin:  # a line or two (cat-file's names): well within the pipe's buffer
                with suppress(BrokenPipeError):  # git's own error says why
                    process.stdin.write(stdin.encode())
                    process.stdin.close()
            self._wait(process, args[0], watch or self.dest)
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode(errors="replace")
            stderr = err.read().decode(errors="replace")
        if process.returncode != 0:
            if self.max_bytes and "File too large" in stderr:
                raise self._too_big()
            message = redact_url(stderr.strip() or stdout.strip(), self.url)
            lines = message.splitlines() or ["no output"]
            first_fatal = next((x for x in lines if x.startswith(("fatal:", "error:"))), lines[-1])
            reason = first_fatal.removeprefix("fatal: ").removeprefix("error: ")
            raise StageError(f"git {args[0]} failed: {reason}")
        return stdout

    def _limit_file_size(self, pid: int) -> None:
        # No single file git writes may exceed the cap (the watcher below caps their sum). Set
        # on the started process (a preexec_fn is unsafe in a threaded web or worker process);
        # the helpers git starts (index-pack, remote-https) inherit it.
        if self.max_bytes:
            try:
                resource.prlimit(pid, resource.RLIMIT_FSIZE, (self.max_bytes, self.max_bytes))
            except (ProcessLookupError, PermissionError):
                pass

    def _wait(self, process: subprocess.Popen, command: str, watch: Path) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                process.wait(timeout=SIZE_POLL_SECONDS)
                return
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > deadline:
                _kill(process)
                raise StageError(f"git {command} did not finish within {self.timeout:.0f} s.")
            if self.max_bytes and tree_size(watch) > self.max_bytes:
                _kill(process)
                raise self._too_big()

    def _too_big(self) -> StageError:
        mb = (self.max_bytes or 0) // (1024 * 1024)
        return StageError(
            f"The repository is larger than the clone size cap of {mb} MB "
            f"({MAX_MB_SETTING}): the clone was stopped."
        )


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, 9)
    except ProcessLookupError:
        pass
    process.wait()


def tree_size(root: Path) -> int:
    """Bytes of every file under `root`, links not followed (files vanishing meanwhile are skipped)."""
    total = 0
    stack = [str(root)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


@contextmanager
def _private_home(credentials: Credentials, url: str) -> Iterator[tuple[Path, Path | None, Path]]:
    """An empty HOME outside the checkout, holding the key and known_hosts files (0600)."""
    home = Path(tempfile.mkdtemp(prefix="deployer-git-home-"))
    try:
        home.chmod(0o700)
        key_file = None
        if credentials.ssh_private_key and is_ssh_url(url):
            key_file = home / "deploy_key"
            key_file.touch(mode=0o600)
            key = credentials.ssh_private_key
            key_file.write_text(key if key.endswith("\n") else key + "\n")
        known_hosts = home / "known_hosts"
        known_hosts.touch(mode=0o600)
        known_hosts.write_text(credentials.known_hosts)
        yield home, key_file, known_hosts
    finally:
        shutil.rmtree(home, ignore_errors=True)


def clone_commit(
    url: str,
    ref: str,
    dest: Path,
    *,
    log: Callable[[str], None],
    timeout: float = 120,
    allow_file: bool = False,
    branch: str | None = None,
    credentials: Credentials = NO_CREDENTIALS,
    max_bytes: int | None = None,
    mirror: Path | None = None,
) -> Commit:
    """Fetch `ref` (a branch name or a 40-hex commit sha) of `url` into `dest`, depth 1.

    A commit pushed to `branch` is usually still its head: then the branch is cloned in one
    git process, and only when the head has moved on is the commit fetched by its sha.
    With `mirror` (a bare repository kept for this project and URL, see `_fetch_mirrored`)
    the commit is fetched into it, so only the objects it adds travel, and checked out from it.
    Raises StageError with git's last error line (credentials removed) when the
    repository, branch or commit cannot be fetched, when an ssh URL has no deploy key, when
    one git command exceeds `timeout` or the checkout grows past `max_bytes`.
    """
    dest.mkdir(parents=True, exist_ok=True)
    log(f"Fetching {ref} from {public_url(url)}")
    if is_ssh_url(url) and not credentials.ssh_private_key:
        raise StageError(
            f"{public_url(url)} is an SSH repository and this project has no deploy key: "
            "open the project's page to create one and add it to the git host."
        )
    pinned = checked_addresses(url, allow_local=allow_file, log=log)
    with _private_home(credentials, url) as (home, key_file, known_hosts):
        context = git_context(
            url,
            home=home,
            credentials=credentials,
            ssh_key_file=key_file,
            known_hosts_file=known_hosts,
            allow_file=allow_file,
            pinned_addresses=pinned,
        )
        git = _Clone(url, dest, context, timeout, max_bytes)
        if mirror is None:
            commit = _fetch(git, url, ref, dest, branch)
        else:
            commit = _fetch_mirrored(git, mirror, url, ref, branch, index_file=home / "index")
        if is_sha(ref) and commit.sha != ref:
            raise StageError(f"Commit {ref} was not found in {public_url(url)}.")
        known = known_hosts.read_text()
    log(f"Checked out {commit.sha[:12]} by {commit.author}: {commit.message}")
    return Commit(commit.sha, commit.author, commit.message, known_hosts=known)


def checked_addresses(
    url: str, *, allow_local: bool, log: Callable[[str], None]
) -> tuple[str, ...]:
    """The addresses git may connect to for `url`, checked as every user-given URL is.

    A repository on loopback, a private or link-local address or one of Deployer's own
    services is refused before git runs (a repository URL can name the Caddy admin API or
    the metadata service as well as a webhook can). Local paths and file:// URLs are not
    network URLs. With `allow_local` (DEPLOYER_ALLOW_LOCAL_REPOS, development and tests) a
    refused address is noted in the log and cloned anyway.
    """
    if urlsplit(url).scheme in ("", "file") and not is_ssh_url(url):
        return ()
    try:
        return outbound.check_repository_url(public_url(url))
    except outbound.Refused as exc:
        if not allow_local:
            raise StageError(f"The repository URL was refused: {exc}") from None
        log(f"warning {exc} Cloned anyway: DEPLOYER_ALLOW_LOCAL_REPOS is on.")
        return ()


def _fetch(git: _Clone, url: str, ref: str, dest: Path, branch: str | None) -> Commit:
    if not is_sha(ref):
        _clone_branch(git, url, ref)
        return _checked_out(git)
    if branch and not is_sha(branch):
        try:
            _clone_branch(git, url, branch)
            commit = _checked_out(git)
            if commit.sha == ref:
                return commit
        except StageError as exc:
            if "size cap" in str(exc):
                raise
        shutil.rmtree(dest)
        dest.mkdir(parents=True)
    git.git(["init", "--quiet", "."])
    git.git(["remote", "add", "origin", "--", url])
    checkout = "FETCH_HEAD"
    try:
        git.git(["fetch", "--quiet", "--depth=1", "--no-tags", "origin", ref])
    except StageError as exc:
        if "size cap" in str(exc) or "did not finish" in str(exc):
            raise
        # Some servers refuse to fetch a commit by its sha: fetch the branches and look for it.
        git.git(["fetch", "--quiet", "--no-tags", "origin"])
        checkout = ref
    try:
        git.git(["checkout", "--quiet", "--detach", checkout])
    except StageError as exc:
        if "size cap" in str(exc):
            raise
        raise StageError(f"Commit {ref} was not found in {public_url(url)}.") from None
    return _checked_out(git)


def _fetch_mirrored(
    git: _Clone, mirror: Path, url: str, ref: str, branch: str | None, *, index_file: Path
) -> Commit:
    """`ref` fetched, depth 1, into the project's bare `mirror` and checked out into the
    clone's folder: the server sends only the objects the mirror's last commit lacks (a
    push that changes one file of a 200 MB repository sends that file), where a fresh
    shallow clone receives the whole tree every time.

    The mirror is git's own data, written only by these commands: no ref but MIRROR_REF,
    no remote in its configuration (the URL and credentials are given per command, as for
    a clone), no hooks run, no automatic gc. One fetch at a time per mirror (a lock file
    beside it). A mirror that fails (damaged on disk, a rewritten history it cannot
    follow) is started again once; one that has grown past MIRROR_MAX_PACKS fetches or half
    the size cap is removed after use, and the next build starts it again.
    """
    with _mirror_lock(mirror, git.timeout):
        kept = (mirror / "HEAD").is_file() and (mirror / "objects").is_dir()
        if not kept:
            _new_mirror(git, mirror)
        try:
            commit = _fetch_into_mirror(git, mirror, url, ref, branch)
        except StageError as exc:
            if not kept or "was not found" in str(exc) or "did not finish" in str(exc):
                raise
            _new_mirror(git, mirror)
            commit = _fetch_into_mirror(git, mirror, url, ref, branch)
        git.git(
            ["checkout", "--quiet", "--force", "--detach", commit.sha],
            env={
                "GIT_DIR": str(mirror),
                "GIT_WORK_TREE": str(git.dest),
                "GIT_INDEX_FILE": str(index_file),  # outside the checkout, gone with it
            },
        )
        packs = len(list((mirror / "objects" / "pack").glob("*.pack")))
        if packs > MIRROR_MAX_PACKS or (git.max_bytes and tree_size(mirror) > git.max_bytes // 2):
            shutil.rmtree(mirror, ignore_errors=True)
    return commit


def _fetch_into_mirror(git: _Clone, mirror: Path, url: str, ref: str, branch: str | None) -> Commit:
    """MIRROR_REF set to `ref` (or to `branch`'s head when that is the commit `ref` names)."""
    env = {"GIT_DIR": str(mirror)}

    def fetch(source: str, *, depth: bool = True, into: str = MIRROR_REF) -> None:
        git.git(
            [
                "fetch",
                "--quiet",
                *(["--depth=1"] if depth else []),
                "--no-tags",
                "--no-write-fetch-head",
                "--",
                url,
                f"+{source}:{into}",
            ],
            watch=mirror,
            env=env,
        )

    head = ref if not is_sha(ref) else (branch if branch and not is_sha(branch) else None)
    if head:
        try:
            fetch(f"refs/heads/{head}" if is_sha(ref) else head)
        except StageError as exc:
            if not is_sha(ref) and "couldn't find remote ref" in str(exc):
                raise StageError(f"Branch {ref!r} was not found in {public_url(url)}.") from None
            if not is_sha(ref) or "size cap" in str(exc) or "did not finish" in str(exc):
                raise
        else:
            commit = _read_commit(git, env)
            if commit is None:
                raise StageError("The fetched commit could not be read.")
            if not is_sha(ref) or commit.sha == ref:
                return commit
    try:
        fetch(ref)
    except StageError as exc:
        if "size cap" in str(exc) or "did not finish" in str(exc):
            raise
        # Some servers refuse to fetch a commit by its sha: fetch the branches and look for it.
        fetch("refs/heads/*", depth=False, into=f"{MIRROR_BRANCHES}/*")
        commit = _read_commit(git, env, ref)
        if commit is not None:
            git.git(["update-ref", MIRROR_REF, commit.sha], env=env)
    else:
        commit = _read_commit(git, env)
    if commit is None or commit.sha != ref:
        raise StageError(f"Commit {ref} was not found in {public_url(url)}.")
    return commit


def _read_commit(git: _Clone, env: dict[str, str], name: str = MIRROR_REF) -> Commit | None:
    """The sha, author and subject of commit `name`, from its raw object in one git
    process (`cat-file` runs nothing the repository names); None when there is none."""
    out = git.git(["cat-file", "--batch"], env=env, stdin=f"{name}^{{commit}}\n")
    header, _, raw = out.partition("\n")
    sha, _, kind = header.partition(" ")
    return parse_commit(sha, raw) if kind.startswith("commit ") else None


def _new_mirror(git: _Clone, mirror: Path) -> None:
    """An empty bare repository at `mirror`, configured for a mirror no one else writes."""
    shutil.rmtree(mirror, ignore_errors=True)
    mirror.parent.mkdir(parents=True, exist_ok=True)
    git.git(["init", "--quiet", "--bare", "--template=", str(mirror)])
    with (mirror / "config").open("a") as config:
        # No gc or maintenance of git's choosing (the size rule above bounds the mirror), one
        # pack per fetch (a few files, not one per object), no reflogs.
        config.write(
            "[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n"
            "[fetch]\n\tunpackLimit = 1\n[core]\n\tlogAllRefUpdates = false\n"
        )


def mirror_lock_file(mirror: Path) -> Path:
    """The lock file beside `mirror`: held while git writes it, its time the last use."""
    return Path(f"{mirror}.lock")


@contextmanager
def _mirror_lock(mirror: Path, timeout: float) -> Iterator[None]:
    """One fetch at a time into `mirror` (a build and a detection preview may overlap); the
    lock file's time says when the mirror was last used (builds/mirrors.py prunes by it)."""
    mirror.parent.mkdir(parents=True, exist_ok=True)
    lock_path = mirror_lock_file(mirror)
    with lock_path.open("a") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StageError(
                        f"Another fetch of this repository did not end within {timeout:.0f} s."
                    ) from None
                time.sleep(0.05)
        try:
            os.utime(lock_path)
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _clone_branch(git: _Clone, url: str, branch: str) -> None:
    """The branch head, depth 1, checked out: one git process where init, remote, fetch and
    checkout take four (each costs 5-10 ms to start, on every deploy)."""
    try:
        git.git(
            [
                "clone",
                "--quiet",
                "--depth=1",
                "--no-tags",
                "--single-branch",
                "--no-recurse-submodules",
                f"--branch={branch}",
                "--",
                url,
                ".",
            ],
        )
    except StageError as exc:
        if "not found in upstream" in str(exc):
            raise StageError(f"Branch {branch!r} was not found in {public_url(url)}.") from None
        raise


def _checked_out(git: _Clone) -> Commit:
    """HEAD's sha, author and subject, read from the raw commit object: nothing is run."""
    commit = _read_commit(git, {}, "HEAD")
    if commit is None:
        raise StageError("The checked out commit could not be read.")
    return commit


def parse_commit(sha: str, raw: str) -> Commit:
    """A Commit from `git cat-file commit` output (headers, a blank line, the message)."""
    headers, _, message = raw.partition("\n\n")
    author = ""
    for line in headers.splitlines():
        if line.startswith("author "):
            # "author Name <email> 1700000000 +0000": drop the timestamp and zone.
            author = line.removeprefix("author ").rsplit(" ", 2)[0]
            break
    subject = next((line for line in message.splitlines() if line.strip()), "")
    return Commit(sha=sha, author=author.strip(), message=subject.strip())
