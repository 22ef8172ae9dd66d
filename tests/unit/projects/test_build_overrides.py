from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from projects import services

pytestmark = pytest.mark.django_db


def make(user, **fields):
    return services.create_project(user, slug="ovr", repo_url="https://example.com/a.git", **fields)


def test_build_overrides_are_stored(user):
    project = make(
        user,
        entrypoint="mysite.wsgi:application",
        python_version="3.13",
        requirements_file="requirements/prod.txt",
        system_packages="libpq-dev gcc",
    )

    project.refresh_from_db()
    assert (project.entrypoint, project.python_version) == ("mysite.wsgi:application", "3.13")
    assert project.system_packages.split() == ["libpq-dev", "gcc"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("entrypoint", "app; rm -rf /", "module:attribute"),
        ("python_version", "3.13.1", "major.minor"),
        ("python_version", "latest", "major.minor"),
        ("system_packages", "libpq-dev $(curl x)", "Not a Debian package name"),
        ("requirements_file", "../../etc/passwd", ""),
    ],
)
def test_hostile_build_overrides_are_refused(user, field, value, message):
    with pytest.raises(ValidationError) as refused:
        make(user, **{field: value})

    assert field in refused.value.message_dict
    assert message in " ".join(refused.value.message_dict[field])


def test_factory_entry_points_are_accepted(user):
    assert make(user, entrypoint="app:create_app()").entrypoint == "app:create_app()"
