"""Who sent a request: the client's address, and whether it came straight from this host.

Forwarding headers (X-Forwarded-For, Forwarded, Via, X-Real-IP) are text the client can
write. They are read only with `DEPLOYER_BEHIND_PROXY` on and only on a request whose peer is
one of `DEPLOYER_PROXY_ADDRESSES` (Caddy on this host replaces what the client sent and appends
the address it saw, so the last entry of X-Forwarded-For is the one to believe).

Behind Caddy on the same host every request arrives from 127.0.0.1, so "from loopback" means
a loopback peer *and* no forwarding header at all: a request that went through the proxy is
not a local one, whatever the proxy's own address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_VIA", "HTTP_X_REAL_IP")


def _peer(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def was_forwarded(request: HttpRequest) -> bool:
    """True when the request carries any header a proxy adds (whoever wrote it)."""
    return any(request.META.get(name) for name in FORWARDING_HEADERS)


def from_trusted_proxy(request: HttpRequest) -> bool:
    return settings.DEPLOYER_BEHIND_PROXY and _peer(request) in settings.DEPLOYER_PROXY_ADDRESSES


def client_ip(request: HttpRequest) -> str:
    """The client's address: the proxy's last X-Forwarded-For entry when trusted, else the peer."""
    if from_trusted_proxy(request):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if _is_ip(forwarded):
            return forwarded
    return _peer(request)


def is_local(request: HttpRequest) -> bool:
    """A request from this host's loopback that did not come through any proxy."""
    peer = _peer(request)
    if not _is_ip(peer) or not ipaddress.ip_address(peer).is_loopback:
        return False
    return not was_forwarded(request)
