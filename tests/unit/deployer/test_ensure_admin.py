from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_admin_is_created_from_the_stored_hash_and_signs_in_with_the_printed_password(
    monkeypatch,
):
    monkeypatch.delenv("DEPLOYER_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("DEPLOYER_ADMIN_PASSWORD_HASH", make_password("printed once"))

    call_command("ensure_admin")

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("printed once")
