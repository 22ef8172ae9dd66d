"""Routes follow the database: every change and every reconcile writes what the database says.

`sync_routes()` builds Deployer's whole Caddy server from the projects, their live
deployments and their domains, and replaces it in one admin API request when it differs.
Writers take one lock for the read-and-write, so a reconcile that read the database before
a switch can never overwrite the switch's newer route after it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from builds.models import Deployment
from projects import audit
from projects.models import Project
from routing import caddy, config, proof
from routing.models import Domain
from routing.validators import is_under_own_address, normalise_hostname, validate_custom_domain

logger = logging.getLogger(__name__)

# Any constant works: it names this lock among PostgreSQL's advisory locks.
ROUTES_LOCK_KEY = 0x0DE9_1075


class RoutingError(Exception):
    """The router could not be updated; the message says why, in words."""


@dataclass(frozen=True)
class SyncResult:
    changed: bool
    server: dict

    @property
    def routes(self) -> int:
        """Projects and dashboard routes served (challenge routes and the 404 route not counted)."""
        return sum(
            1
            for route in self.server["routes"]
            if route.get("match")
            and not route.get("@id", "").startswith(config.CHALLENGE_ROUTE_ID_PREFIX)
        )

    def as_dict(self) -> dict:
        return {"changed": self.changed, "routes": self.routes}


@dataclass(frozen=True)
class Address:
    host: str
    url: str
    domain_id: int | None = None  # set for custom domains, which can be removed
    domain: Domain | None = None

    @property
    def custom(self) -> bool:
        return self.domain_id is not None


# Building and applying the config ---------------------------------------------------------------


def listener() -> config.Listener:
    return config.Listener(
        bind=settings.DEPLOYER_HTTP_BIND,
        http_port=settings.DEPLOYER_HTTP_PORT,
        https=settings.DEPLOYER_HTTPS,
        dashboard_host=settings.DEPLOYER_DASHBOARD_HOST,
        dashboard_upstream=settings.DEPLOYER_DASHBOARD_UPSTREAM,
        access_log=settings.DEPLOYER_ACCESS_LOG,
    )


def desired_sites(domains: list[Domain] | None = None) -> list[config.Site]:
    """The sites the database says should be served now."""
    if domains is None:
        domains = list(Domain.objects.only("project_id", "hostname", "state", "token"))
    return config.sites_from(
        Project.objects.only("pk", "slug"),
        Deployment.objects.filter(state=Deployment.State.LIVE).only(
            "project_id", "host_port", "replica"
        ),
        domains,
        base_domain=settings.DEPLOYER_BASE_DOMAIN.lower(),
    )


def desired_server() -> dict:
    """Deployer's Caddy server as the database says it should be now."""
    domains = list(Domain.objects.only("project_id", "hostname", "state", "token"))
    return config.server_config(desired_sites(domains), listener(), config.challenges_from(domains))


def projects_by_host() -> dict[str, int]:
    """{host: project id} of every host routed to a live app."""
    ids = dict(Project.objects.values_list("slug", "pk"))
    return config.projects_by_host(desired_sites(), ids)


def sync_routes() -> SyncResult:
    """Make Caddy serve exactly what the database says. Raises RoutingError.

    Reads Caddy's current server first and writes only on a difference: Caddy reloads on
    every write, and a reconcile every 30 s should cost one GET when nothing drifted.
    """
    with _routes_lock():
        desired = desired_server()
        log_config = config.access_logging(settings.DEPLOYER_ACCESS_LOG)
        try:
            # A Caddy started before access logging, or one whose config was reset, gets it too.
            if log_config is not None and caddy.get(config.LOGGING_PATH) != log_config:
                caddy.put(config.LOGGING_PATH, log_config)
            current = caddy.get(config.SERVER_PATH)
            if current != desired:
                caddy.put(config.SERVER_PATH, desired)
        except caddy.CaddyError as exc:
            raise RoutingError(str(exc)) from exc
    return SyncResult(changed=current != desired, server=desired)


