"""The two proofs that a custom domain is its claimant's: a DNS TXT record, or an HTTP token.

Plain functions of a name, a token and the settings; each returns a `Proof` whose reason is
one sentence for the page. No fetched content ever reaches that sentence.

The HTTP proof is not a general URL fetch. The name must resolve (through the same resolver
as the DNS proof) only to addresses listed in DEPLOYER_ROUTER_ADDRESSES, the addresses of
this server's router; the request then goes to one of those listed addresses, on the
router's HTTP port, for the fixed path /.well-known/deployer-challenge/<token>, follows no
redirect, reads a few bytes and compares them with the token. Whatever a user's DNS says,
Deployer connects to nothing but its own router.
"""

from __future__ import annotations

import http.client
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    import dns.exception
    import dns.resolver

CHALLENGE_LABEL = "_deployer-challenge"
CHALLENGE_PATH = "/.well-known/deployer-challenge/"


@dataclass(frozen=True)
class Proof:
    ok: bool
    reason: str


def _dns():
    """dnspython, imported on first use: only the worker's domain checks need it, and every
    process that loads the URLconf or the admin would otherwise carry it (about 14 MB)."""
    import dns.exception
    import dns.resolver

    return dns


def resolver() -> dns.resolver.Resolver:
    """The system's resolver, or DEPLOYER_DNS_NAMESERVERS on DEPLOYER_DNS_PORT when set."""
    dns = _dns()
    nameservers = settings.DEPLOYER_DNS_NAMESERVERS
    res = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        res.nameservers = list(nameservers)
        res.port = settings.DEPLOYER_DNS_PORT
    res.lifetime = settings.DEPLOYER_DOMAIN_CHECK_TIMEOUT
    res.timeout = settings.DEPLOYER_DOMAIN_CHECK_TIMEOUT
    return res


def check_dns(hostname: str, token: str) -> Proof:
    name = f"{CHALLENGE_LABEL}.{hostname}"
    dns = _dns()
    try:
        answer = resolver().resolve(name, "TXT", search=False)
    except dns.resolver.NXDOMAIN:
        return Proof(False, f"There is no DNS record {name}.")
    except dns.resolver.NoAnswer:
        return Proof(False, f"{name} has no TXT record.")
    except dns.exception.Timeout:
        return Proof(False, f"The DNS lookup of {name} timed out; try again later.")
    except dns.exception.DNSException:
        return Proof(False, f"The DNS lookup of {name} failed; try again later.")
    values = [b"".join(rdata.strings).decode("ascii", "replace").strip() for rdata in answer]
    if token in values:
        return Proof(True, f"The TXT record {name} holds the token.")
    return Proof(False, f"The TXT record {name} does not hold this domain's token.")


def router_addresses() -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return {ipaddress.ip_address(value) for value in settings.DEPLOYER_ROUTER_ADDRESSES}


def resolve_addresses(hostname: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The name's A and AAAA addresses; raises dns.exception.DNSException when it has none."""
    dns = _dns()
    res = resolver()
    found = []
    missing: dns.exception.DNSException | None = None
    for kind in ("A", "AAAA"):
        try:
            found += [
                ipaddress.ip_address(r.address) for r in res.resolve(hostname, kind, search=False)
            ]
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN) as exc:
            missing = exc
    if not found:
        raise missing or dns.resolver.NoAnswer()
    return found


def check_http(hostname: str, token: str) -> Proof:
    if settings.DEPLOYER_HTTPS:
        return Proof(
            False,
            "With DEPLOYER_HTTPS on, prove the domain with the DNS TXT record: Caddy would "
            "otherwise request a certificate for a name not yet proven.",
        )
    routers = router_addresses()
    if not routers:
        return Proof(
            False, "The HTTP proof needs DEPLOYER_ROUTER_ADDRESSES; use the DNS TXT record."
        )
    shown = ", ".join(sorted(map(str, routers)))
    dns = _dns()
    try:
        addresses = resolve_addresses(hostname)
    except dns.resolver.NXDOMAIN:
        return Proof(False, f"{hostname} does not exist in DNS yet.")
    except dns.exception.Timeout:
        return Proof(False, f"The DNS lookup of {hostname} timed out; try again later.")
    except dns.exception.DNSException:
        return Proof(False, f"{hostname} has no A or AAAA record pointing at {shown}.")
    # Every address must be the router's: a name that also points elsewhere is not proven to
    # be served here, and the request never goes to an address the operator did not list.
    if any(address not in routers for address in addresses):
        return Proof(False, f"{hostname} must resolve only to this server ({shown}).")
    url = f"http://{hostname}{CHALLENGE_PATH}{token}"
    status, body = _fetch(str(addresses[0]), hostname, f"{CHALLENGE_PATH}{token}", len(token))
    if status is None:
        return Proof(False, f"{url} could not be fetched: the router did not answer.")
    if status != 200:
        return Proof(False, f"{url} answered HTTP {status}, not the token.")
    if body.strip() != token:
        return Proof(False, f"{url} did not answer this domain's token.")
    return Proof(True, f"{url} answered the token.")


def _fetch(address: str, hostname: str, path: str, size: int) -> tuple[int | None, str]:
    """GET `path` from the router at `address` with Host `hostname`; no redirect, a few bytes."""
    connection = http.client.HTTPConnection(
        address, settings.DEPLOYER_ROUTER_HTTP_PORT, timeout=settings.DEPLOYER_DOMAIN_CHECK_TIMEOUT
    )
    try:
        connection.request("GET", path, headers={"Host": hostname, "Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read(size + 64).decode("ascii", "replace")
    except (OSError, http.client.HTTPException):
        return None, ""
    finally:
        connection.close()
