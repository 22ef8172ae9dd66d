"""Addresses that moved. Issue 29 put every part of a project under /projects/<slug>/<section>/;
the old ones answer a permanent redirect with the same arguments, so bookmarks still open and
a form or an htmx request posted to an old address reaches the new one (308 keeps the method
and the body; the view there checks the CSRF token as usual)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt


class HttpResponsePermanentRedirectKeepMethod(HttpResponsePermanentRedirect):
    status_code = 308


def moved(name: str):
    """A view that sends any request to the URL named `name`, with the same arguments."""

    @csrf_exempt  # it changes nothing; the view it leads to checks the token
    def redirect_view(request: HttpRequest, **kwargs) -> HttpResponse:
        target = reverse(name, kwargs=kwargs)
        if query := request.META.get("QUERY_STRING"):
            target = f"{target}?{query}"
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(target)
        return HttpResponsePermanentRedirectKeepMethod(target)

    return redirect_view


# Old address -> the name of the new one.
MOVED = {
    "builds/projects/<slug:slug>/deploy/": "builds:deploy",
    "builds/projects/<slug:slug>/deployments/": "builds:deployments",
    "builds/projects/<slug:slug>/runtime-logs/": "builds:runtime-logs",
    "builds/projects/<slug:slug>/detection/": "builds:detection",
    "builds/projects/<slug:slug>/detection/preview/": "builds:detection-preview",
    "projects/<slug:slug>/edit/": "projects:settings",
    "projects/<slug:slug>/delete/": "projects:delete",
    "projects/<slug:slug>/deploy-key/": "projects:deploy-key",
    "projects/<slug:slug>/env/": "projects:env-add",
    "projects/<slug:slug>/env/import/": "projects:env-import",
    "projects/<slug:slug>/env/<int:pk>/": "projects:env-row",
    "projects/<slug:slug>/env/<int:pk>/edit/": "projects:env-edit",
    "projects/<slug:slug>/env/<int:pk>/reveal/": "projects:env-reveal",
    "projects/<slug:slug>/env/<int:pk>/delete/": "projects:env-delete",
    "hooks/<slug:slug>/setup/": "webhooks:project",
    "hooks/<slug:slug>/setup/regenerate/": "webhooks:regenerate",
    "domains/<slug:slug>/": "routing:project",
    "domains/<slug:slug>/add/": "routing:add",
    "domains/<slug:slug>/<int:pk>/check/": "routing:check",
    "domains/<slug:slug>/<int:pk>/delete/": "routing:delete",
    "monitoring/<slug:slug>/health/": "monitoring:health",
    "monitoring/<slug:slug>/notifications/": "monitoring:notifications",
    "monitoring/<slug:slug>/notifications/regenerate/": "monitoring:regenerate-secret",
    "monitoring/<slug:slug>/notifications/test/": "monitoring:test-notification",
    "addons/<slug:slug>/": "addons:list",
    "addons/<slug:slug>/create/": "addons:create",
    "addons/<slug:slug>/<int:pk>/remove/": "addons:remove",
}

urlpatterns = [path(old, moved(name)) for old, name in MOVED.items()]
