from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
MARKER_BY_FOLDER = {"unit": "unit", "integration": "integration", "browser": "browser"}


def pytest_collection_modifyitems(config, items):
    """Mark every test by the folder it lives in, so `-m unit` / `-m integration` select them."""
    for item in items:
        relative = Path(item.fspath).relative_to(TESTS_DIR)
        marker = MARKER_BY_FOLDER.get(relative.parts[0])
        if marker:
            item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture(autouse=True, scope="session")
def _no_git_mirrors_left():
    """The run is an installation of its own (scripts/test.sh names it): its projects' git
    mirrors go with it."""
    yield
    from django.conf import settings

    if settings.DEPLOYER_INSTALLATION_ID:
        root = Path(settings.DEPLOYER_GIT_MIRROR_DIR) / settings.DEPLOYER_INSTALLATION_ID
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="ada", password="correct horse battery")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="grace", password="correct horse battery")


@pytest.fixture
def auth_client(client, user):
    client.force_login(user)
    return client
