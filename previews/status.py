"""Commit statuses back to the git host: pending while a preview builds, success with the
preview's address when it is live, failure when its build fails.

The GitHub shape (`POST <repository API>/statuses/<sha>`, `Authorization: token ...`), which
Gitea and Forgejo answer too. The repository API address is an owner's setting and is checked
as every user-given URL is (deployer/outbound.py): never loopback, a private network or one of
Deployer's own services, unless the operator allows that range. Only the answer's status is
kept; the token never reaches a log, a page or the database unencrypted.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings

from builds.models import Build
from deployer import outbound
from previews.models import Preview, PreviewSettings
from projects import crypto
from routing import services as routing

logger = logging.getLogger(__name__)

CONTEXT = "deployer/preview"
FAILED_STATES = (Build.State.FAILED, Build.State.CANCELLED, Build.State.SUPERSEDED)


def status_of(build: Build) -> tuple[str, str]:
    """(state, description) of the commit status a build's state means."""
    if build.state == Build.State.LIVE:
        return "success", "The preview is live."
    if build.state in FAILED_STATES:
        return "failure", f"The preview's build {build.get_state_display().lower()}."[:140]
    return "pending", "The preview is building."


def status_url(api_url: str, sha: str) -> str:
    return f"{api_url.rstrip('/')}/statuses/{sha}"


def report(build_id: int) -> str:
    """Send the commit status of a preview's build; returns what happened, in words (also
    kept on the preview). Sends nothing when the project has no status settings."""
    build = Build.objects.select_related("project").filter(pk=build_id).first()
    preview = build and Preview.objects.filter(child_id=build.project_id).first()
    if not build or not preview or not build.commit_sha:
        return "not a preview build"
    config = PreviewSettings.objects.filter(project_id=preview.project_id).first()
    if config is None or not config.reports_status:
        return "no status settings"
    state, description = status_of(build)
    body = json.dumps(
        {
            "state": state,
            "target_url": routing.app_url(build.project.app_host),
            "description": description,
            "context": CONTEXT,
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/vnd.github+json",
        "User-Agent": "Deployer-previews/1",
        "Authorization": f"token {crypto.decrypt(config.encrypted_status_token)}",
    }
    try:
        target = outbound.check_url(status_url(config.status_api_url, build.commit_sha))
        answer = outbound.request(
            target, "POST", body=body, headers=headers, timeout=settings.DEPLOYER_NOTIFY_TIMEOUT
        )
    except (outbound.Refused, outbound.Failed) as exc:
        note = f"Commit status {state} not sent: {exc}"
    else:
        ok = 200 <= answer.status < 300
        note = f"Commit status {state} {'sent' if ok else 'refused'} ({answer})."
    Preview.objects.filter(pk=preview.pk).update(status_note=note[:300])
    logger.info("Preview %s: %s", preview, note)
    return note
