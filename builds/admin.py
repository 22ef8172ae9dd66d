"""Operators' view of builds, deployments and logs: records to read, and the same actions as the pages.

Builds and deployments are written by the pipeline only, so every field is read-only here;
the actions call builds.services exactly as the web pages do.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from builds import services
from builds.models import Build, BuildLogLine, Deployment, WorkerHeartbeat
from deployer.adminlists import BigTableAdmin

LOG_TAIL = 200


@admin.register(Build)
class BuildAdmin(BigTableAdmin):
    list_display = [
        "id",
        "project",
        "state",
        "trigger",
        "short_sha",
        "triggered_by",
        "created_at",
        "seconds",
        "failure_stage",
    ]
    list_display_links = ["id", "project"]
    list_filter = ["state", "trigger"]  # the date hierarchy covers created_at
    search_fields = ["project__slug", "commit_sha", "commit_message", "failure_reason", "worker"]
    list_select_related = ["project", "triggered_by"]
    date_hierarchy = "created_at"
    readonly_fields = [*(field.name for field in Build._meta.fields), "page", "log_tail"]
    fieldsets = [
        (None, {"fields": ["page", "project", "state", "failure_stage", "failure_reason"]}),
        (
            "Request",
            {
                "fields": [
                    "trigger",
                    "triggered_by",
                    "trigger_detail",
                    "ref",
                    "commit_sha",
                    "commit_message",
                    "commit_author",
                    "rollback_of",
                    "cancel_requested",
                ]
            },
        ),
        (
            "Timing",
            {"fields": ["created_at", "started_at", "finished_at", "heartbeat_at", "worker"]},
        ),
        ("Image", {"fields": ["plan", "image_tag", "image_id"]}),
        (
            "Ship report",
            {
                "fields": [
                    "stage_timings",
                    "dependency_layer_cached",
                    "image_size",
                    "seconds_to_healthy",
                    "memory_usage_bytes",
                ]
            },
        ),
        ("Log", {"fields": ["log_line_count", "log_truncated", "log_complete", "log_tail"]}),
    ]
    actions = ["cancel", "redeploy"]

    def has_add_permission(self, request) -> bool:
        return False  # builds are requested with Deploy, a webhook or the `deploy` command

    @admin.display(description="seconds", ordering="finished_at")
    def seconds(self, build: Build) -> str:
        return f"{build.duration:.1f}" if build.duration is not None else "-"

    @admin.display(description="build page")
    def page(self, build: Build) -> str:
        url = reverse("builds:detail", args=[build.pk])
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description=f"last {LOG_TAIL} lines")
    def log_tail(self, build: Build) -> str:
        lines = list(build.log_lines.order_by("-seq").values_list("seq", "text")[:LOG_TAIL])
        if not lines:
            return "No log."
        body = format_html_join("\n", "{:>5}  {}", reversed(lines))
        url = reverse("builds:log-text", args=[build.pk])
        return format_html('<pre>{}</pre><a href="{}">Download the whole log</a>', body, url)

    @admin.action(description="Cancel the selected builds")
    def cancel(self, request, queryset: QuerySet[Build]) -> None:
        who = f"Cancelled by {request.user.get_username()} in the admin."
        cancelled = sum(
            services.cancel_build(build, reason=who, actor=request.user) for build in queryset
        )
        ended = queryset.count() - cancelled
        self.message_user(
            request,
            f"{cancelled} build(s) cancelled or asked to stop; {ended} had already ended.",
            messages.SUCCESS,
        )

    @admin.action(description="Redeploy the commits of the selected builds")
    def redeploy(self, request, queryset: QuerySet[Build]) -> None:
        queued = []
        for build in queryset.select_related("project"):
            try:
                new = services.request_build(
                    build.project,
                    commit_sha=build.commit_sha,
                    ref=build.ref,
                    triggered_by=request.user,
                    detail=f"redeploy of build #{build.pk} from the admin",
                )
            except services.BuildRequestError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            queued.append(f"#{new.pk}")
        self.message_user(request, f"Queued build(s) {', '.join(queued)}.", messages.SUCCESS)


@admin.register(Deployment)
class DeploymentAdmin(BigTableAdmin):
    list_display = [
        "id",
        "project",
        "build",
        "state",
        "host_port",
        "container_name",
        "live_at",
        "stopped_at",
    ]
    list_filter = ["state", "started_at"]
    search_fields = ["project__slug", "container_id", "container_name", "stop_reason"]
    list_select_related = ["project", "build"]
    readonly_fields = [field.name for field in Deployment._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # deployments are started by builds


class StageFilter(admin.SimpleListFilter):
    """The stages as the model names them: a filter over the field itself would run
    SELECT DISTINCT stage over every log line ever written to list them."""

    title = "stage"
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return [(stage, Build.State(stage).label) for stage in Build.STAGES]

    def queryset(self, request, queryset):
        return queryset.filter(stage=self.value()) if self.value() else queryset


@admin.register(BuildLogLine)
class BuildLogLineAdmin(BigTableAdmin):
    list_display = ["build", "seq", "stage", "time", "text"]
    list_filter = [StageFilter]
    search_fields = ["text", "build__project__slug"]
    list_select_related = ["build", "build__project"]
    readonly_fields = ["build", "seq", "stage", "time", "text"]
    # Newest builds' lines first, along the (build, seq) unique index: ordering by "build"
    # would follow Build's own ordering and sort every build on each page.
    ordering = ["-build_id", "-seq"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "docker_version", "docker_error", "seen_at"]
    readonly_fields = ["hostname", "docker_version", "docker_error", "seen_at"]
