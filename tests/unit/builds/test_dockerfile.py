"""Generated Dockerfiles: layer order, base image, user, environment, build args, start command."""

from __future__ import annotations

import json

import pytest

from builds.pipeline.detection.installer import (
    COMPILE,
    INDEX_URL,
    UV,
    UV_DIR,
    UV_INSTALL,
    UV_URL,
    UV_VERSION,
)
from builds.pipeline.dockerfile import (
    RUN_AS,
    generate_dockerfile,
    generate_dockerignore,
    generate_setup_dockerfile,
)
from builds.pipeline.plan import Plan

GUNICORN = "gunicorn app:app --bind 0.0.0.0:$PORT --workers ${WEB_CONCURRENCY:-2}"


def pip_plan(**changes) -> Plan:
    plan = Plan(
        framework="flask",
        python_version="3.12",
        package_manager="pip",
        dependency_files=["requirements.txt", "requirements/base.txt"],
        install_steps=["pip install --no-cache-dir -r requirements.txt"],
        entrypoint="app:app",
        start_command=GUNICORN,
    )
    for name, value in changes.items():
        setattr(plan, name, value)
    return plan


def instructions(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]


def test_manifests_are_copied_and_installed_before_the_source():
    text = generate_dockerfile(pip_plan())

    copy_manifest = text.index("COPY requirements.txt requirements.txt")
    copy_included = text.index("COPY requirements/base.txt requirements/base.txt")
    install = text.index("RUN pip install --no-cache-dir -r requirements.txt")
    copy_source = text.index("COPY --chown=10001:10001 . .")
    assert copy_manifest < copy_included < install < copy_source


def test_base_image_template_gets_the_major_minor_version():
    text = generate_dockerfile(pip_plan(), base_image="registry.local/python:{version}-bookworm")

    assert instructions(text)[0] == "FROM registry.local/python:3.12-bookworm"


def test_default_base_image_is_the_slim_official_name():
    assert "FROM python:3.12-slim\n" in generate_dockerfile(pip_plan())


def test_the_image_has_the_numeric_app_user_with_a_home_and_no_user_step():
    text = generate_dockerfile(pip_plan())

    # Deployer gives the user when it runs the container: a USER step after the source
    # would cost a container on every build.
    assert not any(line.startswith("USER ") for line in instructions(text))
    assert RUN_AS == "10001:10001"
    assert "HOME=/home/app" in text
    assert "command -v useradd" in text


def test_python_runs_from_a_virtualenv_without_its_own_pip():
    text = generate_dockerfile(pip_plan())

    assert "python3 -m venv --without-pip --system-site-packages /opt/venv" in text
    assert "PATH=/opt/venv/bin:$PATH" in text
    # `pip` is the base image's pip run by the virtualenv's Python, so it installs there.
    assert "exec /opt/venv/bin/python -m pip" in text


def test_output_is_unbuffered_without_bytecode_or_pip_cache():
    text = generate_dockerfile(pip_plan())

    assert "PYTHONUNBUFFERED=1" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text
    assert "PIP_NO_CACHE_DIR=1" in text


def test_no_buildkit_only_syntax_for_the_classic_builder():
    text = generate_dockerfile(pip_plan(build_packages=["gcc"], runtime_packages=["libpq5"]))

    assert "--mount" not in text
    assert "# syntax=" not in text
    assert "<<" not in text


def test_build_arguments_are_declared_by_name_only():
    text = generate_dockerfile(pip_plan(), build_arg_names=["PIP_INDEX_URL", "NPM_TOKEN"])

    assert "ARG PIP_INDEX_URL\n" in text
    assert "ARG NPM_TOKEN\n" in text
    assert text.index("ARG PIP_INDEX_URL") < text.index("RUN pip install")
    assert "=" not in next(line for line in text.splitlines() if line.startswith("ARG"))


def test_build_argument_with_an_invalid_name_is_refused():
    with pytest.raises(ValueError, match="build argument"):
        generate_dockerfile(pip_plan(), build_arg_names=["BAD NAME; rm -rf /"])


