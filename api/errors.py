"""Every API error is JSON: `{"error": {"code": "...", "message": "A sentence."}}`.

The code is stable (scripts match on it); the message is for people.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

logger = logging.getLogger(__name__)

CODE_BY_STATUS = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "rate_limited",
}


class ApiError(Exception):
    """Raised by endpoints and permission checks; answered as `status` with `code`."""

    def __init__(self, status: int, code: str, message: str, details: object = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, details=None
) -> HttpResponse:
    body: dict = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return api.create_response(request, body, status=status)


def _field(loc) -> str:
    """("body", "payload", "container_port") -> "container_port"; ("query", "after") -> "after"."""
    parts = [str(part) for part in loc]
    if parts[:1] == ["body"]:
        parts = parts[2:]
    elif parts[:1] in (["query"], ["path"]):
        parts = parts[1:]
    return ".".join(parts)


def install(api: NinjaAPI) -> None:
    """Replace django-ninja's default error bodies with ours."""

    @api.exception_handler(ApiError)
    def _api_error(request, exc: ApiError):
        response = error_response(api, request, exc.status, exc.code, exc.message, exc.details)
        if exc.status == 429 and isinstance(exc.details, dict):
            response["Retry-After"] = str(exc.details.get("retry_after", 60))
        return response

    @api.exception_handler(NinjaValidationError)
    def _invalid(request, exc: NinjaValidationError):
        details = [
            {
                "field": _field(error.get("loc", ())),
                "message": error.get("msg", ""),
            }
            for error in exc.errors
        ]
        sentence = "; ".join(f"{d['field'] or 'body'}: {d['message']}" for d in details)
        return error_response(api, request, 400, "invalid_input", sentence, details)

    @api.exception_handler(DjangoValidationError)
    def _rejected(request, exc: DjangoValidationError):
        if hasattr(exc, "error_dict"):
            details = [
                {"field": name, "message": message}
                for name, messages in exc.message_dict.items()
                for message in messages
            ]
        else:
            details = [{"field": "", "message": message} for message in exc.messages]
        sentence = " ".join(d["message"] for d in details)
        return error_response(api, request, 400, "invalid_input", sentence, details)

    @api.exception_handler(Throttled)
    def _throttled(request, exc: Throttled):
        response = error_response(api, request, 429, "rate_limited", exc.message)
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait))
        return response

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc: AuthenticationError):
        message = "Send a token as `Authorization: Bearer <token>`."
        response = error_response(api, request, 401, "not_authenticated", message)
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        code = CODE_BY_STATUS.get(exc.status_code, "error")
        message = exc.message
        if message == "Cannot parse request body":
            code, message = "malformed_json", "The request body is not valid JSON."
        return error_response(api, request, exc.status_code, code, message)

    @api.exception_handler(Http404)
    def _not_found(request, exc: Http404):
        return error_response(api, request, 404, "not_found", "No such object, or not yours.")

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc: PermissionDenied):
        return error_response(api, request, 403, "forbidden", str(exc) or "Not allowed.")
