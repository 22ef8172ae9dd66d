"""The admin API seam, against a stand-in server on loopback that answers like Caddy 2.6."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from routing import caddy


class StandIn(BaseHTTPRequestHandler):
    config: dict = {}
    requests: list[tuple[str, str]] = []
    refuse_with: str = ""

    def do_GET(self) -> None:
        self._record()
        node = self.config
        for key in self._keys():
            if node is None:
                return self._answer(400, {"error": "invalid traversal path at: config/apps"})
            node = node.get(key)
        self._answer(200, node)

    def do_PUT(self) -> None:
        self._write()

    def do_PATCH(self) -> None:
        self._write()

    def _write(self) -> None:
        self._record()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.refuse_with:
            return self._answer(400, {"error": self.refuse_with})
        *parents, last = self._keys()
        node = self.config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = body
        self._answer(200, None)

    def _keys(self) -> list[str]:
        return self.path.removeprefix("/config/").strip("/").split("/")

    def _record(self) -> None:
        type(self).requests.append((self.command, self.path))

    def _answer(self, status: int, value) -> None:
        data = b"" if value is None and status == 200 else json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stand_in(settings):
    StandIn.config, StandIn.requests, StandIn.refuse_with = {}, [], ""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.DEPLOYER_CADDY_ADMIN_URL = f"http://127.0.0.1:{server.server_port}/"
    yield StandIn
    server.shutdown()
    server.server_close()


def test_missing_path_reads_as_none(stand_in):
    assert caddy.get("apps/http/servers/deployer") is None


def test_put_creates_a_missing_server_then_replaces_it(stand_in):
    caddy.put("apps/http/servers/deployer", {"routes": []})
    caddy.put("apps/http/servers/deployer", {"routes": [{"@id": "deployer-shop"}]})

    assert caddy.get("apps/http/servers/deployer") == {"routes": [{"@id": "deployer-shop"}]}
    writes = [method for method, _ in stand_in.requests if method != "GET"]
    assert writes == ["PUT", "PATCH"]


def test_refused_change_names_caddys_reason(stand_in):
    stand_in.refuse_with = (
        "loading new config: http app module: start: listening on :80: bind: permission denied"
    )

    with pytest.raises(
        caddy.CaddyError, match=r"HTTP 400\): loading new config.*permission denied"
    ):
        caddy.put("apps/http/servers/deployer", {"routes": []})


def test_nothing_listening_is_caddy_unavailable_with_a_hint(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.DEPLOYER_CADDY_ADMIN_URL = f"http://127.0.0.1:{port}"

    with pytest.raises(caddy.CaddyUnavailable, match=r"is not answering.*scripts/caddy\.sh"):
        caddy.get("apps/http/servers/deployer")


def test_silent_admin_api_times_out_readably(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts the connection, never answers
        settings.DEPLOYER_CADDY_ADMIN_URL = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings.DEPLOYER_CADDY_TIMEOUT = 0.3

        with pytest.raises(caddy.CaddyUnavailable, match=r"did not answer within 0.3 s"):
            caddy.get("apps/http/servers/deployer")