def test_start_command_is_exec_form_through_sh_so_port_expands():
    cmd = next(
        line for line in instructions(generate_dockerfile(pip_plan())) if line.startswith("CMD ")
    )

    assert json.loads(cmd.removeprefix("CMD ")) == ["sh", "-c", f"exec {GUNICORN}"]


def test_chained_start_command_is_not_prefixed_with_exec():
    text = generate_dockerfile(pip_plan(start_command="./prepare && gunicorn app:app"))
    cmd = next(line for line in instructions(text) if line.startswith("CMD "))

    assert json.loads(cmd.removeprefix("CMD ")) == ["sh", "-c", "./prepare && gunicorn app:app"]


def test_port_default_is_set_and_exposed():
    text = generate_dockerfile(pip_plan())

    assert "PORT=8000" in text
    assert "EXPOSE 8000" in instructions(text)


def test_native_build_packages_stay_in_the_build_stage():
    text = generate_dockerfile(
        pip_plan(build_packages=["gcc", "libpq-dev"], runtime_packages=["libpq5"])
    )
    build_stage, final_stage = text.split("\nFROM python:3.12-slim\n")

    assert "FROM python:3.12-slim AS build" in build_stage
    assert "gcc libpq-dev" in build_stage
    assert "gcc" not in final_stage
    assert "libpq5" in final_stage
    assert "COPY --from=build /opt/venv /opt/venv" in final_stage


def test_runtime_packages_alone_keep_a_single_stage():
    text = generate_dockerfile(pip_plan(runtime_packages=["libpq5"]))

    assert text.count("FROM ") == 1
    assert "apt-get install -y --no-install-recommends libpq5" in text
    assert "rm -rf /var/lib/apt/lists/*" in text


def test_install_that_needs_the_source_runs_after_copying_it():
    text = generate_dockerfile(pip_plan(install_needs_source=True))

    assert "COPY requirements.txt" not in text
    assert text.index("COPY --chown=10001:10001 . .") < text.index("RUN pip install")


def test_collectstatic_runs_after_the_source_with_its_throwaway_values():
    static = 'SECRET_KEY="${SECRET_KEY:-collectstatic-only}" DJANGO_SETTINGS_MODULE=x.settings python manage.py collectstatic --noinput'
    text = generate_dockerfile(
        pip_plan(static_command=static, env={"DJANGO_SETTINGS_MODULE": "x.settings"})
    )

    assert text.index("COPY --chown=10001:10001 . .") < text.index(f"RUN {static}")
    assert "ENV SECRET_KEY" not in text
    assert "DJANGO_SETTINGS_MODULE=x.settings" in text


def test_own_dockerfile_plan_has_nothing_to_generate():
    with pytest.raises(ValueError, match="own Dockerfile"):
        generate_dockerfile(Plan(kind="dockerfile"))


def test_dockerignore_keeps_vcs_virtualenvs_caches_and_secrets_out():
    lines = generate_dockerignore().splitlines()

    for pattern in (".git", ".venv", "venv", "**/__pycache__", ".env", "node_modules"):
        assert pattern in lines


def test_user_port_and_command_come_before_the_dependencies_so_they_stay_cached():
    text = generate_dockerfile(pip_plan(), labels={"org.deployer.project": "shop"})
    lines = instructions(text)
    first_copy = next(i for i, line in enumerate(lines) if line.startswith("COPY "))

    assert any(line.startswith("CMD ") for line in lines[:first_copy])
    assert any(line.startswith("EXPOSE ") for line in lines[:first_copy])
    assert text.index("useradd") < text.index("COPY ")
    assert any(line.startswith("LABEL ") for line in lines[:first_copy])
    assert lines[-1] == "COPY --chown=10001:10001 . ."  # nothing to redo after the source


