"""What Deployer does with a push notification, and the per-project webhook secret.

`receive()` is the whole flow behind `POST /hooks/<slug>/`: authenticate, rate-limit, parse,
decide, record. The payload only ever says *which commit* was pushed: Deployer builds its own
configured repository and branch at that sha, never a URL or ref taken from the body.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from builds.models import Build, Deployment
from builds.services import live_deployment, request_build
from previews import services as previews
from projects import crypto
from projects.models import Project
from projects.validators import DNS_LABEL
from webhooks import providers, watch
from webhooks.models import Delivery, WebhookEndpoint

logger = logging.getLogger(__name__)

UNAUTHORIZED_REASON = "Unknown project or invalid signature."
RATE_WINDOW = timedelta(minutes=1)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Outcome:
    status: int
    result: str
    reason: str
    build: Build | None = None


UNAUTHORIZED = Outcome(401, "unauthorized", UNAUTHORIZED_REASON)


# The secret ------------------------------------------------------------------------------------


def new_secret() -> str:
    # Hex: safe unquoted in a shell script, a URL or any provider's form.
    return secrets.token_hex(24)


def saved_endpoint(project: Project) -> WebhookEndpoint | None:
    """The project's webhook endpoint if one was created; pages read this and create nothing."""
    return WebhookEndpoint.objects.filter(project=project).first()


def endpoint_for(project: Project) -> WebhookEndpoint:
    """The project's webhook endpoint, created with a fresh secret the first time it is asked for."""
    endpoint = WebhookEndpoint.objects.filter(project=project).first()
    if endpoint:
        return endpoint
    try:
        with transaction.atomic():
            return WebhookEndpoint.objects.create(
                project=project, encrypted_secret=crypto.encrypt(new_secret())
            )
    except IntegrityError:  # created by a concurrent request a moment ago
        return WebhookEndpoint.objects.get(project=project)


def regenerate_secret(project: Project) -> WebhookEndpoint:
    """Replace the secret: deliveries signed with the old one are refused from now on."""
    endpoint = endpoint_for(project)
    endpoint.encrypted_secret = crypto.encrypt(new_secret())
    endpoint.rotated_at = timezone.now()
    endpoint.save(update_fields=["encrypted_secret", "rotated_at"])
    return endpoint


@functools.cache
def _decoy_token() -> str:
    return crypto.encrypt(secrets.token_hex(24))


def _secret_for(project: Project | None) -> str | None:
    """The project's secret, or None. Unknown projects decrypt a decoy so both paths cost the same."""
    endpoint = getattr(project, "webhook_endpoint", None) if project else None
    try:
        secret = crypto.decrypt(endpoint.encrypted_secret if endpoint else _decoy_token())
    except crypto.InvalidToken:
        logger.error(
            "The webhook secret of %s cannot be decrypted with DEPLOYER_SECRETS_KEY.", project
        )
        return None
    return secret if endpoint else None


# Receiving -------------------------------------------------------------------------------------


