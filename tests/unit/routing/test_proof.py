"""The two proofs against a real resolver and a local DNS server; the HTTP one against a local
stand-in for the router, and against addresses that must never be fetched."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from routing import proof

TOKEN = "0123456789abcdef0123456789abcdef"


class Router:
    """An HTTP server on 127.0.0.1 answering every GET with `status` and `body`; counts requests."""

    def __init__(self, status: int = 200, body: str = TOKEN, headers: dict | None = None) -> None:
        self.requests: list[tuple[str, str]] = []
        router = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                router.requests.append((self.headers["Host"], self.path))
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Router:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def router_settings(settings):
    settings.DEPLOYER_ROUTER_ADDRESSES = ["127.0.0.1"]
    settings.DEPLOYER_HTTPS = False
    return settings


def test_dns_proof_passes_with_the_token_in_the_txt_record(local_dns):
    local_dns.add("_deployer-challenge.www.shop.com", "TXT", "something-else", TOKEN)

    result = proof.check_dns("www.shop.com", TOKEN)

    assert result == proof.Proof(
        True, "The TXT record _deployer-challenge.www.shop.com holds the token."
    )


def test_dns_proof_with_a_wrong_token_fails_and_says_so(local_dns):
    local_dns.add("_deployer-challenge.www.shop.com", "TXT", "f" * 32)

    result = proof.check_dns("www.shop.com", TOKEN)

    assert not result.ok
    assert result.reason == (
        "The TXT record _deployer-challenge.www.shop.com does not hold this domain's token."
    )


def test_dns_proof_without_a_record_names_the_record_to_create(local_dns):
    result = proof.check_dns("www.shop.com", TOKEN)

    assert not result.ok
    assert result.reason == "There is no DNS record _deployer-challenge.www.shop.com."


def test_dns_proof_asks_only_the_configured_nameserver(local_dns):
    proof.check_dns("www.shop.com", TOKEN)

    assert local_dns.queries == [("_deployer-challenge.www.shop.com", "TXT")]


def test_http_proof_passes_when_the_name_resolves_to_the_router_and_it_serves_the_token(
    local_dns, router_settings
):
    local_dns.add("www.shop.com", "A", "127.0.0.1")
    with Router() as router:
        router_settings.DEPLOYER_ROUTER_HTTP_PORT = router.port
        result = proof.check_http("www.shop.com", TOKEN)

    assert result.ok, result.reason
    assert router.requests == [("www.shop.com", f"/.well-known/deployer-challenge/{TOKEN}")]


def test_http_proof_never_connects_to_an_address_that_is_not_the_routers(
    local_dns, router_settings
):
    """The SSRF attempt: a name pointing at an internal service (here 127.0.0.2)."""
    listener = socket.socket()
    listener.bind(("127.0.0.2", 0))
    listener.listen()
    listener.settimeout(0.5)
    local_dns.add("internal.attacker.com", "A", "127.0.0.2")
    router_settings.DEPLOYER_ROUTER_HTTP_PORT = listener.getsockname()[1]

    result = proof.check_http("internal.attacker.com", TOKEN)

    assert not result.ok
    assert result.reason == "internal.attacker.com must resolve only to this server (127.0.0.1)."
    with pytest.raises(TimeoutError):  # nobody connected
        listener.accept()
    listener.close()


def test_http_proof_refuses_a_name_that_also_resolves_elsewhere(local_dns, router_settings):
    local_dns.add("www.shop.com", "A", "127.0.0.1", "10.0.0.5")
    with Router() as router:
        router_settings.DEPLOYER_ROUTER_HTTP_PORT = router.port
        result = proof.check_http("www.shop.com", TOKEN)

    assert not result.ok
    assert "must resolve only to this server" in result.reason
    assert router.requests == []


def test_http_proof_shows_no_fetched_content_and_follows_no_redirect(local_dns, router_settings):
    local_dns.add("www.shop.com", "A", "127.0.0.1")
    with Router(status=302, body="INTERNAL-SECRET", headers={"Location": "http://10.0.0.1/"}) as r:
        router_settings.DEPLOYER_ROUTER_HTTP_PORT = r.port
        result = proof.check_http("www.shop.com", TOKEN)

    assert not result.ok
    assert result.reason == (
        f"http://www.shop.com/.well-known/deployer-challenge/{TOKEN} answered HTTP 302, not the token."
    )
    assert "INTERNAL-SECRET" not in result.reason
    assert len(r.requests) == 1


def test_http_proof_with_a_wrong_body_fails_without_showing_it(local_dns, router_settings):
    local_dns.add("www.shop.com", "A", "127.0.0.1")
    with Router(body="root:x:0:0") as router:
        router_settings.DEPLOYER_ROUTER_HTTP_PORT = router.port
        result = proof.check_http("www.shop.com", TOKEN)

    assert not result.ok
    assert result.reason.endswith("did not answer this domain's token.")
    assert "root:x" not in result.reason


def test_http_proof_of_a_name_without_addresses_says_what_to_point_where(
    local_dns, router_settings
):
    local_dns.add("www.shop.com", "TXT", "unrelated")

    result = proof.check_http("www.shop.com", TOKEN)

    assert result.reason == "www.shop.com has no A or AAAA record pointing at 127.0.0.1."


def test_http_proof_is_off_without_router_addresses(local_dns, router_settings):
    router_settings.DEPLOYER_ROUTER_ADDRESSES = []

    result = proof.check_http("www.shop.com", TOKEN)

    assert (
        result.reason == "The HTTP proof needs DEPLOYER_ROUTER_ADDRESSES; use the DNS TXT record."
    )
    assert local_dns.queries == []


def test_http_proof_is_off_with_https(local_dns, router_settings):
    router_settings.DEPLOYER_HTTPS = True

    result = proof.check_http("www.shop.com", TOKEN)

    assert not result.ok
    assert result.reason.startswith("With DEPLOYER_HTTPS on, prove the domain with the DNS TXT")