def test_labels_are_one_step_before_the_dependencies_so_they_stay_cached():
    text = generate_dockerfile(pip_plan(), labels={"org.deployer.project": "shop", "a.b": "1"})
    lines = instructions(text)
    first_copy = next(i for i, line in enumerate(lines) if line.startswith("COPY "))

    label_lines = [i for i, line in enumerate(lines) if line.startswith("LABEL ")]
    assert label_lines and label_lines[0] < first_copy and len(label_lines) == 1
    assert lines[label_lines[0]] == 'LABEL org.deployer.project="shop" a.b="1"'


def test_every_stage_begins_with_the_shared_setup_steps_so_their_cache_outlives_apps():
    setup = generate_setup_dockerfile(pip_plan())
    single = generate_dockerfile(pip_plan(env={"DJANGO_SETTINGS_MODULE": "x.settings"}))
    two_stage = generate_dockerfile(pip_plan(build_packages=["gcc"], runtime_packages=["libpq5"]))

    assert instructions(setup)[0] == "FROM python:3.12-slim"
    assert instructions(setup)[-1] == "EXPOSE 8000"
    assert "CMD" not in setup and "LABEL" not in setup and "COPY" not in setup
    assert single.split("\n", 3)[3].startswith(setup)
    build_stage, final_stage = two_stage.split("\nFROM python:3.12-slim\n")
    assert build_stage.split("\n", 3)[3].startswith(setup.replace("-slim\n", "-slim AS build\n", 1))
    assert ("FROM python:3.12-slim\n" + final_stage).startswith(setup)


def test_the_setup_steps_differ_by_python_version_and_port():
    assert generate_setup_dockerfile(pip_plan()) != generate_setup_dockerfile(pip_plan(port=5000))
    assert generate_setup_dockerfile(pip_plan()) != generate_setup_dockerfile(
        pip_plan(python_version="3.13")
    )


def test_the_apps_folder_belongs_to_the_apps_user_and_the_volume_mount_point_exists():
    plan = Plan(
        framework="django", start_command="gunicorn x.wsgi", sqlite_databases=["/app/db.sqlite3"]
    )

    text = generate_dockerfile(plan)

    setup = text[: text.index("WORKDIR /app")]
    assert "install -d -o 10001 -g 10001 /app /var/lib/deployer/data" in setup
    assert "# db.sqlite3 is a link to /var/lib/deployer/data/db.sqlite3" in text


def django_below(**changes) -> Plan:
    """NetBox's layout: the app in netbox/, requirements.txt at the repository root."""
    return pip_plan(
        framework="django",
        app_dir="netbox",
        dependency_files=["requirements.txt"],
        start_command="gunicorn netbox.wsgi:application --bind 0.0.0.0:$PORT",
        static_command="python manage.py collectstatic --noinput",
        **changes,
    )


def test_app_in_a_folder_works_there_with_dependencies_installed_from_the_root():
    lines = instructions(generate_dockerfile(django_below()))

    workdir = lines.index("WORKDIR /app/netbox")
    copy_manifest = lines.index("COPY requirements.txt /app/requirements.txt")
    install = lines.index("RUN cd /app \\")
    copy_source = lines.index("COPY --chown=10001:10001 . /app/")
    static = lines.index("RUN python manage.py collectstatic --noinput")
    assert lines.index("WORKDIR /app") < workdir < copy_manifest < install < copy_source < static
    assert lines[workdir + 1].startswith("CMD ")  # the working directory is a cached step too


def test_app_in_a_folder_installs_from_its_source_at_the_root():
    text = generate_dockerfile(
        django_below(install_needs_source=True, install_steps=["pip install --no-cache-dir ."])
    )

    assert text.index("COPY --chown=10001:10001 . /app/") < text.index(
        "RUN cd /app \\\n    && pip install --no-cache-dir ."
    )


