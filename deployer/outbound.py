"""Requests to URLs that users give (notification webhooks): checked, pinned, bounded.

A URL a user gives can point at loopback, the cloud's metadata service, the private network
or Deployer's own services (Caddy's admin API stops every app on `POST /stop`). So the host
is resolved once, every address it resolves to is checked, and the request connects to the
checked address itself (no second lookup that DNS rebinding could answer differently), with
the name kept for the Host header and TLS verification. No redirect is followed, connecting
and the whole exchange are bounded in time, and the response body is never read: the caller
gets the status code and the standard reason phrase, never anything the receiver wrote.

DEPLOYER_OUTBOUND_ALLOW_NETWORKS lets the operator allow ranges (an internal receiver);
Deployer's own services stay refused even inside an allowed range.
"""

from __future__ import annotations

import functools
import http
import http.client
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}
# IPv6 forms that carry an IPv4 address: NAT64 (RFC 6052, RFC 8215) and IPv4-compatible.
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
CGNAT = ipaddress.ip_network("100.64.0.0/10")
METADATA = ipaddress.ip_address("169.254.169.254")


class _NoHeaderDefects(logging.Filter):
    """urllib3 logs a receiver's malformed headers with the request path: the path of a
    webhook URL is its token (Slack, Discord) and the headers are the receiver's words."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to parse headers")


logging.getLogger("urllib3.connection").addFilter(_NoHeaderDefects())


class Refused(Exception):
    """The URL may not be requested; the message names the URL, the address and why."""


class Failed(Exception):
    """The request was allowed but did not complete (no connection, time-out, TLS)."""

    def __init__(self, reason: str, *, timed_out: bool = False):
        super().__init__(reason)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`) and what to ask for."""

    url: str
    scheme: str
    host: str  # the name as written, for the Host header and TLS
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    """What the receiver answered, without anything it wrote: status and standard reason."""

    status: int

    @property
    def reason(self) -> str:
        try:
            return http.HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status < 400

    def __str__(self) -> str:
        return f"{self.status} {self.reason}".strip()


# Checking ------------------------------------------------------------------------------------


def check_url(url: str) -> Target:
    """Parse an http(s) URL, resolve its host once and check every address. Raises Refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused(f"{url} is not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise Refused(f"{url}: only http:// and https:// URLs are accepted.")
    if not parts.hostname:
        raise Refused(f"{url} has no host name.")
    port = port or DEFAULT_PORTS[parts.scheme]
    addresses = check_host(parts.hostname, port, url=url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url, parts.scheme, parts.hostname, port, path, addresses)


def check_repository_url(url: str) -> tuple[str, ...]:
    """The checked addresses of a git repository URL's host (https, http, ssh, git, user@host:path).

    For the clone step to refuse repositories on loopback, private or platform addresses
    before git runs. Raises Refused; local paths and file:// URLs are not network URLs.
    """
    scheme, host, port = _repository_host(url)
    if not host:
        raise Refused(f"{url} names no network host.")
    return check_host(host, port or DEFAULT_PORTS.get(scheme, 443), url=url)


def git_pin_options(url: str, addresses: tuple[str, ...]) -> list[str]:
    """git options that make an http(s) clone of `url` connect only to `addresses` (the ones
    check_repository_url returned) instead of resolving the name again; [] for other schemes
    and when there is nothing to pin (a local repository an operator allowed).

    `git -c http.curloptResolve=host:port:addr,...` (git 2.37+) fills curl's DNS cache, so the
    name still goes in Host and TLS verification.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not addresses:
        return []
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    pinned = ",".join(f"[{a}]" if ":" in a else a for a in addresses)
    return ["-c", f"http.curloptResolve={parts.hostname}:{port}:{pinned}"]


def check_host(host: str, port: int, *, url: str = "") -> tuple[str, ...]:
    """Resolve `host` once and return all its addresses, or raise Refused naming the bad one."""
    what = url or f"{host}:{port}"
    try:
        addresses = resolve(host, port)
    except OSError:
        raise Refused(f"{what}: the host name {host} could not be resolved.") from None
    if not addresses:
        raise Refused(f"{what}: the host name {host} resolves to no address.")
    for address in addresses:
        why = refusal(address, port)
        if why:
            verb = "points at" if address == host.strip("[]") else "resolves to"
            raise Refused(f"{what} {verb} {address}, {why}: Deployer sends no requests there.")
    return tuple(addresses)


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (the one DNS look-up)."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    # Drop an IPv6 scope ("fe80::1%eth0"): the address itself is what is checked.
    return list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))