def receive(slug: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
    """Handle one webhook request for the project named `slug`. Never raises for bad input."""
    provider = providers.detect(headers)
    project = _project_named(slug)
    secret = _secret_for(project)
    # Verify against a decoy when there is no secret, so an unknown project takes as long
    # and answers exactly as a bad signature does: no project name leaks.
    verified = provider.verify(body, headers, secret or _decoy_secret())
    if not (verified and project and secret):
        logger.warning(
            "Webhook refused for %r: unknown project or invalid %s signature.",
            slug[:80],
            provider.name,
        )
        return UNAUTHORIZED
    try:
        notification = providers.parse(provider, body, headers)
    except providers.MalformedPayload as exc:
        notification = providers.Notification("", "", is_push=False)
        outcome = Outcome(
            400, Delivery.Verdict.REJECTED, f"Malformed {provider.name} payload: {exc}."
        )
    else:
        outcome = None
    if _over_rate_limit(project):
        limit = settings.DEPLOYER_WEBHOOK_RATE_LIMIT
        outcome = Outcome(
            429,
            Delivery.Verdict.RATE_LIMITED,
            f"More than {limit} deliveries in a minute; try again later.",
        )
    if outcome:
        _record(project, provider.name, notification, outcome)
        return outcome
    return _act(project, provider.name, notification)


def _project_named(slug: str) -> Project | None:
    # A name no project could have (e.g. with a NUL byte, which PostgreSQL refuses) is not
    # looked up: knowing such a name does not exist tells nobody anything.
    if not DNS_LABEL.match(slug):
        return None
    return Project.objects.select_related("webhook_endpoint").filter(slug=slug).first()


@functools.cache
def _decoy_secret() -> str:
    return new_secret()


def _over_rate_limit(project: Project) -> bool:
    limit = settings.DEPLOYER_WEBHOOK_RATE_LIMIT
    if not limit:
        return False
    recent = Delivery.objects.filter(project=project, received_at__gte=timezone.now() - RATE_WINDOW)
    return recent.exclude(verdict=Delivery.Verdict.RATE_LIMITED).count() >= limit


def _act(project: Project, provider: str, notification: providers.Notification) -> Outcome:
    try:
        with transaction.atomic():
            # One delivery of a project at a time: two hosts announcing the same commit
            # (or a provider's retry racing the original) cannot both start a build.
            project = Project.objects.select_for_update().get(pk=project.pk)
            outcome = _decide(project, provider, notification)
            _record(project, provider, notification, outcome)
    except IntegrityError:
        # The delivery id was claimed by a concurrent request: that one's build stands.
        outcome = _already_received(notification)
        _record(project, provider, notification, outcome)
    return outcome


def _decide(project: Project, provider: str, notification: providers.Notification) -> Outcome:
    if _delivery_seen(project, notification.delivery_id):
        return _already_received(notification)
    if project.deleting_at is not None:
        return Outcome(
            200, Delivery.Verdict.IGNORED, "The project is being deleted; nothing deploys."
        )
    if notification.pull is not None:
        decision = previews.on_pull_request(
            project, provider, notification.pull, _clean(notification.pusher, 100)
        )
        return Outcome(decision.status, decision.verdict, decision.reason, decision.build)
    if not notification.is_push:
        if notification.event == "ping":
            return Outcome(200, Delivery.Verdict.IGNORED, "Ping received: the webhook is set up.")
        return Outcome(
            200,
            Delivery.Verdict.IGNORED,
            f"'{_clean(notification.event, 64)}' events do not deploy; only pushes do.",
        )
    branch_ref = f"refs/heads/{project.branch}"
    update = next((u for u in notification.updates if u.ref == branch_ref), None)
    if update is None:
        return Outcome(
            200, Delivery.Verdict.IGNORED, _not_our_branch(notification.updates, project.branch)
        )
    if not update.sha:
        return Outcome(
            200,
            Delivery.Verdict.IGNORED,
            f"Branch {project.branch} was deleted; nothing to deploy.",
        )
    existing = _build_of_commit(project, update.sha)
    if existing:
        state = (
            "live" if existing.state == Build.State.LIVE else existing.get_state_display().lower()
        )
        return Outcome(
            200,
            Delivery.Verdict.DUPLICATE,
            f"Commit {update.sha[:8]} is already {state} (build #{existing.pk}).",
            existing,
        )
    stale = _stale(project, update)
    if stale:
        return stale
    skipped = _skipped(project, update)
    if skipped:
        return skipped
    who = _clean(notification.pusher, 100)
    build = request_build(
        project,
        trigger=Build.Trigger.WEBHOOK,
        commit_sha=update.sha,
        ref=project.branch,
        detail=f"{provider} push by {who}" if who else f"{provider} push",
    )
    return Outcome(
        202,
        Delivery.Verdict.QUEUED,
        f"Queued build #{build.pk} of {update.sha[:8]} ({project.branch}).",
        build,
    )


def _delivery_seen(project: Project, delivery_id: str) -> bool:
    if not delivery_id:
        return False
    return Delivery.objects.filter(
        project=project,
        delivery_id=_clean(delivery_id, 100),
        verdict__in=Delivery.CLAIMING_VERDICTS,
    ).exists()


def _already_received(notification: providers.Notification) -> Outcome:
    return Outcome(
        200,
        Delivery.Verdict.DUPLICATE,
        f"Delivery {_clean(notification.delivery_id, 100)} was already received.",
    )


def _not_our_branch(updates: tuple[providers.RefUpdate, ...], branch: str) -> str:
    refs = ", ".join(_clean(update.ref, 80) for update in updates[:5]) or "no branch"
    if updates and all(update.ref.startswith("refs/tags/") for update in updates):
        return f"Tag push ({refs}): only pushes to branch {branch} deploy."
    return f"Push to {refs}: only pushes to branch {branch} deploy."


def _build_of_commit(project: Project, sha: str) -> Build | None:
    """A build of `sha` that is queued or running, or whose deployment is live now."""
    active = project.builds.filter(commit_sha=sha, state__in=Build.ACTIVE_STATES).first()
    if active:
        return active
    live = live_deployment(project)
    return live.build if live and live.build.commit_sha == sha else None


def _stale(project: Project, update: providers.RefUpdate) -> Outcome | None:
    """Refuse a commit this project built before its live build: an old delivery replayed.

    A delivery id is a header, outside the signature, so a captured delivery can be sent again
    under new ids. The rule is the project's own history: the newest build of this commit is
    older than the live build (it went live and was replaced, or was cancelled, superseded or
    failed before the live build came). A commit built after the live one (a retry) or never
    built deploys as usual. The payload's commit time is shown, never trusted alone: authors
    set it, and a rebase keeps it.
    """
    live = live_deployment(project)
    if live is None:
        return None
    newest = project.builds.filter(commit_sha=update.sha).order_by("-pk").first()
    if newest is None or newest.pk >= live.build_id:
        return None
    went_live = Deployment.objects.filter(
        project=project, build__commit_sha=update.sha, live_at__isnull=False
    ).exists()
    when = f" (committed {update.committed_at:%Y-%m-%d %H:%M %Z})" if update.committed_at else ""
    advice = "use Rollback to go back to it" if went_live else "use Deploy to build it again"
    return Outcome(
        200,
        Delivery.Verdict.STALE,
        f"Commit {update.sha[:8]}{when} is older than the live commit "
        f"{live.build.commit_sha[:8]} (build #{live.build_id}); not redeployed — {advice}.",
        newest,
    )


def _skipped(project: Project, update: providers.RefUpdate) -> Outcome | None:
    """Ignore a push whose commit message says `[skip deploy]`, or whose changed files (when
    the host lists them all) miss every watch path of the project's deployer.toml."""
    marker = watch.skip_marker(update.message)
    if marker:
        return Outcome(
            200,
            Delivery.Verdict.IGNORED,
            f"Commit {update.sha[:8]} not deployed: {marker} in the commit message.",
        )
    if update.changed_paths is None:
        return None
    paths = watch_paths(project)
    if paths and not watch.touches(update.changed_paths, paths, project.app_root):
        shown = _clean(", ".join(paths), 200)
        return Outcome(
            200,
            Delivery.Verdict.IGNORED,
            f"Commit {update.sha[:8]} not deployed: no changed file is under the watch paths "
            f"({shown}) of deployer.toml.",
        )
    return None


def watch_paths(project: Project) -> list[str]:
    """The watch paths of deployer.toml as of the newest build that got as far as detection
    (the web process never reads the repository): a change to them takes effect from the next
    build. Empty: every push deploys."""
    found = (
        project.builds.filter(plan__isnull=False, rollback_of__isnull=True)
        .order_by("-pk")
        .values_list("plan__watch", flat=True)
        .first()
    )
    if not isinstance(found, list):
        return []
    return [path for path in found if isinstance(path, str) and path]


def _record(
    project: Project, provider: str, notification: providers.Notification, outcome: Outcome
) -> Delivery:
    update = notification.updates[0] if len(notification.updates) == 1 else None
    branch_ref = f"refs/heads/{project.branch}"
    update = next((u for u in notification.updates if u.ref == branch_ref), update)
    return Delivery.objects.create(
        project=project,
        provider=provider,
        event=_clean(notification.event, 64),
        delivery_id=_clean(notification.delivery_id, 100),
        ref=_clean(update.ref, 255) if update else "",
        commit_sha=update.sha if update else "",
        pusher=_clean(notification.pusher, 100),
        verdict=outcome.result,
        reason=outcome.reason[:500],
        status_code=outcome.status,
        build=outcome.build,
    )


def _clean(value: str, limit: int) -> str:
    """Text from a payload made safe to store: valid UTF-8, no control characters, bounded."""
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    return CONTROL.sub("", text)[:limit]
