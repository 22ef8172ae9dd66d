from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from routing.validators import normalise_hostname, validate_custom_domain, validate_hostname


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("WWW.Example.COM", "www.example.com"),
        ("  shop.example.com.  ", "shop.example.com"),
        ("https://shop.example.com/", "shop.example.com"),
        ("http://shop.example.com/path?q=1", "shop.example.com"),
    ],
)
def test_hostname_is_normalised_as_people_paste_it(typed, stored):
    assert normalise_hostname(typed) == stored


@pytest.mark.parametrize(
    "hostname",
    [
        "example.com",
        "www.example.com",
        "a-b.c-d.example.co.uk",
        "xn--bcher-kva.example",
        "x.localhost",
    ],
)
def test_valid_hostnames_pass(hostname):
    validate_hostname(hostname)


@pytest.mark.parametrize(
    ("hostname", "code"),
    [
        ("", "required"),
        ("localhost", "invalid_hostname"),
        ("example", "invalid_hostname"),
        ("-bad.example.com", "invalid_hostname"),
        ("bad-.example.com", "invalid_hostname"),
        ("under_score.example.com", "invalid_hostname"),
        ("*.example.com", "invalid_hostname"),
        ("example.com:8080", "invalid_hostname"),
        ("two..dots.com", "invalid_hostname"),
        ("a" * 64 + ".example.com", "invalid_hostname"),
        (("a" * 60 + ".") * 5 + "com", "invalid_hostname"),
        ("10.0.0.1", "ip_address"),
        ("[::1]", "ip_address"),
        ("example.123", "invalid_hostname"),
        ("bücher.example", "not_ascii"),
        ("white space.com", "invalid_hostname"),
    ],
)
def test_invalid_hostnames_are_refused_with_a_reason(hostname, code):
    with pytest.raises(ValidationError) as caught:
        validate_hostname(hostname)

    assert caught.value.code == code


def test_a_project_may_not_claim_another_projects_address(settings):
    settings.DEPLOYER_BASE_DOMAIN = "apps.example.net"

    for hostname in ("blog.apps.example.net", "www.blog.apps.example.net", "apps.example.net"):
        with pytest.raises(ValidationError) as caught:
            validate_custom_domain(hostname, "shop")
        assert caught.value.code == "reserved"


def test_a_project_may_add_names_under_its_own_address(settings):
    settings.DEPLOYER_BASE_DOMAIN = "apps.example.net"

    validate_custom_domain("www.shop.apps.example.net", "shop")
    with pytest.raises(ValidationError) as caught:
        validate_custom_domain("shop.apps.example.net", "shop")
    assert caught.value.code == "own_address"


def test_the_dashboards_host_cannot_be_claimed(settings):
    settings.DEPLOYER_DASHBOARD_HOST = "deploy.example.net"

    with pytest.raises(ValidationError) as caught:
        validate_custom_domain("deploy.example.net", "shop")

    assert caught.value.code == "reserved"


def test_the_dashboards_allowed_hosts_cannot_be_claimed(settings):
    settings.DEPLOYER_DASHBOARD_HOST = ""
    settings.ALLOWED_HOSTS = ["deployer.example.org", ".ops.example.org", "*"]

    for hostname in ("deployer.example.org", "ops.example.org", "x.ops.example.org"):
        with pytest.raises(ValidationError) as caught:
            validate_custom_domain(hostname, "shop")
        assert caught.value.code == "reserved"
        assert caught.value.messages == [
            f"{hostname} is the dashboard's own address (DEPLOYER_DASHBOARD_HOST / ALLOWED_HOSTS); "
            "a project cannot claim it."
        ]
    validate_custom_domain("www.example.org", "shop")  # "*" reserves no name of its own
