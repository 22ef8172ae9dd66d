"""Rules for custom domains: pure functions of the name and the settings."""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django.core.exceptions import ValidationError

LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_HOSTNAME = 253


def normalise_hostname(value: str) -> str:
    """What people paste: surrounding spaces, capitals, a trailing dot, a URL. Only the name stays."""
    name = (value or "").strip().lower()
    for scheme in ("http://", "https://"):
        name = name.removeprefix(scheme)
    name = name.split("/", 1)[0]
    return name.rstrip(".")


def validate_hostname(value: str) -> None:
    """A fully qualified DNS name of at least two labels; no IP address, port, wildcard or path."""
    if not value:
        raise ValidationError("Enter a domain name such as www.example.com.", code="required")
    if not value.isascii():
        raise ValidationError(
            "Enter an internationalised name in its ASCII form (xn--…).", code="not_ascii"
        )
    if _is_ip_address(value):
        raise ValidationError("Enter a domain name, not an IP address.", code="ip_address")
    labels = value.split(".")
    if len(value) > MAX_HOSTNAME or len(labels) < 2 or not all(map(LABEL.match, labels)):
        raise ValidationError(
            "Enter a domain name such as www.example.com: labels of letters, digits and hyphens "
            "separated by dots (no port, path or wildcard).",
            code="invalid_hostname",
        )
    if labels[-1].isdigit():
        raise ValidationError("A domain name cannot end in a number.", code="invalid_hostname")


def validate_custom_domain(hostname: str, project_slug: str) -> None:
    """A domain a project may claim: not the dashboard, not another project's place under the base domain.

    Every name under the base domain is a project's own address, including names of projects
    not created yet, so a custom domain there must sit under this project's own address.
    """
    validate_hostname(hostname)
    base = settings.DEPLOYER_BASE_DOMAIN.lower()
    own = f"{project_slug}.{base}"
    if is_dashboard_host(hostname):
        raise ValidationError(
            f"{hostname} is the dashboard's own address (DEPLOYER_DASHBOARD_HOST / ALLOWED_HOSTS); "
            "a project cannot claim it.",
            code="reserved",
        )
    if hostname == own:
        raise ValidationError("This is already the app's own address.", code="own_address")
    if hostname == base or (hostname.endswith(f".{base}") and not hostname.endswith(f".{own}")):
        raise ValidationError(
            f"Names under {base} are the projects' own addresses; under this project's you may "
            f"add e.g. www.{own}.",
            code="reserved",
        )


def is_under_own_address(hostname: str, project_slug: str) -> bool:
    """A name below the project's own <slug>.<base domain>: only that project can hold it."""
    return hostname.endswith(f".{project_slug}.{settings.DEPLOYER_BASE_DOMAIN.lower()}")


def dashboard_hosts() -> list[str]:
    """The dashboard's host names: DEPLOYER_DASHBOARD_HOST and every ALLOWED_HOSTS entry.

    An entry ".example.com" is Django's pattern for example.com and every name under it;
    "*" names no host of its own.
    """
    names = [settings.DEPLOYER_DASHBOARD_HOST, *settings.ALLOWED_HOSTS]
    return [name.lower().rstrip(".") for name in names if name and name != "*"]


def is_dashboard_host(hostname: str) -> bool:
    for name in dashboard_hosts():
        if name.startswith("."):
            if hostname == name[1:] or hostname.endswith(name):
                return True
        elif hostname == name:
            return True
    return False


def is_under(hostname: str, parent: str) -> bool:
    return hostname.endswith(f".{parent}")


def _is_ip_address(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True
