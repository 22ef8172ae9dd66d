"""Admin changelists over tables that grow without bound (builds, log lines, checks, deliveries).

Django's changelist counts every matching row to number its pages; over millions of log
lines that count alone took longer than the rest of the page. A big table's admin counts
at most COUNT_CAP rows (pages past that are reached by filtering or searching) and shows
LIST_PER_PAGE rows, so its time stays flat however large the table gets.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000
LIST_PER_PAGE = 50


class CappedCountPaginator(Paginator):
    """A paginator that stops counting at COUNT_CAP: `SELECT COUNT(*) FROM (... LIMIT cap)`."""

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[:COUNT_CAP].count()


class BigTableAdmin(admin.ModelAdmin):
    """A ModelAdmin for an unbounded table: capped count, no full count, short pages."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    list_per_page = LIST_PER_PAGE
