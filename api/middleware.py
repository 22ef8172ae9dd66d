"""A 405 under /api/ in the API's JSON error shape (django-ninja answers it in plain text)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse


class JsonMethodNotAllowed:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or not request.path.startswith("/api/"):
            return response
        message = f"{request.method} is not allowed here; use {response.get('Allow', 'another')}."
        body = {"error": {"code": "method_not_allowed", "message": message}}
        json = JsonResponse(body, status=405)
        json["Allow"] = response.get("Allow", "")
        return json
