"""A project's addresses and custom domains: the fragment when `request.htmx`, else a page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from projects import permissions, sections
from projects.models import Project
from routing import selectors, services
from routing.forms import DomainForm


@login_required
@require_GET
def project_domains(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug)
    return _render(request, project, DomainForm())


@login_required
@require_POST
def domain_add(request: HttpRequest, slug: str) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "domains")
    form = DomainForm(request.POST)
    if form.is_valid():
        try:
            domain = services.add_domain(project, form.cleaned_data["hostname"], actor=request.user)
        except ValidationError as exc:
            for message in exc.message_dict.get("hostname", exc.messages):
                form.add_error("hostname", message)
        else:
            if domain.verified:
                return _done(request, project, f"{domain.hostname} now leads to {project.slug}.")
            return _done(
                request,
                project,
                f"{domain.hostname} added, pending: prove it is yours (below) and it is routed.",
            )
    return _render(request, project, form)


@login_required
@require_POST
def domain_check(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Try the chosen proof now; the page says verified, or why not (never what was fetched)."""
    project = permissions.project_for(request.user, slug, "domains")
    domain = get_object_or_404(project.domains.select_related("project"), pk=pk)
    method = request.POST.get("method")
    result = services.check_domain(domain, method)
    if result.ok:
        return _done(request, project, f"{domain.hostname} is verified and now leads to {slug}.")
    return _done(
        request, project, f"{domain.hostname} is not verified yet: {result.reason}", ok=False
    )


@login_required
@require_POST
def domain_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project = permissions.project_for(request.user, slug, "domains")
    domain = get_object_or_404(project.domains, pk=pk)
    services.remove_domain(domain, actor=request.user)
    return _done(request, project, f"{domain.hostname} removed.")


def _done(request: HttpRequest, project: Project, message: str, *, ok: bool = True) -> HttpResponse:
    if request.htmx:
        return _render(request, project, DomainForm(), notice=message)
    (messages.success if ok else messages.warning)(request, message)
    return redirect("routing:project", slug=project.slug)


def _render(
    request: HttpRequest, project: Project, form: DomainForm, *, notice: str = ""
) -> HttpResponse:
    context = {**selectors.domains_panel(project), "form": form, "notice": notice}
    context["may"] = permissions.allowed(request.user, project)
    context.update(sections.frame(request, project, "domains"))
    template = "routing/_project_domains.html" if request.htmx else "routing/project_domains.html"
    return render(request, template, context)
