"""The fence of app and release containers: host config, the user they run as, the runtime."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from builds import runner
from builds.pipeline import fence
from builds.pipeline.errors import StageError
from builds.pipeline.fence import Fence, cpu_limit, host_config
from builds.pipeline.plan import Plan

FENCE = Fence(network="deployer-shop", memory_mb=256, cpus=0.5, pids_limit=128)


def test_host_config_drops_every_capability_and_forbids_new_privileges():
    config = host_config(FENCE)

    assert config["cap_drop"] == ["ALL"]
    assert "cap_add" not in config
    assert config["security_opt"] == ["no-new-privileges:true"]


def test_host_config_limits_memory_without_swap_cpu_and_processes():
    config = host_config(FENCE)

    assert (config["mem_limit"], config["memswap_limit"]) == ("256m", "256m")
    assert config["nano_cpus"] == 500_000_000
    assert config["pids_limit"] == 128


def test_a_booting_web_container_has_no_cpu_quota_but_half_the_weight_until_it_answers():
    booting = host_config(FENCE, booting=True)

    assert "nano_cpus" not in booting and booting["cpu_shares"] == 512
    assert (booting["mem_limit"], booting["pids_limit"]) == ("256m", 128)  # the rest from the start
    assert cpu_limit(FENCE) == {"cpu_period": 100_000, "cpu_quota": 50_000, "cpu_shares": 1024}


def test_host_config_joins_the_project_network_and_rotates_logs():
    config = host_config(Fence(**{**FENCE.__dict__, "log_max_size": "5m", "log_max_files": 2}))

    assert config["network_mode"] == "deployer-shop"
    assert config["log_config"] == {
        "type": "json-file",
        "config": {"max-size": "5m", "max-file": "2"},
    }


def test_host_config_names_the_runtime_only_when_the_operator_chose_one():
    assert "runtime" not in host_config(FENCE)
    assert host_config(Fence(**{**FENCE.__dict__, "runtime": "runsc"}))["runtime"] == "runsc"


@pytest.mark.parametrize("user", ["", "root", "0", "0:0", "root:root", " 0:1000 "])
def test_root_users(user):
    assert fence.runs_as_root(user)


@pytest.mark.parametrize("user", ["app", "10001", "10001:10001", "nobody:nogroup"])
def test_other_users(user):
    assert not fence.runs_as_root(user)


def test_generated_image_runs_as_the_app_user():
    assert runner.run_as(Plan(kind="flask")) == ("10001:10001", (), "")


def test_own_image_with_a_user_keeps_it():
    assert runner.run_as(Plan(kind="dockerfile"), image_user="www") == (None, (), "")


def test_own_image_without_user_runs_as_the_app_user_and_says_which_setting_would_change_it():
    user, caps, note = runner.run_as(Plan(kind="dockerfile"), image_user="")

    assert (user, caps) == ("10001:10001", ())
    assert "uid 10001" in note and "sets no USER" in note and "run_as_root" in note


def test_own_image_that_asks_for_root_is_named_in_the_note():
    assert "sets USER root" in runner.run_as(Plan(kind="dockerfile"), image_user="root")[2]


def test_root_opt_in_keeps_root_with_only_the_privilege_dropping_capabilities():
    user, caps, note = runner.run_as(Plan(kind="dockerfile"), image_user="", allow_root=True)

    assert (user, note) == (None, "")
    assert set(caps) == {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}
    assert "NET_RAW" not in caps and "SYS_ADMIN" not in caps


class FakeEngine:
    def __init__(self, runtimes):
        self.runtimes = runtimes

    def info(self):
        return {"Runtimes": {name: {} for name in self.runtimes}}


def test_unknown_runtime_is_refused_naming_the_setting_and_the_engine_runtimes():
    with pytest.raises(StageError) as refused:
        fence.check_runtime(FakeEngine(["runc"]), "runsc", setting="DEPLOYER_CONTAINER_RUNTIME")

    assert "DEPLOYER_CONTAINER_RUNTIME='runsc'" in str(refused.value)
    assert "(it has: runc)" in str(refused.value)


def test_known_or_empty_runtime_passes():
    fence.check_runtime(FakeEngine(["runc", "runsc"]), "runsc", setting="X")
    fence.check_runtime(FakeEngine([]), "", setting="X")


def test_bridge_names_fit_linux_interface_names_and_share_a_prefix():
    name = fence.bridge_name("a" * 63)

    assert len(name) <= 15 and name.startswith("dpl-")
    assert fence.bridge_name("shop") != fence.bridge_name("shop2")


@pytest.mark.django_db
@override_settings(DEPLOYER_APP_MEMORY_MAX_MB=1024)
def test_memory_limit_above_the_operator_maximum_is_refused_naming_the_setting(user):
    from projects import services

    with pytest.raises(ValidationError) as refused:
        services.create_project(
            user, slug="big", repo_url="https://example.com/a.git", memory_limit_mb=2048
        )

    message = refused.value.message_dict["memory_limit_mb"][0]
    assert "at most 1024 MB" in message and "DEPLOYER_APP_MEMORY_MAX_MB" in message
    project = services.create_project(
        user, slug="big", repo_url="https://example.com/a.git", memory_limit_mb=1024
    )
    assert project.memory_limit_mb == 1024


@pytest.mark.django_db
@override_settings(DEPLOYER_APP_MEMORY_MB=768)
def test_new_project_gets_the_operator_default_memory_limit(user):
    from projects import services

    project = services.create_project(user, slug="dflt", repo_url="https://example.com/a.git")

    assert project.memory_limit_mb == 768


@pytest.mark.django_db
def test_a_member_cannot_opt_the_project_into_root(user):
    from projects import services
    from projects.forms import ProjectForm

    project = services.create_project(user, slug="mine", repo_url="https://example.com/a.git")

    assert "run_as_root" in ProjectForm(instance=project, owner_fields=True).fields
    assert "run_as_root" not in ProjectForm(instance=project, owner_fields=False).fields
