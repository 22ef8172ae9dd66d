"""`Authorization: Bearer <token>`: the request's `auth` is then the ApiToken."""

from __future__ import annotations

from ninja.security import HttpBearer

from api import tokens
from api.errors import ApiError
from api.models import ApiToken


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str) -> ApiToken:
        try:
            found = tokens.authenticate(token)
        except tokens.TokenError as exc:
            raise ApiError(401, "invalid_token", str(exc)) from None
        request.user = found.user  # services and selectors take the user, as from a page
        return found
