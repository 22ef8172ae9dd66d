"""django-htmx's middleware, with one rule for the whole dashboard: a boosted link and a
history restore ask for the whole page.

Views answer `request.htmx` with their fragment. A boosted navigation (the project's section
nav) and htmx's reload of a page missing from its history cache also send `HX-Request`, yet
want what a plain link gets; here `request.htmx` is false for them (`boosted` and
`history_restore_request` still say what they are), so no view has to tell them apart.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers
from django_htmx import middleware

# The same URL answers a page or a fragment: caches and the back button must keep them apart.
VARY = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")


class HtmxDetails(middleware.HtmxDetails):
    def __bool__(self) -> bool:
        return super().__bool__() and not self.boosted and not self.history_restore_request


class HtmxMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
        response = self.get_response(request)
        patch_vary_headers(response, VARY)
        return response
