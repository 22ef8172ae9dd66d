"""Project pages. Each view returns the whole page, or only its fragment when `request.htmx`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from builds import deletion
from builds import selectors as build_selectors
from builds.models import WorkerHeartbeat
from monitoring import selectors as monitoring_selectors
from monitoring.forms import NotificationSettingsForm
from projects import audit, crypto, paging, permissions, sections, services
from projects import selectors as project_selectors
from projects.forms import EnvImportForm, EnvVarForm, ProjectForm, attach_errors
from projects.models import EnvVar, Project
from webhooks import selectors as webhook_selectors

logger = logging.getLogger(__name__)


@login_required
@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    projects = Project.objects.visible_to(request.user).listed().select_related("owner")
    page = paging.page_of(projects, request)
    context = {
        "rows": build_selectors.overview_rows(page.object_list),
        "page": page,
        "workers": WorkerHeartbeat.objects.all()[:5],
    }
    return render(request, "projects/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("repo_url")
def project_create(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(request.user, **form.service_arguments())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, f"Project {project.slug} created.")
            return redirect(project)
    return render(request, "projects/form.html", {"form": form})


@never_cache
@login_required
@require_GET
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The overview: state, addresses, live build, health, recent events and Deploy. With
    htmx, only its card, which polls here while visible."""
    project = permissions.project_for(request.user, slug)
    context = {
        **project_selectors.overview(project),
        "may": permissions.allowed(request.user, project),
    }
    if request.htmx:
        return render(request, "projects/_overview.html", {**context, "oob_state": True})
    context.update(sections.frame(request, project, "overview", status=context["row"].status))
    return render(request, "projects/overview.html", context)


@login_required
@require_GET
def project_environment(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug)
    return _environment_page(request, project)


@login_required
@require_GET
def project_activity(request: HttpRequest, slug: str) -> HttpResponse:
    """Who changed what, newest first; read only (staff see every project's in the admin)."""
    project = permissions.project_for(request.user, slug)
    context = {"entries": audit.recent(project), **sections.frame(request, project, "activity")}
    return render(request, "projects/activity.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("repo_url")
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The settings section: repository and build settings (a form), deploy key, detection,
    push webhooks, notifications and, last, deletion."""
    project = permissions.project_for(request.user, slug)
    may = permissions.allowed(request.user, project)
    if request.method == "POST":
        permissions.require(request.user, project, "settings.build")
    form = ProjectForm(
        request.POST or None,
        instance=project,
        owner_fields=may["credentials"],
        read_only=not may["settings_build"],
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_project(project, actor=request.user, **form.service_arguments())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, "Project saved.")
            return redirect("projects:settings", slug=project.slug)
    # Read the project again: an invalid form has changed the instance it was given.
    saved = Project.objects.get(pk=project.pk)
    notifications = monitoring_selectors.notifications(saved, with_secret=may["notifications"])
    context = {
        **sections.frame(request, saved, "settings"),
        "form": form,
        "project": saved,
        "may": may,
        "memberships": saved.memberships.select_related("user").order_by("user__username"),
        "detection": build_selectors.stored_detection(saved),
        "webhook": webhook_selectors.setup(request, saved, with_secret=may["webhooks_secret"]),
        **notifications,
        "notification_form": NotificationSettingsForm.for_settings(notifications["prefs"]),
    }
    return render(request, "projects/settings.html", context)


@login_required
@require_POST
def deploy_key_regenerate(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "deploy_key")
    services.regenerate_deploy_key(project, actor=request.user)
    logger.info("%s replaced the deploy key of project %s", request.user, project.slug)
    messages.success(request, "A new deploy key was created: add it to the git host.")
    return redirect(f"{reverse('projects:settings', args=[project.slug])}#deploy-key")


@login_required
@require_http_methods(["GET", "POST"])
def project_delete(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "delete")
    if request.method == "POST":
        deletion.request_deletion(project, actor=request.user)
        logger.info("%s asked to delete project %s", request.user, project.slug)
        messages.success(
            request,
            f"Project {slug} is being deleted: the worker stops and removes its containers, "
            "images and volumes, then the project.",
        )
        return redirect("projects:list")
    context = sections.frame(request, project, "settings")
    return render(request, "projects/delete.html", {**context, "project": project})


# Environment variables ------------------------------------------------------------------------


@dataclass
class EnvRow:
    """One variable as the page shows it: masked, revealed, or as an edit form."""

    env_var: EnvVar
    form: EnvVarForm | None = None
    revealed_value: str | None = None
    problem: str = ""


@login_required
@require_POST
@sensitive_post_parameters("value", "preview_value")
def env_var_add(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "env.write")
    form = EnvVarForm(request.POST, auto_id="env-add-%s")
    if form.is_valid():
        try:
            env_var = services.add_env_var(project, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            if request.htmx:
                # A fresh form in place of the submitted one, and the new row appended out of band.
                context = {"project": project, "form": _add_form(autofocus=True)}
                context["added_row"] = EnvRow(env_var)
                context["may"] = permissions.allowed(request.user, project)
                return render(request, "projects/_env_var_added.html", context)
            messages.success(request, f"{env_var.key} added.")
            return _to_environment(project)
    if request.htmx:
        return render(request, "projects/_env_var_add.html", {"project": project, "form": form})
    return _environment_page(request, project, add_form=form)


@login_required
@require_GET
def env_var_row(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = permissions.project_for(request.user, slug)
    env_var = get_object_or_404(project.env_vars, pk=pk)
    if request.htmx:
        return _row(request, EnvRow(env_var))
    return _to_environment(project)


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("value", "preview_value")
def env_var_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "env.write")
    env_var = get_object_or_404(project.env_vars, pk=pk)
    initial = {
        "key": env_var.key,
        "available_at_build": env_var.available_at_build,
        "production_only": env_var.production_only,
    }
    form = EnvVarForm(request.POST or None, initial=initial, editing=True, auto_id=f"env-{pk}-%s")
    if request.method == "POST" and form.is_valid():
        try:
            services.update_env_var(
                env_var,
                key=form.cleaned_data["key"],
                value=form.cleaned_data["value"] or None,
                available_at_build=form.cleaned_data["available_at_build"],
                production_only=form.cleaned_data["production_only"],
                preview_value=""
                if form.cleaned_data["same_in_previews"]
                else form.cleaned_data["preview_value"] or None,
                actor=request.user,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
            env_var.refresh_from_db()
        else:
            if request.htmx:
                return _row(request, EnvRow(env_var))
            messages.success(request, f"{env_var.key} saved.")
            return _to_environment(project)
    row = EnvRow(env_var, form=form)
    if request.htmx:
        return _row(request, row)
    return _environment_page(request, project, row=row)


@never_cache
@login_required
@require_POST
def env_var_reveal(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The one place a stored value is shown, on an explicit request for that one value."""
    project = permissions.project_for(request.user, slug, "env.reveal")
    env_var = get_object_or_404(project.env_vars, pk=pk)
    logger.info("%s revealed %s of project %s", request.user, env_var.key, project.slug)
    try:
        row = EnvRow(env_var, revealed_value=env_var.decrypted_value())
    except crypto.InvalidToken as exc:
        row = EnvRow(env_var, problem=str(exc))
    if request.htmx:
        return _row(request, row)
    return _environment_page(request, project, row=row)


@login_required
@require_POST
def env_var_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "env.write")
    env_var = get_object_or_404(project.env_vars, pk=pk)
    services.delete_env_var(env_var, actor=request.user)
    if request.htmx:
        return HttpResponse("")  # swapped with outerHTML: the row disappears
    messages.success(request, f"{env_var.key} deleted.")
    return _to_environment(project)