def refusal(address: str, port: int) -> str:
    """Why a request to address:port is refused, or "" when it is allowed."""
    ip = ipaddress.ip_address(address)
    embedded = _embedded_ipv4(ip)
    if _is_platform_service(ip, port) or (embedded and _is_platform_service(embedded, port)):
        return f"one of Deployer's own services (port {port})"
    # An IPv4-mapped form reaches its IPv4 address: allowed when that one is.
    if _allowed_by_operator(ip) or (embedded is not None and _allowed_by_operator(embedded)):
        return ""
    if embedded and _kind(embedded):
        return f"an IPv6 form of {embedded}, {_kind(embedded)}"
    return _kind(ip)


def _kind(ip: IPAddress) -> str:
    if ip.is_unspecified:
        return "the unspecified address (this machine)"
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip == METADATA:
        return "the cloud metadata service"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in CGNAT:
        return "a shared (carrier-grade NAT) address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private network address"
    if not ip.is_global:
        return "a reserved address"
    return ""


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64, compatible)."""
    if ip.version == 4:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if any(ip in net for net in NAT64) or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _allowed_by_operator(ip: IPAddress) -> bool:
    return any(
        ip in net for net in _allowed_networks(tuple(settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS))
    )


@functools.lru_cache(maxsize=8)
def _allowed_networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


# Deployer's own services ------------------------------------------------------------------------


def platform_services() -> list[tuple[str, int]]:
    """(host, port) of every service of Deployer's own: database, broker, Caddy, Docker, dashboard."""
    found: list[tuple[str, int]] = []
    db = settings.DATABASES["default"]
    if db.get("HOST"):
        found.append((db["HOST"], int(db.get("PORT") or 5432)))
    brokers = [settings.CELERY_BROKER_URL, getattr(settings, "CELERY_RESULT_BACKEND", "")]
    found += _url_hosts([*brokers, getattr(settings, "REDIS_URL", "")], default_port=6379)
    found += _url_hosts([settings.DEPLOYER_CADDY_ADMIN_URL], default_port=2019)
    docker_host = _docker_host()
    if docker_host:
        found += _url_hosts([docker_host.replace("tcp://", "http://", 1)], default_port=2375)
    found += _host_ports([settings.DEPLOYER_DASHBOARD_UPSTREAM])
    found.append((settings.DEPLOYER_HTTP_BIND, settings.DEPLOYER_HTTP_PORT))
    if settings.DEPLOYER_HTTPS:
        found += [(settings.DEPLOYER_HTTP_BIND, 443)]
    if settings.EMAIL_HOST:
        found.append((settings.EMAIL_HOST, int(settings.EMAIL_PORT)))
    return list(dict.fromkeys(found))


def _is_platform_service(ip: IPAddress, port: int) -> bool:
    for service_ip, service_port in _service_addresses(tuple(platform_services())):
        if port != service_port:
            continue
        # A service on loopback or 0.0.0.0 answers on every address of this machine.
        if ip == service_ip or (_is_this_machine(service_ip) and _is_this_machine(ip)):
            return True
    return False


@functools.lru_cache(maxsize=8)
def _service_addresses(services: tuple[tuple[str, int], ...]) -> tuple:
    found = []
    for host, port in services:
        try:
            addresses = resolve(host, port)
        except OSError:
            continue  # a service that does not resolve cannot be reached through it either
        found += [(ipaddress.ip_address(address), port) for address in addresses]
    return tuple(found)


def _is_this_machine(ip: IPAddress) -> bool:
    ip = _embedded_ipv4(ip) or ip
    return ip.is_loopback or ip.is_unspecified or ip in _own_addresses()


@functools.lru_cache(maxsize=1)
def _own_addresses() -> frozenset:
    """This machine's addresses as its own name resolves them (best effort)."""
    try:
        return frozenset(ipaddress.ip_address(a) for a in resolve(socket.gethostname(), 0))
    except (OSError, ValueError):
        return frozenset()


def _docker_host() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    return host if host.startswith("tcp://") else ""


