"""A push to a big repository: a fresh shallow clone against a fetch into the project's mirror.

Run: `.venv/bin/python bench/clone.py [--runs 5]`. Needs git only (no services). The
repository (text sources and incompressible assets, about 25 MB packed) is served
over git's smart HTTP protocol by `git http-backend` on 127.0.0.1, as a git host serves it,
and fetched by the clone stage's own function (`builds.pipeline.clone.clone_commit`): once
fresh each time (mirrors off, as before) and once into a mirror kept between pushes. Each run
pushes a one-line change first. Results replace the "Clone" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import harness

sys.path.insert(0, str(harness.ROOT))
from builds.pipeline.clone import clone_commit


class GitHTTP(BaseHTTPRequestHandler):
    """`git http-backend` as CGI: the smart HTTP protocol, as GitHub or Gitea speak it."""

    root = ""

    def do_GET(self) -> None:
        self._backend()

    def do_POST(self) -> None:
        self._backend()

    def _backend(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "REMOTE_ADDR": "127.0.0.1",
        }
        out = subprocess.run(
            ["git", "http-backend"],
            input=self.rfile.read(length),
            env=env,
            capture_output=True,
            check=False,
        ).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def make_big_repo(root: Path) -> Path:
    """About 30 MB: 400 source files of text and 20 MB of incompressible assets."""
    repo = root / "shop.git"
    work = root / "work"
    rng = random.Random(22)
    words = [f"name{i}" for i in range(2000)]
    files = {}
    for n in range(400):
        lines = [
            f"def f{j}({rng.choice(words)}): return {rng.randint(0, 10**9)}" for j in range(600)
        ]
        files[f"shop/module_{n}.py"] = "\n".join(lines) + "\n"
    harness.git(root, "init", "--quiet", "--initial-branch=main", str(work))
    harness.commit(work, files, "sources")
    for n in range(20):
        (work / "static" / f"asset_{n}.bin").parent.mkdir(parents=True, exist_ok=True)
        (work / "static" / f"asset_{n}.bin").write_bytes(rng.randbytes(1024 * 1024))
    harness.git(work, "add", "--all")
    harness.git(work, "commit", "--quiet", "-m", "assets")
    harness.git(root, "clone", "--quiet", "--bare", str(work), str(repo))
    harness.git(repo, "config", "http.receivepack", "true")
    return work


def push_change(work: Path, n: int) -> None:
    harness.commit(work, {"shop/views.py": f"VERSION = {n}\n"}, f"change {n}")
    harness.git(work, "push", "--quiet", str(work.parent / "shop.git"), "main")


def fetch_seconds(url: str, dest: Path, mirror: Path | None) -> float:
    shutil.rmtree(dest, ignore_errors=True)
    started = time.perf_counter()
    clone_commit(url, "main", dest, log=lambda _: None, allow_file=True, mirror=mirror)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="deployer-bench-clone-"))
    try:
        work = make_big_repo(root)
        size = sum(p.stat().st_size for p in (root / "shop.git").rglob("*") if p.is_file())
        GitHTTP.root = str(root)
        server = ThreadingHTTPServer(("127.0.0.1", 0), GitHTTP)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}/shop.git"
        mirror = root / "mirrors" / "1-bench.git"
        first = {"fresh": fetch_seconds(url, root / "a", None)}
        first["mirror"] = fetch_seconds(url, root / "b", mirror)
        results: dict[str, list[float]] = {"fresh": [], "mirror": []}
        for run in range(args.runs):
            push_change(work, run)
            ways = ["fresh", "mirror"] if run % 2 == 0 else ["mirror", "fresh"]
            for way in ways:
                dest = root / f"{way}-{run}"
                results[way].append(fetch_seconds(url, dest, mirror if way == "mirror" else None))
        server.shutdown()
        packs = len(list((mirror / "objects" / "pack").glob("*.pack")))
        mirror_mb = sum(p.stat().st_size for p in mirror.rglob("*") if p.is_file()) / 1e6
    finally:
        shutil.rmtree(root, ignore_errors=True)
    body = f"""Machine: {harness.machine()}. Measured {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.

The clone stage's own function (`clone_commit`) on a repository of {size / 1e6:.0f} MB packed
(400 source files, 20 MB of incompressible assets) served over git's smart HTTP protocol by
`git http-backend` on 127.0.0.1. Each run pushes a one-line change, then fetches the branch
both ways, in turn. Seconds, median (min to max, n runs).

| | fresh shallow clone (mirrors off) | project's mirror |
|---|---|---|
| first fetch | {first["fresh"]:.2f} | {first["mirror"]:.2f} |
| after a one-line push | {harness.summary(results["fresh"])} | {harness.summary(results["mirror"])} |

After the runs the mirror held {packs} packs, {mirror_mb:.0f} MB.
"""
    print(body)
    harness.write_section("Clone: a push to a big repository", body)


if __name__ == "__main__":
    main()
