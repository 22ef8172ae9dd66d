"""Formatting filters for the build pages: plain values in, text out. No queries here: the
views read what a page shows (builds.selectors) and templates include the fragments."""

from __future__ import annotations

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from builds.models import Build
from builds.selectors import STEP_WORDS

register = template.Library()

BUILD_TONES = {
    Build.State.LIVE: "ok",
    Build.State.FAILED: "bad",
    Build.State.CANCELLED: "muted",
    Build.State.SUPERSEDED: "muted",
}


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
    return STEP_WORDS.get(status, status)


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
def runtime_line_divs(lines) -> SafeString:
    """One escaped <div> per runtime output line, with its time of day (UTC) before it."""
    return format_html_join(
        "\n",
        '<div class="log-line" data-at="{}"><span class="seq" aria-hidden="true">{}</span>'
        '<span class="text">{}</span></div>',
        ((line.at, line.at[11:19], line.text) for line in lines),
    )


@register.filter
def push_to_live_seconds(build: Build) -> float | None:
    """From the request to the build being live: what a user waits after a push."""
    if build.finished_at and build.created_at:
        return (build.finished_at - build.created_at).total_seconds()
    return None