def _url_hosts(urls: Iterable[str], *, default_port: int) -> list[tuple[str, int]]:
    found = []
    for url in filter(None, urls):
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            continue
        if parts.hostname:
            found.append((parts.hostname, port or default_port))
    return found


def _host_ports(values: Iterable[str]) -> list[tuple[str, int]]:
    return _url_hosts((f"http://{value}" for value in values if value), default_port=80)


def _repository_host(url: str) -> tuple[str, str, int | None]:
    if "://" in url:
        try:
            parts = urlsplit(url)
            return parts.scheme, parts.hostname or "", parts.port
        except ValueError:
            raise Refused(f"{url} is not a valid URL.") from None
    head = url.split(":", 1)[0]
    if ":" in url and "/" not in head:  # scp-like: [user@]host:path
        return "ssh", head.rsplit("@", 1)[-1], None
    return "", "", None


# Requesting ------------------------------------------------------------------------------------


def request(
    target: Target,
    method: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    timeout: float,
) -> Answer:
    """Send one request to the checked address of `target`; return its status, never its body.

    `timeout` bounds the whole exchange (connecting at most DEPLOYER_OUTBOUND_CONNECT_TIMEOUT
    of it). Redirects are answered, not followed. Raises Failed.
    """
    deadline = time.monotonic() + timeout
    last: Failed | None = None
    for address in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            return _exchange(target, address, method, body, headers or {}, remaining, timeout)
        except _NotConnected as exc:
            last = exc.failure  # try the host's next address
    raise last or Failed(f"no answer within {timeout:g} s", timed_out=True)


class _NotConnected(Exception):
    def __init__(self, failure: Failed):
        self.failure = failure


def _exchange(
    target: Target,
    address: str,
    method: str,
    body: bytes,
    headers: Mapping[str, str],
    budget: float,
    total: float,
) -> Answer:
    deadline = time.monotonic() + budget
    connect = min(settings.DEPLOYER_OUTBOUND_CONNECT_TIMEOUT, budget)
    if target.scheme == "https":
        conn = urllib3.connection.HTTPSConnection(
            address,
            target.port,
            timeout=connect,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs=ssl.CERT_REQUIRED,
            ca_certs=certifi.where(),
        )
    else:
        conn = urllib3.connection.HTTPConnection(address, target.port, timeout=connect)
    try:
        try:
            conn.connect()
        except urllib3.exceptions.NewConnectionError as exc:
            raise _NotConnected(Failed("could not connect")) from exc
        except (urllib3.exceptions.ConnectTimeoutError, TimeoutError) as exc:
            raise _NotConnected(Failed(f"could not connect within {connect:g} s")) from exc
        except ssl.SSLError as exc:
            raise Failed(f"the TLS handshake with {target.host} failed: {exc}") from exc
        except (OSError, urllib3.exceptions.HTTPError) as exc:
            raise _NotConnected(Failed("could not connect")) from exc
        return _ask(conn, target, method, body, headers, deadline, total)
    finally:
        conn.close()  # the body is never read


def _ask(conn, target: Target, method: str, body, headers, deadline: float, total: float) -> Answer:
    """Send the request and read the status line and headers, all before `deadline`."""
    remaining = max(deadline - time.monotonic(), 0.001)
    conn.timeout = remaining  # each socket operation, and below, the exchange as a whole
    # A receiver answering a byte at a time would outlast any per-read timeout: at the
    # deadline the socket is shut down, which wakes the read blocked on it.
    expired = threading.Event()
    watchdog = threading.Timer(remaining, _expire, args=(conn.sock, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request(
            method,
            target.path,
            body=body,
            headers={"Host": _host_header(target), **headers},
            preload_content=False,
        )
        status = conn.getresponse().status
        if expired.is_set():  # the headers were cut off, so the status proves nothing
            raise TimeoutError
        return Answer(status)
    except (OSError, urllib3.exceptions.HTTPError, http.client.HTTPException) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise Failed(f"no answer within {total:g} s", timed_out=True) from exc
        raise Failed(f"the connection failed ({type(exc).__name__})") from exc
    finally:
        watchdog.cancel()


def _expire(sock: socket.socket | None, expired: threading.Event) -> None:
    expired.set()
    if sock is not None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == DEFAULT_PORTS[target.scheme] else f"{host}:{target.port}"