def test_app_in_a_folder_two_stage_build_installs_at_the_root_of_the_build_stage():
    text = generate_dockerfile(django_below(build_packages=["gcc"]))
    build, final = text.split("FROM python:3.12-slim\n")

    assert "COPY requirements.txt /app/requirements.txt" in build
    assert "cd /app" in build
    assert "WORKDIR /app/netbox" not in build
    assert "WORKDIR /app/netbox" in final


def test_app_at_the_root_has_no_extra_working_directory():
    text = generate_dockerfile(pip_plan())

    assert [line for line in instructions(text) if line.startswith("WORKDIR")] == ["WORKDIR /app"]
    assert "cd /app" not in text


def uv_plan(**changes) -> Plan:
    steps = [f"{UV_INSTALL} -r requirements.txt"]
    return pip_plan(**{"installer": "uv", "install_steps": steps, **changes})


def test_uv_installs_in_a_build_stage_whose_virtualenv_alone_reaches_the_image():
    text = generate_dockerfile(uv_plan())

    build, final = text.split("\nFROM python:3.12-slim\n")
    assert build.count("FROM python:3.12-slim AS build") == 1
    assert (
        f"RUN python3 -m pip install --no-cache-dir --disable-pip-version-check --target {UV_DIR} uv=={UV_VERSION}"
        in build
    )
    assert "uv pip install --python /opt/venv/bin/python --no-cache" in build
    assert "uv" not in final.replace("--from=build /opt/venv", "")
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert final.index("COPY --from=build /opt/venv") < final.index("COPY --chown=10001:10001 . .")


def test_uv_is_pinned_to_one_version():
    assert UV_VERSION.count(".") == 2 and all(part.isdigit() for part in UV_VERSION.split("."))
    assert f"uv=={UV_VERSION}" in generate_setup_dockerfile(uv_plan(), uv=True)


def test_the_build_stage_begins_with_the_shared_uv_setup_image_steps():
    text = generate_dockerfile(uv_plan())
    setup = generate_setup_dockerfile(uv_plan(), uv=True)
    plain = generate_setup_dockerfile(uv_plan())

    assert setup.startswith(plain)  # the uv setup image is built on the plain one's cache
    assert text.split("\n", 3)[3].replace(" AS build", "", 1).startswith(setup)


def test_a_public_pypi_plan_declares_the_package_cache_argument_before_its_install():
    text = generate_dockerfile(uv_plan())

    assert text.index("ARG UV_DEFAULT_INDEX") < text.index("COPY requirements.txt")
    assert "UV_DEFAULT_INDEX" not in text.split("\nFROM python:3.12-slim\n")[1]


def test_a_plan_with_its_own_index_has_no_package_cache_argument():
    assert "UV_DEFAULT_INDEX" not in generate_dockerfile(uv_plan(public_pypi=False))


def test_a_pip_plan_stays_a_single_stage_without_uv():
    text = generate_dockerfile(pip_plan())

    assert text.count("FROM ") == 1
    assert "uv" not in text.lower().replace("virtualenv", "")


def test_uv_with_native_build_packages_shares_one_build_stage():
    text = generate_dockerfile(uv_plan(build_packages=["gcc"], runtime_packages=["libpq5"]))

    build, final = text.split("\nFROM python:3.12-slim\n")
    assert text.count("FROM ") == 2
    assert build.index(f"uv=={UV_VERSION}") < build.index("install -y --no-install-recommends gcc")
    assert "gcc" not in final and "libpq5" in final


def test_uv_install_needing_the_source_copies_it_into_the_build_stage():
    text = generate_dockerfile(
        uv_plan(install_needs_source=True, install_steps=[f"{UV} pip install ."])
    )

    build = text.split("\nFROM python:3.12-slim\n")[0]
    assert build.index("COPY . /app/") < build.index(f"RUN {UV} pip install .")


