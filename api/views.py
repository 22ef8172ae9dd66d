"""Account → API tokens: create one (shown once), see when each was last used, revoke."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api import tokens
from api.expiry import parse_expiry
from api.forms import TokenForm

logger = logging.getLogger(__name__)


@never_cache
@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's tokens and, on POST, a new one shown on this page only."""
    form = TokenForm(request.POST or None, user=request.user)
    new_token = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        token, new_token = tokens.create_token(
            request.user,
            data["name"],
            scope=data["scope"],
            project=data["project"],
            expires_at=parse_expiry(data["expires"]),
        )
        logger.info("%s created API token %s (%s)", request.user, token.prefix, token.scope)
        form = TokenForm(user=request.user)
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": request.user.api_tokens.select_related("project"),
    }
    return render(request, "api/tokens.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(request.user.api_tokens, pk=pk)
    if tokens.revoke(token):
        logger.info("%s revoked API token %s", request.user, token.prefix)
        messages.success(request, f"Token {token.name} revoked: it no longer works.")
    return redirect("account:tokens")
