"""A Redis add-on's row, the variable it gives (renamable), its key-count check and the
health record that announces a change once."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from addons import health, kinds, rdb, services
from addons.models import AddOn
from monitoring.models import HealthEvent
from projects import services as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user):
    return project_services.create_project(
        user, slug="shop-1", repo_url="https://example.com/a.git"
    )


def test_a_redis_add_on_gives_only_redis_url_with_its_password(project):
    addon = services.create_addon(project, "redis")

    given = services.environment(project, ["DB_NAME", "DATABASE_URL"], set())

    assert addon.image == "redis:7.0" and addon.container_name == "deployer-shop-1-redis"
    secret = quote(addon.password(), safe="")
    assert given == {"REDIS_URL": f"redis://:{secret}@deployer-shop-1-redis:6379/0"}


def test_the_url_variable_can_be_renamed_and_the_projects_own_value_still_wins(project):
    redis = services.create_addon(project, "redis")
    postgres = services.create_addon(project, "postgres")

    services.set_variable(redis, "CACHE_URL")
    services.set_variable(postgres, "PRIMARY_DB")
    given = services.environment(project, [], {"PGHOST"})

    assert "CACHE_URL" in given and "REDIS_URL" not in given
    assert given["PRIMARY_DB"].startswith("postgres://app:") and "DATABASE_URL" not in given
    assert "PGHOST" not in given and "PGUSER" in given
    services.set_variable(redis, "REDIS_URL")
    assert redis.variable == "" and redis.url_variable == "REDIS_URL"


@pytest.mark.parametrize("name", ["1URL", "CACHE-URL", "with space", "x" * 101])
def test_a_bad_variable_name_is_refused_and_the_old_one_kept(project, name):
    addon = services.create_addon(project, "redis")

    with pytest.raises(ValidationError):
        services.set_variable(addon, name)
    assert AddOn.objects.get(pk=addon.pk).url_variable == "REDIS_URL"


def test_an_unknown_kind_is_a_clear_error(project):
    with pytest.raises(services.AddOnError, match="Deployer offers: postgres, redis"):
        services.create_addon(project, "memcached")


def test_the_redis_server_reads_its_password_from_the_environment_not_its_command():
    command = kinds.server_command("redis")
    environment = kinds.container_environment("redis", user="", database="", password="s3cret")

    assert "s3cret" not in " ".join(command) and '"$REDIS_PASSWORD"' in command[-1]
    assert environment == {"REDIS_PASSWORD": "s3cret", "REDISCLI_AUTH": "s3cret"}
    assert "--appendonly no" in command[-1] and kinds.server_command("postgres") is None


def test_a_copy_matches_when_its_keys_lie_between_the_counts_before_and_after():
    assert rdb.matches({"db0": 5}, {"db0": 5}, {"db0": 5}) == ""
    assert rdb.matches({"db0": 6}, {"db0": 5}, {"db0": 7}) == ""
    assert rdb.matches({}, {}, {}) == ""
    assert "db0 has 4 keys" in rdb.matches({"db0": 4}, {"db0": 5}, {"db0": 5})
    assert "db1 has 0 keys" in rdb.matches({"db0": 5}, {"db0": 5, "db1": 2}, {"db0": 5, "db1": 2})


def test_health_is_announced_when_it_goes_down_and_comes_back_once_each(project):
    addon = services.create_addon(project, "redis")
    now = timezone.now()

    assert health.record(addon, AddOn.Health.UP, "", now) is None  # first sight, up: no news
    addon.refresh_from_db()
    down = health.record(addon, AddOn.Health.DOWN, "Its container is exited.", now)
    addon.refresh_from_db()
    again = health.record(addon, AddOn.Health.DOWN, "Its container is exited.", now)
    addon.refresh_from_db()
    back = health.record(addon, AddOn.Health.UP, "", now)

    assert down.kind == HealthEvent.Kind.ALERT and "Redis add-on" in down.reason
    assert again is None
    assert back.kind == HealthEvent.Kind.ALERT_ENDED
    assert HealthEvent.objects.filter(project=project).count() == 2


def test_a_stale_health_row_does_not_announce_twice(project):
    addon = services.create_addon(project, "redis")
    stale = AddOn.objects.get(pk=addon.pk)
    now = timezone.now()

    assert health.record(addon, AddOn.Health.DOWN, "x", now) is not None
    assert health.record(stale, AddOn.Health.DOWN, "x", now) is None  # claimed already
