"""Which builds use the shared package cache (the decision only; the engine part is in
tests/integration/test_package_cache.py)."""

from __future__ import annotations

import pytest

from builds import package_cache
from builds.installation import installation_id
from builds.pipeline.detection.installer import UV_INSTALL
from builds.pipeline.plan import Plan


class NoEngine:
    """A build that bypasses the cache never touches the engine for it."""

    def __getattr__(self, name):
        raise AssertionError(f"the engine was used ({name})")


def uv_plan(**changes) -> Plan:
    return Plan(installer="uv", install_steps=[f"{UV_INSTALL} -r requirements.txt"], **changes)


@pytest.fixture(autouse=True)
def installation(settings):
    settings.DEPLOYER_INSTALLATION_ID = "unit"
    settings.DEPLOYER_PACKAGE_CACHE = True


def test_a_private_index_bypasses_the_cache_and_says_so():
    logged: list[str] = []

    use = package_cache.for_build(NoEngine(), uv_plan(public_pypi=False), {}, logged.append)

    assert use == package_cache.CacheUse()
    assert "not used" in logged[0]


def test_build_arguments_bypass_the_cache_so_no_token_meets_it():
    use = package_cache.for_build(NoEngine(), uv_plan(), {"PIP_TOKEN": "s3cret"}, print)

    assert use == package_cache.CacheUse()


def test_pip_plans_and_the_setting_off_do_not_use_the_cache(settings):
    pip_plan = Plan(installer="pip", install_steps=["pip install --no-cache-dir -r r.txt"])
    assert package_cache.for_build(NoEngine(), pip_plan, {}, print) == package_cache.CacheUse()

    settings.DEPLOYER_PACKAGE_CACHE = False
    assert package_cache.for_build(NoEngine(), uv_plan(), {}, print) == package_cache.CacheUse()


def test_the_cache_is_named_apart_from_every_project_network():
    # Project networks are `deployer-<slug>`, and slugs have no dots.
    assert package_cache.name() == f"deployer.package-cache.{installation_id()}"
    assert package_cache.INDEX_URL == "http://package-cache:5000/index/"


def test_each_installation_gets_its_own_bridge_under_the_firewalled_prefix(settings):
    installation_id.cache_clear()
    first = package_cache.bridge()
    settings.DEPLOYER_INSTALLATION_ID = "another"
    installation_id.cache_clear()
    second = package_cache.bridge()
    installation_id.cache_clear()

    # Two installations on one engine: one bridge name each, or the second cannot start its
    # cache ("networks have same bridge name"); both under `dpl-` (the host's one rule).
    assert first != second
    assert first.startswith("dpl-") and second.startswith("dpl-")
    assert len(first) <= 15  # Linux interface names
