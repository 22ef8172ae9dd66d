"""Build and deployment pages. Each view returns the whole page, or its fragment when `request.htmx`.

Live parts poll: the build log with a cursor (a sentinel element asks for the lines after
the last one it has, `?after=<seq>`), the status areas every few seconds while visible.
No request is held open, so a gunicorn thread is never tied to a viewer.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from builds import (
    logaccess,
    logfollow,
    logtail,
    preview,
    runtime_output,
    selectors,
    services,
    tasks,
)
from builds.models import Build
from builds.pipeline.sha import is_sha
from projects import paging, permissions, sections
from projects.models import Project

# A build's page shows at most this many of its last lines (a log holds up to
# DEPLOYER_BUILD_LOG_MAX_LINES): the page's size stays bounded, the download has them all.
BUILD_PAGE_LINES = 1000


def _get_build_for_user(request: HttpRequest, pk: int) -> Build:
    """The build if the user may see its project; 404 otherwise."""
    visible = Build.objects.filter(project__in=Project.objects.visible_to(request.user))
    return get_object_or_404(visible.select_related("project"), pk=pk)


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """Go to `url`: a normal redirect, or for HTMX a full-page client redirect."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _next_or(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


# Overview -------------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """The projects table of the home page, which polls this URL to keep its states current."""
    if not request.htmx:
        return redirect("projects:list")
    page = paging.page_of(Project.objects.visible_to(request.user).listed(), request)
    context = {"rows": selectors.overview_rows(page.object_list), "page": page}
    return render(request, "builds/_overview.html", context)


# Project page ---------------------------------------------------------------------------------


@login_required
@require_GET
def ship_report(request: HttpRequest) -> HttpResponse:
    """Every visible project's recent live builds side by side: which ships faster, at what cost."""
    page = paging.page_of(
        Project.objects.visible_to(request.user).listed().order_by("slug"), request
    )
    context = {"rows": selectors.ship_rows(page.object_list), "page": page}
    return render(request, "builds/ship_report.html", context)


@never_cache
@login_required
@require_GET
def project_deployments(request: HttpRequest, slug: str) -> HttpResponse:
    """The deployments section: the live deployment, Deploy, and the builds with their
    actions. The fragment polls here while visible and refreshes the heading's state too."""
    project = permissions.project_for(request.user, slug)
    context = selectors.deployments_panel(project)
    context["may"] = permissions.allowed(request.user, project)
    if request.htmx:
        return render(request, "builds/_deployments.html", {**context, "oob_state": True})
    context.update(sections.frame(request, project, "deployments", status=context["row"].status))
    return render(request, "builds/deployments.html", context)


@login_required
@require_POST
def deploy(request: HttpRequest, slug: str) -> HttpResponse:
    """Build the branch's newest commit, or with `commit` (Redeploy) that exact commit again."""
    project = permissions.project_for(request.user, slug, "deploy")
    commit = request.POST.get("commit", "").strip()
    if commit and not is_sha(commit):
        messages.error(request, "That is not a full commit id; deploy the branch instead.")
        return _redirect(request, project.get_absolute_url())
    try:
        build = services.request_build(
            project,
            commit_sha=commit,
            triggered_by=request.user,
            detail=f"redeploy of {commit[:12]}" if commit else "",
        )
    except services.BuildRequestError as exc:
        messages.error(request, str(exc))
        return _redirect(request, project.get_absolute_url())
    messages.success(request, f"Build #{build.pk} queued.")
    return _redirect(request, reverse("builds:detail", args=[build.pk]))


@login_required
@require_POST
def rollback(request: HttpRequest, pk: int) -> HttpResponse:
    target = _get_build_for_user(request, pk)
    project = target.project
    permissions.require(request.user, project, "rollback")
    try:
        build = services.request_rollback(project, target, triggered_by=request.user)
    except services.BuildRequestError as exc:
        messages.error(request, str(exc))
        return _redirect(request, project.get_absolute_url())
    messages.success(request, f"Rolling back to build #{target.pk}: build #{build.pk} queued.")
    return _redirect(request, reverse("builds:detail", args=[build.pk]))


@login_required
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    build = _get_build_for_user(request, pk)
    permissions.require(request.user, build.project, "cancel")
    if services.cancel_build(
        build, reason=f"Cancelled by {request.user.get_username()}.", actor=request.user
    ):
        notice = f"Build #{build.pk} is being cancelled."
    else:
        notice = f"Build #{build.pk} had already ended."
    if request.htmx:
        build.refresh_from_db()
        context = _status_context(build, notice, request.user)
        return render(request, "builds/_build_status.html", context)
    messages.info(request, notice)
    return redirect(_next_or(request, reverse("builds:detail", args=[build.pk])))


@never_cache
@login_required
@require_GET
def runtime_logs(request: HttpRequest, slug: str) -> HttpResponse:
    """The logs section: the live container's last lines, filtered by `q` (text) and `window`
    (5m, 15m, 1h, 6h, 24h); with `after` (a cursor) only the lines since, for the follower."""
    project = permissions.project_for(request.user, slug)
    query, window = request.GET.get("q", "").strip(), request.GET.get("window", "")
    after = request.GET.get("after", "")
    try:
        out = runtime_output.output(
            project, after=after, container=request.GET.get("c", ""), query=query, window=window
        )
    except runtime_output.BadRequest as exc:
        return render(
            request,
            "builds/runtime_logs.html",
            {
                "project": project,
                "problem": str(exc),
                "query": query[:200],
                "windows": runtime_output.WINDOWS,
                **sections.frame(request, project, "logs"),
            },
            status=400,
        )
    context = {
        "project": project,
        "out": out,
        "query": query,
        "window": window,
        "windows": runtime_output.WINDOWS,
        "follow": urlencode({"q": query, "c": out.live.container_id[:12] if out.live else ""}),
        "download_lines": settings.DEPLOYER_RUNTIME_LOG_DOWNLOAD_LINES,
    }
    if after:
        return render(request, "builds/_runtime_lines.html", context)
    if request.htmx:
        return render(request, "builds/_runtime_logs.html", context)
    context.update(sections.frame(request, project, "logs"))
    return render(request, "builds/runtime_logs.html", context)


