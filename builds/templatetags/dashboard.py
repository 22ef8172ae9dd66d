"""Template tags that put the builds app's live panels into other apps' pages.

The project pages include these instead of their views passing extra context: each tag
renders the same fragment template its polling URL answers with.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from builds import selectors
from builds.models import Build
from builds.views import deployments_context

register = template.Library()

BUILD_TONES = {
    Build.State.LIVE: "ok",
    Build.State.FAILED: "bad",
    Build.State.CANCELLED: "muted",
    Build.State.SUPERSEDED: "muted",
}


@register.simple_tag
def project_status(project) -> selectors.ProjectStatus:
    """`{% project_status project as status %}`: the project's state, label and tone."""
    return selectors.project_row(project).status


@register.inclusion_tag("builds/_overview.html")
def project_overview(projects) -> dict:
    """The live projects table of the home page."""
    return {"rows": selectors.overview_rows(projects)}


@register.inclusion_tag("builds/_deployments.html", takes_context=True)
def deployments_panel(context, project) -> dict:
    """Current deployment, Deploy/Redeploy, build history with Rollback and Cancel."""
    return {**deployments_context(project), "request": context.get("request")}


@register.inclusion_tag("builds/_detection.html", takes_context=True)
def detection_panel(context, project) -> dict:
    """The stored build plan (or an invitation to preview it) with its Dockerfile."""
    return {"project": project, "detection": selectors.stored_detection(project)}


@register.filter
def build_tone(build: Build) -> str:
    """The badge class of a build's state; the state is always named in text as well."""
    return BUILD_TONES.get(build.state, "info")


@register.filter
def state_label(state: str) -> str:
    """ "health_checking" -> "Health checking"."""
    try:
        return Build.State(state).label
    except ValueError:
        return state


@register.filter
def step_word(status: str) -> str:
    return selectors.STEP_WORDS.get(status, status)


@register.filter
def seconds(value) -> str:
    """4.25 -> "4.2 s", 75 -> "1 min 15 s"; empty for None."""
    if value is None or value == "":
        return ""
    value = float(value)
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


@register.filter
def stage_seconds(build: Build) -> list[tuple[str, float]]:
    """[(stage label, seconds)] in pipeline order, for the stages the build went through."""
    timings = build.stage_timings or {}
    return [
        (Build.State(name).label, timings[name].get("seconds"))
        for name in Build.STAGES
        if name in timings
    ]


@register.simple_tag
def log_line_divs(lines) -> SafeString:
    """One escaped <div> per (seq, text) line; Python rather than a template loop, as a poll
    may carry hundreds of lines to each of many followers."""
    return format_html_join(
        "\n",
        '<div class="log-line{}" data-seq="{}"><span class="seq" aria-hidden="true">{}</span>'
        '<span class="text">{}</span></div>',
        ((" stage-line" if text.startswith("==> ") else "", seq, seq, text) for seq, text in lines),
    )


@register.filter
def push_to_live_seconds(build: Build) -> float | None:
    """From the request to the build being live: what a user waits after a push."""
    if build.finished_at and build.created_at:
        return (build.finished_at - build.created_at).total_seconds()
    return None
