"""SSH repositories are cloned with the project's deploy key only, against a real sshd.

The test starts Debian's OpenSSH server on a loopback port with its own configuration and
host key; the account's authorized keys are exactly what the test lets in. Its VERBOSE log
names every public key a client offers, so the tests can say which keys git's ssh tried.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from builds.pipeline import clone
from projects import services

pytestmark = pytest.mark.django_db


def _fingerprint(public_key: str, tmp_path: Path) -> str:
    path = tmp_path / f"key-{abs(hash(public_key))}.pub"
    path.write_text(public_key + "\n")
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return out.split()[1]  # "256 SHA256:... comment (ED25519)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sshd(tmp_path):
    """(start(authorized public keys) -> port, log text reader); the server stops afterwards."""
    if not Path("/usr/sbin/sshd").exists():
        pytest.fail("this test needs Debian's openssh-server (scripts/test.sh installs it)")
    root = tmp_path / "sshd"
    root.mkdir(mode=0o700)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "host_key")], check=True
    )
    log = root / "sshd.log"
    processes = []

    def start(authorized: list[str]) -> int:
        (root / "authorized_keys").write_text("".join(f"{key}\n" for key in authorized))
        port = _free_port()
        (root / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1:{port}\nHostKey {root / 'host_key'}\n"
            f"PidFile {root / 'sshd.pid'}\nAuthorizedKeysFile {root / 'authorized_keys'}\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
            "PermitRootLogin prohibit-password\nLogLevel VERBOSE\nMaxAuthTries 10\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        process = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(root / "sshd_config")],
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append(process)
        for _ in range(100):  # until it listens
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return port
            if process.poll() is not None:
                pytest.fail(f"sshd did not start:\n{log.read_text()}")
            time.sleep(0.1)
        pytest.fail("sshd did not listen")

    yield start, log.read_text
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def bare_repo(tmp_path) -> Path:
    work, bare = tmp_path / "work", tmp_path / "served.git"
    work.mkdir()
    env = {
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@x",
        "PATH": "/usr/bin:/bin",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    (work / "app.py").write_text("print('over ssh')\n")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["commit", "-qm", "over ssh"],
        ["clone", "-q", "--bare", ".", str(bare)],
    ):
        subprocess.run(["git", *args], cwd=work, env=env, check=True, capture_output=True)
    return bare


@pytest.fixture
def operator_agent(tmp_path, monkeypatch):
    """An ssh-agent holding a key the server accepts, as a worker's own key would be."""
    key = tmp_path / "operator_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    for _ in range(50):
        if sock.exists():
            break
        time.sleep(0.1)
    env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
    subprocess.run(["ssh-add", "-q", str(key)], env=env, check=True, capture_output=True)
    monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
    yield (key.with_suffix(".pub")).read_text().strip()
    agent.terminate()
    agent.wait(timeout=10)


def _offered(log: str) -> set[str]:
    return set(re.findall(r"(SHA256:[A-Za-z0-9+/=]+)", log))


def test_an_ssh_repository_is_cloned_with_the_projects_deploy_key_only(
    sshd, bare_repo, user, tmp_path, operator_agent
):
    project = services.create_project(user, slug="over-ssh", repo_url="git@e.com:a/b.git")
    start, read_log = sshd
    port = start([project.deploy_public_key])
    project = services.update_project(project, repo_url=f"ssh://root@127.0.0.1:{port}{bare_repo}")

    commit = clone.clone_commit(
        project.repo_url,
        "main",
        tmp_path / "checkout",
        log=lambda _: None,
        credentials=services.git_credentials(project),
        timeout=30,
        allow_file=True,  # the test's sshd is on loopback, as DEPLOYER_ALLOW_LOCAL_REPOS allows
    )

    assert commit.message == "over ssh"
    assert (tmp_path / "checkout" / "app.py").read_text() == "print('over ssh')\n"
    project_key = _fingerprint(project.deploy_public_key, tmp_path)
    assert "Accepted publickey for root from 127.0.0.1" in read_log()
    assert _offered(read_log()) - {_fingerprint_host(tmp_path)} == {project_key}
    assert "[127.0.0.1]:" in commit.known_hosts  # the host key was learnt for next time


def test_a_key_the_worker_holds_is_never_offered_even_when_the_server_accepts_it(
    sshd, bare_repo, user, tmp_path, operator_agent
):
    project = services.create_project(user, slug="not-mine", repo_url="git@e.com:a/b.git")
    start, read_log = sshd
    port = start([operator_agent])  # the server lets the operator's key in, not the project's
    url = f"ssh://root@127.0.0.1:{port}{bare_repo}"
    project = services.update_project(project, repo_url=url)

    with pytest.raises(clone.StageError, match="git clone failed"):
        clone.clone_commit(
            project.repo_url,
            "main",
            tmp_path / "checkout",
            log=lambda _: None,
            credentials=services.git_credentials(project),
            timeout=30,
            allow_file=True,  # the test's sshd is on loopback, as DEPLOYER_ALLOW_LOCAL_REPOS allows
        )

    offered = _offered(read_log()) - {_fingerprint_host(tmp_path)}
    assert _fingerprint(operator_agent, tmp_path) not in offered
    assert offered == {_fingerprint(project.deploy_public_key, tmp_path)}
    # The same clone with ssh's defaults would have got in through the agent: the key works.
    plain = subprocess.run(
        ["git", "clone", "-q", url, str(tmp_path / "plain")],
        env={
            **os.environ,
            "GIT_SSH_COMMAND": "ssh -o StrictHostKeyChecking=no "
            "-o UserKnownHostsFile=/dev/null -o BatchMode=yes",
        },
        capture_output=True,
        text=True,
    )
    assert plain.returncode == 0, plain.stderr
    shutil.rmtree(tmp_path / "plain")


def _fingerprint_host(tmp_path: Path) -> str:
    public = (tmp_path / "sshd" / "host_key.pub").read_text().strip()
    return _fingerprint(public, tmp_path)
