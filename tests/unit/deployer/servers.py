"""Loopback HTTP servers for the outbound tests: each counts the requests that reach it."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from deployer import outbound

PUBLIC = "93.184.215.14"  # a global address: nothing connects to it in unit tests


def fake_dns(monkeypatch, names: dict[str, list[list[str]]] | None = None):
    """Replace the resolver (DNS leaves the machine): each name in `names` answers its lists
    in turn (the last repeats); other names go to the real resolver. Returns the resolver,
    with `.names` to add to and `.calls` listing the names looked up."""
    real = outbound.resolve
    names = dict(names or {})
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host in names:
            answers = names[host]
            return answers.pop(0) if len(answers) > 1 else answers[0]
        return real(host, port)

    monkeypatch.setattr(outbound, "resolve", resolve)
    resolve.names, resolve.calls = names, calls
    return resolve


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class HitServer:
    """`with HitServer(status=302, location=...) as s:`; `s.hits` lists (method, path, Host).

    `hang=True` accepts and never answers; `drip=True` answers one header byte at a time,
    slowly, so only a bound on the whole exchange ends it.
    """

    def __init__(
        self,
        *,
        status: int = 200,
        body: bytes = b"",
        location: str = "",
        host: str = "127.0.0.1",
        hang: bool = False,
        drip: bool = False,
    ):
        self.hits: list[tuple[str, str, str]] = []
        self.stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.hits.append((self.command, self.path, self.headers.get("Host", "")))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if hang:
                    server.stop.wait(30)
                    return
                if drip:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    for _ in range(300):  # 30 s of one byte every 0.1 s, unless cut off
                        self.wfile.write(b"X")
                        self.wfile.flush()
                        if server.stop.wait(0.1):  # the test is over: stop at once
                            return
                    self.wfile.write(b": y\r\nContent-Length: 0\r\n\r\n")
                    return
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        cls = _IPv6Server if ":" in host else _Server
        self.host = host
        self.server = cls((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, host: str = "", path: str = "/") -> str:
        host = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> HitServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
