from __future__ import annotations

import pytest

from projects import services as project_services
from webhooks import services


@pytest.fixture
def project(user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git", branch="main"
    )


@pytest.fixture
def secret(project) -> str:
    return services.endpoint_for(project).decrypted_secret()


@pytest.fixture
def post_hook(client):
    """`post_hook(body, headers, slug="shop")`: POST to the webhook endpoint like a git host."""

    def post(body: bytes, headers: dict, slug: str = "shop"):
        return client.post(
            f"/hooks/{slug}/", data=body, content_type="application/json", headers=headers
        )

    return post
