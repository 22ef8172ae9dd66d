"""Long lists of projects come a page at a time, so a page's size and time stay flat.

The projects list, the overview fragment it polls and the ship report show
PROJECTS_PER_PAGE projects in slug order; `?page=<n>` picks the page (out of range: the
last one), and the fragment's poll keeps asking for the page it shows.
"""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PROJECTS_PER_PAGE = 50


def page_of(projects, request: HttpRequest) -> Page:
    """The page of `projects` (a queryset in display order) that `?page=` asks for."""
    return Paginator(projects, PROJECTS_PER_PAGE).get_page(request.GET.get("page"))
