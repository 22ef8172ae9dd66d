"""Sign-in throttling (django-axes) on the dashboard's login page and the admin's."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _throttling(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3


def _sign_in(client, password, url=LOGIN, username="ada", **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def _fail(client, times, **extra):
    return [_sign_in(client, "wrong", **extra).status_code for _ in range(times)]


def test_wrong_passwords_below_the_limit_show_the_form_again(client, user):
    assert _fail(client, 2) == [200, 200]
    assert _sign_in(client, PASSWORD).status_code == 302


def test_the_limit_of_wrong_passwords_locks_the_user_out_with_429(client, user):
    statuses = _fail(client, 3)

    assert statuses == [200, 200, 429]
    page = _sign_in(client, "wrong")
    assert page.status_code == 429
    assert b"Sign-in locked" in page.content
    assert b"axes_reset_username ada" in page.content


def test_the_right_password_is_refused_while_locked(client, user):
    _fail(client, 3)

    response = _sign_in(client, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_is_for_that_address_only(client, user):
    _fail(client, 3, REMOTE_ADDR="198.51.100.7")

    response = _sign_in(client, PASSWORD, REMOTE_ADDR="192.0.2.10")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_forged_x_forwarded_for_does_not_escape_the_lock_without_a_proxy(client, user, settings):
    settings.DEPLOYER_BEHIND_PROXY = False
    for n in range(3):
        _sign_in(client, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    response = _sign_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert response.status_code == 429


def test_behind_the_proxy_each_client_address_is_locked_on_its_own(client, user, settings):
    settings.DEPLOYER_BEHIND_PROXY = True
    _fail(client, 3, HTTP_X_FORWARDED_FOR="203.0.113.1")

    assert _sign_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
    assert _sign_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 302


def test_axes_reset_lifts_the_lock(client, user):
    _fail(client, 3)
    assert AccessAttempt.objects.filter(username="ada").exists()

    call_command("axes_reset")

    assert _sign_in(client, PASSWORD).status_code == 302


def test_axes_reset_username_lifts_that_users_lock(client, user):
    _fail(client, 3)

    call_command("axes_reset_username", "ada")

    assert _sign_in(client, PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(client, user, settings):
    _fail(client, 3)
    AccessAttempt.objects.filter(username="ada").update(
        attempt_time=AccessAttempt.objects.get(username="ada").attempt_time
        - settings.AXES_COOLOFF_TIME
        - settings.AXES_COOLOFF_TIME
    )

    assert _sign_in(client, PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_count(client, user):
    _fail(client, 2)
    assert _sign_in(client, PASSWORD).status_code == 302
    client.logout()

    assert _fail(client, 2) == [200, 200]
    assert _sign_in(client, PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(client, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)

    statuses = [
        _sign_in(client, "wrong", url=ADMIN_LOGIN, username="root").status_code for _ in range(3)
    ]

    assert statuses == [200, 200, 429]
    assert _sign_in(client, PASSWORD, url=ADMIN_LOGIN, username="root").status_code == 429


def test_force_login_still_signs_in_test_clients(auth_client):
    assert auth_client.get("/").status_code == 200


def test_operators_see_the_attempts_in_the_admin(client, user, django_user_model):
    _fail(client, 3)
    admin = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(admin)

    page = client.get("/admin/axes/accessattempt/")

    assert page.status_code == 200
    assert b"ada" in page.content


def test_client_login_needs_a_request_under_axes(client, user):
    # For test writers: axes must see a request; force_login, or pass one to client.login.
    from axes.exceptions import AxesBackendRequestParameterRequired
    from django.http import HttpRequest

    with pytest.raises(AxesBackendRequestParameterRequired):
        client.login(username="ada", password=PASSWORD)

    assert client.login(request=HttpRequest(), username="ada", password=PASSWORD) is True