def point_project(project: Project, deployment: Deployment) -> list[int]:
    """After a switch: route the project's hosts to its new live deployments (every web
    replica of the build). Raises RoutingError.

    The route is derived from the database like every other, so this is a sync; it returns
    the ports the project's route now proxies to (`deployment.host_port` and its replicas',
    unless an even newer build went live meanwhile; [] when nothing of the project is live).
    """
    return config.upstream_ports(sync_routes().server, project.slug)


def remove_project(project: Project) -> None:
    """Call after deleting the project: once that commits, its route goes.

    A failure is logged, not raised: the project is gone either way, and the next reconcile
    removes a route that stayed behind.
    """
    _sync_after_commit(f"project {project.slug} deleted")


def sync_quietly(reason: str) -> bool:
    """Sync, logging instead of raising: for callers whose own work is done either way."""
    try:
        sync_routes()
    except RoutingError as exc:
        logger.warning("Routes not updated after %s: %s", reason, exc)
        return False
    return True


def _sync_after_commit(reason: str) -> None:
    transaction.on_commit(lambda: sync_quietly(reason))


@contextmanager
def _routes_lock() -> Iterator[None]:
    """Serialise read-database-then-write-Caddy across processes.

    PostgreSQL: an advisory lock held until the transaction ends. SQLite: the settings open
    transactions IMMEDIATE, which already takes the database's one write lock.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROUTES_LOCK_KEY])
        yield


# Custom domains ---------------------------------------------------------------------------------


def add_domain(project: Project, hostname: str, *, actor=None) -> Domain:
    """Claim `hostname` for the project; raises ValidationError keyed "hostname".

    The domain starts pending, with a token to prove it by (see `check_domain`), and is not
    routed until proven. A name under the project's own <slug>.<base domain> needs no proof:
    the operator's DNS holds it, and no other project can have a name there.
    """
    domain = Domain(project=project, hostname=normalise_hostname(hostname))
    try:
        validate_custom_domain(domain.hostname, project.slug)
        _refuse_taken(domain.hostname, project)
        domain.full_clean()
    except ValidationError as exc:
        raise ValidationError({"hostname": _messages(exc)}) from None
    if is_under_own_address(domain.hostname, project.slug):
        domain.state = Domain.State.VERIFIED
        domain.method = Domain.Method.OWN_ADDRESS
        domain.verified_at = timezone.now()
        domain.last_check_reason = "Under the app's own address: no proof needed."
    elif _verified_parent_of_other_project(domain.hostname, project):
        domain.last_check_reason = (
            "A domain above it belongs to another project: prove this one with the DNS TXT record."
        )
    try:
        with transaction.atomic():
            domain.save()
            audit.record(project, audit.Action.DOMAIN_ADD, actor=actor, summary=domain.hostname)
    except IntegrityError:  # claimed by someone else between the check and the insert
        raise ValidationError({"hostname": TAKEN}) from None
    _sync_after_commit(f"domain {domain.hostname} added")
    return domain


TAKEN = "This domain is already claimed by another project (pending or verified)."


def _refuse_taken(hostname: str, project: Project) -> None:
    existing = Domain.objects.filter(hostname=hostname).only("project_id").first()
    if existing is None:
        return
    if existing.project_id == project.pk:
        raise ValidationError(f"{hostname} is already one of this project's domains.")
    raise ValidationError(TAKEN)


def _verified_parent_of_other_project(hostname: str, project: Project) -> str | None:
    """The verified domain of another project that `hostname` sits under, if any.

    Someone holding example.com may point *.example.com at this router; an HTTP token would
    then "prove" any name under it for whoever asks first. So a name under another
    project's verified domain is proven only by DNS, which only the zone's holder can edit.
    """
    labels = hostname.split(".")
    parents = [".".join(labels[i:]) for i in range(1, len(labels) - 1)]
    parent = (
        Domain.objects.filter(hostname__in=parents, state=Domain.State.VERIFIED)
        .exclude(project=project)
        .order_by("-hostname")
        .values_list("hostname", flat=True)
        .first()
    )
    return parent


def check_domain(domain: Domain, method: str | None = None) -> proof.Proof:
    """Try the domain's proof (`method`, else the one last chosen); record the outcome.

    A pass marks the domain verified and routes it once that commits; a failure keeps it
    pending with the reason in words. A verified domain is left as it is.
    """
    if domain.verified:
        return proof.Proof(True, domain.last_check_reason or "Verified.")
    if method in (Domain.Method.DNS, Domain.Method.HTTP):
        domain.method = method
    if domain.method == Domain.Method.HTTP and _verified_parent_of_other_project(
        domain.hostname, domain.project
    ):
        result = proof.Proof(
            False,
            f"{domain.hostname} is under a domain another project verified: prove it with the "
            f"DNS TXT record {domain.challenge_name}.",
        )
    elif domain.method == Domain.Method.HTTP:
        result = proof.check_http(domain.hostname, domain.token)
    else:
        result = proof.check_dns(domain.hostname, domain.token)
    now = timezone.now()
    fields = {"method": domain.method, "last_checked_at": now, "last_check_reason": result.reason}
    if result.ok:
        # Conditional: a domain removed or already verified meanwhile is left alone.
        changed = Domain.objects.filter(pk=domain.pk, state=Domain.State.PENDING).update(
            state=Domain.State.VERIFIED, verified_at=now, **fields
        )
        if changed:
            domain.state, domain.verified_at = Domain.State.VERIFIED, now
            _sync_after_commit(f"domain {domain.hostname} verified")
    else:
        Domain.objects.filter(pk=domain.pk, state=Domain.State.PENDING).update(**fields)
    for name, value in fields.items():
        setattr(domain, name, value)
    return result


def check_pending_domains() -> dict:
    """The periodic retry: check every pending domain; drop those pending for too long."""
    cutoff = timezone.now() - timedelta(days=settings.DEPLOYER_DOMAIN_PENDING_DAYS)
    expired, _ = Domain.objects.filter(state=Domain.State.PENDING, created_at__lt=cutoff).delete()
    if expired:
        _sync_after_commit("expired pending domains dropped")
    verified = failed = 0
    for domain in Domain.objects.filter(state=Domain.State.PENDING).select_related("project"):
        if check_domain(domain).ok:
            verified += 1
        else:
            failed += 1
    return {"verified": verified, "pending": failed, "expired": expired}


def remove_domain(domain: Domain, *, actor=None) -> None:
    """Release the domain; Caddy stops answering for it once the deletion commits."""
    hostname = domain.hostname
    with transaction.atomic():
        domain.delete()
        audit.record(domain.project, audit.Action.DOMAIN_REMOVE, actor=actor, summary=hostname)
    _sync_after_commit(f"domain {hostname} removed")


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [message for messages in exc.message_dict.values() for message in messages]
    return exc.messages


# Addresses, as the pages show them ----------------------------------------------------------------


def app_url(host: str) -> str:
    if settings.DEPLOYER_HTTPS:
        return f"https://{host}/"
    port = settings.DEPLOYER_HTTP_PORT
    return f"http://{host}/" if port == 80 else f"http://{host}:{port}/"


def addresses(project: Project, *, routed_only: bool = False) -> list[Address]:
    """The app's own address first, then its custom domains, each with the URL to open.

    `routed_only` leaves out pending domains, which do not lead to the app yet.
    """
    own = project.app_host
    result = [Address(own, app_url(own))]
    result += [
        Address(domain.hostname, app_url(domain.hostname), domain_id=domain.pk, domain=domain)
        for domain in sorted(project.domains.all(), key=lambda d: d.hostname)
        if domain.verified or not routed_only
    ]
    return result


def is_live(project: Project) -> bool:
    return Deployment.objects.filter(project=project, state=Deployment.State.LIVE).exists()