@login_required
@require_GET
def runtime_logs_text(request: HttpRequest, slug: str) -> HttpResponse:
    """The live container's last `lines` lines as a text file, redacted."""
    project = permissions.project_for(request.user, slug)
    try:
        count = int(request.GET.get("lines", "1000"))
        live, lines = runtime_output.download(project, count)
    except ValueError as exc:  # BadRequest too
        message = str(exc) if isinstance(exc, runtime_output.BadRequest) else "Lines: a number."
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(
        "".join(f"{line}\n" for line in lines), content_type="text/plain; charset=utf-8"
    )
    filename = f"{project.slug}-build-{live.build_id}-output.log"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@login_required
@require_GET
def detection(request: HttpRequest, slug: str) -> HttpResponse:
    """The build plan: the stored one of the newest build, or with `?preview=<id>` a preview.

    A preview being made answers "preparing" and, in HTMX, asks again every few seconds.
    """
    project = permissions.project_for(request.user, slug)
    preview_id = request.GET.get("preview", "")
    if preview_id:
        if not preview_id.isdigit():
            raise Http404("No such preview.")
        row = get_object_or_404(project.detection_previews, pk=int(preview_id))
        result = preview.detection_of(row)
    else:
        result = selectors.stored_detection(project)
    return _render_detection(request, project, result)


@login_required
@require_POST
def detection_preview(request: HttpRequest, slug: str) -> HttpResponse:
    """Ask a worker for a preview of the branch; the page then follows it (no clone here)."""
    project = permissions.project_for(request.user, slug, "detection.preview")
    row, created = preview.request_preview(project)
    if created:
        transaction.on_commit(lambda: tasks.preview_detection.delay(row.pk))
    if not request.htmx:
        return redirect(f"{reverse('builds:detection', args=[project.slug])}?preview={row.pk}")
    return _render_detection(request, project, preview.detection_of(row))


def _render_detection(
    request: HttpRequest, project: Project, result: selectors.Detection | None
) -> HttpResponse:
    context = {"project": project, "detection": result, "poll_seconds": preview.POLL_SECONDS}
    context["may"] = permissions.allowed(request.user, project)
    context.update(sections.frame(request, project, "settings"))
    template = "builds/_detection.html" if request.htmx else "builds/detection.html"
    return render(request, template, context)


# Build page -----------------------------------------------------------------------------------


def _status_context(build: Build, notice: str, user) -> dict:
    return {
        "may": permissions.allowed(user, build.project),
        "build": build,
        "steps": selectors.build_steps(build),
        "settled": selectors.log_settled(build),
        "notice": notice,
        "can_roll_back": build.pk
        in selectors.rollback_targets(build.project, services.live_deployment(build.project)),
    }


@never_cache
@login_required
@require_GET
def build_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The build page; with HTMX, only its status area, which polls here while the build runs."""
    build = _get_build_for_user(request, pk)
    context = _status_context(build, "", request.user)
    if request.htmx:
        return render(request, "builds/_build_status.html", context)
    # The page carries the log's last BUILD_PAGE_LINES lines; the whole of it is a download.
    first = max(build.log_line_count - BUILD_PAGE_LINES, 0)
    lines = logtail.read(build.pk, first, BUILD_PAGE_LINES)
    context["lines"] = lines
    context["log_html"] = logfollow.fragment(
        build, lines, 0, full=False, poll_ms=settings.DEPLOYER_LOG_POLL_MS
    )
    context["earlier_lines"] = lines[0][0] - 1 if lines else 0
    context["detection"] = selectors.build_detection(build)
    return render(request, "builds/detail.html", context)


@never_cache
@require_GET
def log_lines(request: HttpRequest, pk: int) -> HttpResponse:
    """The lines after `?after=<seq>` and, while more can come, a sentinel to fetch the next ones.

    The hot path of the dashboard (every follower, four times a second). A session this
    process has seen following is checked with the build in one query (builds/logaccess.py);
    otherwise the whole way, as login_required and projects.permissions do. builds/logfollow.py
    reads the lines only when some are new and writes the answer without a template.
    """
    build = logaccess.build_for_session(request, pk)
    if build is None:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        build = logfollow.build_to_follow(request.user, pk)
        if build is None:
            raise Http404("No such build.")
        logaccess.remember(request)
    try:
        after = max(int(request.GET.get("after", "0")), 0)
    except ValueError:
        after = 0
    lines = logfollow.new_lines(build, after)
    full = len(lines) == logfollow.LOG_BATCH
    html = logfollow.fragment(build, lines, after, full=full, poll_ms=settings.DEPLOYER_LOG_POLL_MS)
    return HttpResponse(html)


@login_required
@require_GET
def log_text(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The whole stored log as a text file (secrets were redacted when it was written)."""
    build = _get_build_for_user(request, pk)
    texts = build.log_lines.order_by("seq").values_list("text", flat=True).iterator(2000)
    response = StreamingHttpResponse(
        (f"{text}\n" for text in texts), content_type="text/plain; charset=utf-8"
    )
    filename = f"{build.project.slug}-build-{build.pk}.log"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