@login_required
@require_POST
@sensitive_post_parameters("env_file")
def env_import(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "env.write")
    form = EnvImportForm(request.POST)
    notice = ""
    if form.is_valid():
        try:
            result = services.import_env_file(
                project, form.cleaned_data["env_file"], actor=request.user
            )
        except ValidationError as exc:
            form.add_error("env_file", exc)
        else:
            notice = (
                f"Imported {len(result.created) + len(result.updated)} variables "
                f"({len(result.created)} new, {len(result.updated)} replaced)."
            )
            if not request.htmx:
                messages.success(request, notice)
                return _to_environment(project)
            form = EnvImportForm()
    may = permissions.allowed(request.user, project)
    context = _env_editor_context(project, may, import_form=form, import_notice=notice)
    if request.htmx:
        return render(request, "projects/_env_editor.html", context)
    return _environment_page(request, project, import_form=form)


def _add_form(*, autofocus: bool = False) -> EnvVarForm:
    form = EnvVarForm(auto_id="env-add-%s")
    if autofocus:
        form.fields["key"].widget.attrs["autofocus"] = True
    return form


def _row(request: HttpRequest, row: EnvRow) -> HttpResponse:
    project = row.env_var.project
    context = {"row": row, "project": project, "may": permissions.allowed(request.user, project)}
    return render(request, "projects/_env_var_row.html", context)


def _env_editor_context(
    project: Project,
    may: dict[str, bool],
    *,
    row: EnvRow | None = None,
    add_form: EnvVarForm | None = None,
    import_form: EnvImportForm | None = None,
    import_notice: str = "",
) -> dict:
    rows = [
        row if row and row.env_var.pk == env_var.pk else EnvRow(env_var)
        for env_var in project.env_vars.all()
    ]
    return {
        "project": project,
        "may": may,
        "rows": rows,
        "add_form": add_form or _add_form(),
        "import_form": import_form or EnvImportForm(),
        "import_notice": import_notice,
    }


def _to_environment(project: Project) -> HttpResponse:
    return redirect("projects:environment", slug=project.slug)


def _environment_page(request: HttpRequest, project: Project, **editor) -> HttpResponse:
    context = {**sections.frame(request, project, "environment")}
    context.update(
        _env_editor_context(project, permissions.allowed(request.user, project), **editor)
    )
    return render(request, "projects/environment.html", context)
