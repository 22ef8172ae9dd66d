from __future__ import annotations

import pytest
from django.core.cache import cache

from api import tokens
from projects import services as project_services


@pytest.fixture(autouse=True)
def _fresh_write_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def project(user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git"
    )


@pytest.fixture
def make_token(user):
    """make_token(scope="admin", user=..., project=..., expires_at=...) -> the raw token."""

    def make(scope: str = "admin", *, owner=None, **extra) -> str:
        return tokens.create_token(owner or user, "ci", scope=scope, **extra)[1]

    return make


class Api:
    """The test client with a bearer token, speaking JSON."""

    def __init__(self, client, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def _send(self, method: str, path: str, body=None, raw: str | None = None):
        data = raw if raw is not None else body
        send = getattr(self.client, method)
        if data is None:  # no body at all, as `curl -X POST` sends
            return send(f"/api/v1{path}", "", content_type="application/json", headers=self.headers)
        return send(f"/api/v1{path}", data, content_type="application/json", headers=self.headers)

    def post(self, path: str, body=None, **kw):
        return self._send("post", path, body, **kw)

    def put(self, path: str, body=None, **kw):
        return self._send("put", path, body, **kw)

    def patch(self, path: str, body=None, **kw):
        return self._send("patch", path, body, **kw)

    def delete(self, path: str, **kw):
        return self._send("delete", path, **kw)


@pytest.fixture
def api(client, make_token):
    """An admin token of `user`."""
    return Api(client, make_token("admin"))


@pytest.fixture
def api_as(client, make_token):
    def make(scope: str = "admin", **extra) -> Api:
        return Api(client, make_token(scope, **extra))

    return make


@pytest.fixture
def anonymous(client):
    return Api(client, None)