def test_uv_installs_are_compiled_to_bytecode_once_after_the_last_step_without_hiding_failures():
    text = generate_dockerfile(uv_plan())

    run = next(part for part in text.split("\nRUN ") if part.startswith(UV)).split("\n\n")[0]
    assert run.endswith(f"&& {COMPILE}")
    # Only the compile may fail quietly: the install's own failure still fails the step.
    assert COMPILE.startswith("(") and COMPILE.endswith("|| true)")
    assert "--compile-bytecode" not in UV_INSTALL
    assert COMPILE not in generate_dockerfile(pip_plan())


# On the package cache: one stage, uv fetched and removed in the install step ---------------


def install_run(text: str) -> str:
    """The RUN step that installs the dependencies (whole, with its continuation lines)."""
    return next(part for part in text.split("\nRUN ") if UV_INSTALL in part).split("\n\n")[0]


def test_a_build_on_the_package_cache_is_one_stage_without_copying_the_virtualenv():
    text = generate_dockerfile(uv_plan(), package_cache=True)

    assert text.count("FROM ") == 1
    assert "COPY --from" not in text
    assert " AS build" not in text


def test_on_the_package_cache_uv_is_fetched_used_and_removed_in_one_step():
    text = generate_dockerfile(uv_plan(), package_cache=True)

    run = install_run(text)
    # The pinned uv, from the cache's own copy (no download from the Internet, no pip).
    fetch = run.index(UV_URL)
    assert UV_URL.endswith(f"/tools/uv-{UV_VERSION}")
    assert "pip install" not in run[:fetch]
    assert fetch < run.index(UV_INSTALL) < run.index(COMPILE) < run.index(f"rm -rf {UV_DIR}")
    assert run.rstrip().endswith(f"&& rm -rf {UV_DIR}")
    # uv appears in no other step: no layer of the image holds it.
    others = text.replace(run, "")
    assert UV_DIR not in others
    # The cache's index is named in the step itself: no ARG step for the builder to commit.
    assert f"UV_DEFAULT_INDEX={INDEX_URL}" in run
    assert "ARG UV_DEFAULT_INDEX" not in text


def test_on_the_package_cache_uv_settings_live_in_the_install_step_not_the_image():
    text = generate_dockerfile(uv_plan(), package_cache=True)

    assert "UV_NO_CACHE=1" in install_run(text)
    assert not any(line.startswith("ENV") and "UV_" in line for line in text.splitlines()), (
        "uv's settings would be left in the app image's environment"
    )


def test_on_the_package_cache_a_code_change_reuses_the_dependency_layer():
    text = generate_dockerfile(uv_plan(), package_cache=True)

    assert text.index("COPY requirements.txt") < text.index(install_run(text))
    assert text.index(install_run(text)) < text.index("COPY --chown=10001:10001 . .")


def test_on_the_package_cache_a_hash_checked_install_stays_hash_checked():
    steps = [f"{UV_INSTALL} --require-hashes -r requirements.lock"]
    text = generate_dockerfile(uv_plan(install_steps=steps), package_cache=True)

    assert f"{UV_INSTALL} --require-hashes -r requirements.lock" in install_run(text)


def test_on_the_package_cache_an_install_needing_the_source_runs_after_it_with_uv_removed():
    steps = [f"{UV} pip install ."]
    text = generate_dockerfile(
        uv_plan(install_needs_source=True, install_steps=steps), package_cache=True
    )

    assert text.count("FROM ") == 1
    run = text[text.index(f"{UV} pip install .") :]
    assert text.index("COPY --chown=10001:10001 . .") < text.index(UV_URL)
    assert f"rm -rf {UV_DIR}" in run.split("\n\n")[0]


def test_native_build_packages_keep_the_build_stage_even_on_the_package_cache():
    text = generate_dockerfile(uv_plan(build_packages=["gcc"]), package_cache=True)

    build, final = text.split("\nFROM python:3.12-slim\n")
    assert "gcc" in build and "gcc" not in final
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert "rm -rf /opt/uv" not in text  # the build stage's uv comes from its setup image


def test_a_pip_plan_ignores_the_package_cache():
    assert generate_dockerfile(pip_plan(), package_cache=True) == generate_dockerfile(pip_plan())
