from __future__ import annotations

import pytest

from projects import services


@pytest.fixture
def project(user):
    return services.create_project(user, slug="shop", repo_url="https://example.com/acme/shop.git")


@pytest.fixture
def env_var(project):
    return services.add_env_var(project, "DATABASE_PASSWORD", "hunter2-plaintext-secret")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="root", password="correct horse battery", is_staff=True, is_superuser=True
    )
