from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from builds.models import WorkerHeartbeat


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    workers = WorkerHeartbeat.objects.all()[:5]
    return render(request, "projects/list.html", {"workers": workers})
