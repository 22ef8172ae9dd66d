"""Package managers: which one is chosen, what gets installed, and how."""

from __future__ import annotations

import pytest

from builds.pipeline.detect import DetectionError
from builds.pipeline.detection.installer import PIP_INSTALL, UV, UV_INSTALL
from builds.pipeline.detection.locks import EXPORT_FILE
from builds.pipeline.detection.requirements import parse_line
from builds.pipeline.dockerfile import generate_dockerfile
from builds.pipeline.plan import Overrides
from tests.unit.builds import trees

APP = {"app.py": trees.FLASK_APP}


def test_includes_are_followed_relative_to_the_including_file(detect):
    plan = detect(
        {
            **APP,
            "requirements.txt": "-r requirements/prod.txt\n",
            "requirements/prod.txt": "-r base.txt\n-c constraints.txt\ngunicorn==23.0.0\n",
            "requirements/base.txt": "flask==3.0.3\n",
            "requirements/constraints.txt": "werkzeug==3.0.3\n",
        }
    )

    assert plan.dependency_files == [
        "requirements.txt",
        "requirements/prod.txt",
        "requirements/base.txt",
        "requirements/constraints.txt",
    ]
    assert plan.extra_packages == []


def test_include_cycle_is_read_once(detect):
    plan = detect(
        {
            **APP,
            "requirements.txt": "-r other.txt\nflask==3.0.3\n",
            "other.txt": "-r requirements.txt\n",
        }
    )

    assert plan.dependency_files == ["requirements.txt", "other.txt"]


def test_include_outside_the_repository_is_refused_and_reported(detect):
    plan = detect({**APP, "requirements.txt": "-r ../../../../etc/passwd\nflask==3.0.3\n"})

    assert plan.dependency_files == ["requirements.txt"]
    assert "missing-include" in plan.warning_codes()


def test_requirements_file_setting_picks_a_non_default_name(detect):
    plan = detect(
        {
            **APP,
            "requirements.txt": "flask\n",
            "deploy/reqs.txt": "flask==3.0.3\ngunicorn==23.0.0\n",
        },
        Overrides(requirements_file="deploy/reqs.txt"),
    )

    assert plan.install_steps == [f"{UV_INSTALL} -r deploy/reqs.txt"]
    assert plan.dependency_files == ["deploy/reqs.txt"]
    assert "unpinned-dependencies" not in plan.warning_codes()


def test_missing_requirements_file_setting_says_which_setting_to_fix(detect):
    with pytest.raises(DetectionError, match="requirements file setting"):
        detect(APP, Overrides(requirements_file="nope.txt"))


def test_local_path_requirement_installs_after_the_source(detect):
    plan = detect(
        {**APP, "requirements.txt": "flask==3.0.3\n-e .\n", "setup.py": "raise SystemExit\n"}
    )
    text = generate_dockerfile(plan)

    assert plan.install_needs_source
    # In the build stage: the source first, then the install from it.
    assert text.index("COPY . /app/") < text.index(f"RUN {UV_INSTALL} -r")


def test_environment_markers_are_warned_about(detect):
    plan = detect(
        {**APP, "requirements.txt": 'flask==3.0.3\npywin32==306; sys_platform == "win32"\n'}
    )

    warning = next(w for w in plan.warnings if w.code == "environment-markers")
    assert (warning.file, warning.line) == ("requirements.txt", 2)


def test_unpinned_warning_points_at_the_first_loose_line(detect):
    plan = detect({**APP, "requirements.txt": "flask==3.0.3\nrequests>=2\nclick\n"})

    warning = next(w for w in plan.warnings if w.code == "unpinned-dependencies")
    assert (warning.file, warning.line) == ("requirements.txt", 2)
    assert "requests, click" in warning.message


@pytest.mark.parametrize(
    ("line", "name", "pinned"),
    [
        ("Flask==3.0.3 --hash=sha256:abc --hash=sha256:def", "flask", True),
        ("Django_Rest.Framework>=3", "django-rest-framework", False),
        ("uvicorn[standard]==0.30.0", "uvicorn", True),
        ("pkg @ https://example.com/pkg-1.0.tar.gz", "pkg", True),
        ("git+https://github.com/org/lib.git@v1#egg=lib", "lib", True),
        ("requests===2.31.0", "requests", True),
        ("flask==3.*", "flask", False),
    ],
)
def test_requirement_lines_are_parsed_without_pip(line, name, pinned):
    requirement = parse_line(line, "requirements.txt", 1)

    assert requirement is not None
    assert (requirement.name, requirement.pinned) == (name, pinned)


def test_options_lines_are_not_requirements():
    assert parse_line("--index-url https://pypi.example/simple", "r.txt", 1) is None


def test_setup_py_is_read_and_never_run(detect, tmp_path):
    marker = tmp_path / "setup-was-run"
    setup = (
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "from setuptools import setup\nsetup(name='svc', install_requires=['flask==3.0.3'])\n"
    )
    plan = detect({**APP, "setup.py": setup})

    assert not marker.exists()
    assert plan.install_steps[0] == f"{UV_INSTALL} flask==3.0.3 gunicorn"


def test_setup_py_with_computed_requirements_installs_the_project(detect):
    setup = "from setuptools import setup\nsetup(name='svc', install_requires=open('deps').read().split())\n"
    plan = detect({**APP, "setup.py": setup})

    assert plan.install_steps[0] == f"{UV_INSTALL} . gunicorn"
    assert plan.install_needs_source


def test_uv_exports_the_lock_with_its_hashes_and_installs_it_hash_checked(detect):
    plan = detect(
        {
            **APP,
            "pyproject.toml": '[project]\nname = "svc"\ndependencies = ["flask"]\n',
            "uv.lock": 'version = 1\n[[package]]\nname = "svc"\nsource = { editable = "." }\n'
            'dependencies = [{ name = "flask" }, { name = "gunicorn" }]\n',
        }
    )

    assert plan.install_steps == [
        f"{UV} export --frozen --no-dev --no-emit-workspace --quiet "
        "--output-file /opt/deployer-requirements.txt",
        f"{UV_INSTALL} --require-hashes -r /opt/deployer-requirements.txt",
        "rm -f /opt/deployer-requirements.txt",
    ]
    assert plan.installer == "uv" and plan.public_pypi
    assert plan.extra_packages == []  # gunicorn is in the lock


def test_uv_dev_dependencies_do_not_count_as_installed(detect):
    plan = detect(
        {
            **APP,
            "pyproject.toml": '[project]\nname = "svc"\ndependencies = ["flask"]\n',
            "uv.lock": '[[package]]\nname = "svc"\nsource = { editable = "." }\ndependencies = [{ name = "flask" }]\n'
            '[package.dev-dependencies]\ndev = [{ name = "gunicorn" }]\n\n'
            '[[package]]\nname = "gunicorn"\nversion = "23.0.0"\n',
        }
    )

    assert plan.extra_packages == ["gunicorn"]


def test_poetry_dev_group_does_not_count_as_installed(detect):
    plan = detect(
        {
            **APP,
            "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\nflask = "^3"\n\n'
            '[tool.poetry.group.dev.dependencies]\ngunicorn = "*"\n',
            "poetry.lock": '[[package]]\nname = "flask"\nversion = "3.0.3"\n\n'
            '[[package]]\nname = "gunicorn"\nversion = "23.0.0"\n',
        }
    )

    assert plan.extra_packages == ["gunicorn"]
    assert "--only main" in plan.install_steps[2]


def test_poetry_without_lock_locks_at_build_time_and_warns(detect):
    plan = detect(
        {**APP, "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\nflask = "^3"\n'}
    )

    assert plan.install_steps[2] == "/opt/deployer-tools/bin/poetry lock"
    assert "no-lock-file" in plan.warning_codes()


def test_pipfile_lock_develop_section_does_not_count_as_installed(detect):
    plan = detect(
        {
            **APP,
            "Pipfile": '[packages]\nflask = "*"\n',
            "Pipfile.lock": '{"default": {"flask": {"version": "==3.0.3"}}, "develop": {"gunicorn": {}}}',
        }
    )

    assert plan.extra_packages == ["gunicorn"]
    # An entry without hashes: exported and installed without them.
    assert (
        plan.install_steps[2]
        == "/opt/deployer-tools/bin/pipenv requirements > /opt/deployer-requirements.txt"
    )
    assert "--require-hashes" not in plan.install_steps[3]


def test_lock_file_takes_precedence_over_requirements_txt_and_says_so(detect):
    plan = detect(
        {
            **APP,
            "requirements.txt": "flask\n",
            "pyproject.toml": '[tool.poetry.dependencies]\nflask = "^3"\n',
            "poetry.lock": '[[package]]\nname = "flask"\nversion = "3.0.3"\n',
        }
    )

    assert plan.package_manager == "poetry"
    assert any(e.file == "requirements.txt" and "ignored" in e.message for e in plan.evidence)


def test_pep621_dynamic_dependencies_from_a_file_use_that_file(detect):
    plan = detect(
        {
            **APP,
            "pyproject.toml": '[project]\nname = "svc"\ndynamic = ["dependencies"]\n\n'
            '[tool.setuptools.dynamic]\ndependencies = { file = ["deps.txt"] }\n',
            "deps.txt": "flask==3.0.3\n",
        }
    )

    assert plan.install_steps[0] == f"{UV_INSTALL} -r deps.txt gunicorn"


def test_no_manifest_installs_only_the_server_and_warns(detect):
    plan = detect(APP)

    assert plan.package_manager == "none"
    assert plan.install_steps == [f"{UV_INSTALL} gunicorn"]
    assert "no-dependencies" in plan.warning_codes()


def test_system_packages_setting_is_installed_at_run_time(detect):
    plan = detect(
        {**APP, "requirements.txt": "flask==3.0.3\n"}, Overrides(system_packages=["ffmpeg"])
    )

    assert plan.runtime_packages == ["ffmpeg"]
    assert plan.build_packages == []


def test_mysqlclient_needs_headers_to_build_and_the_client_library_to_run(detect):
    plan = detect({**APP, "requirements.txt": "flask==3.0.3\nmysqlclient==2.2.4\n"})

    assert "default-libmysqlclient-dev" in plan.build_packages
    assert plan.runtime_packages == ["libmariadb3"]


def test_psycopg_binary_extra_needs_no_system_library(detect):
    plan = detect({**APP, "requirements.txt": "flask==3.0.3\npsycopg[binary]==3.2.1\n"})

    assert plan.runtime_packages == []


def test_pure_python_psycopg_needs_libpq_at_run_time(detect):
    plan = detect({**APP, "requirements.txt": "flask==3.0.3\npsycopg==3.2.1\n"})

    assert plan.runtime_packages == ["libpq5"]
    assert plan.build_packages == []


def test_a_requirements_file_with_hashes_is_installed_hash_checked_by_uv(detect):
    plan = detect(
        {**APP, "requirements.txt": "flask==3.0.3 \\\n    --hash=sha256:" + "a" * 64 + "\n"}
    )

    assert plan.install_steps[0] == f"{UV_INSTALL} --require-hashes -r requirements.txt"


def test_a_pip_only_option_falls_back_to_pip_and_says_so(detect):
    plan = detect({**APP, "requirements.txt": "flask==3.0.3\n--trusted-host example.org\n"})

    assert plan.installer == "pip"
    assert plan.install_steps[0] == f"{PIP_INSTALL} -r requirements.txt"
    assert plan.install_steps[-1] == f"{PIP_INSTALL} gunicorn"
    assert "pip-install" in plan.warning_codes()
    assert any("installed with pip, not uv" in str(e) for e in plan.evidence)
    assert generate_dockerfile(plan).count("FROM ") == 1  # no uv build stage


def test_find_links_to_a_local_folder_falls_back_to_pip(detect):
    plan = detect({**APP, "requirements.txt": "--find-links ./wheels\nflask==3.0.3\n"})

    assert plan.installer == "pip"
    assert any("local folder" in w.message for w in plan.warnings)


def test_an_own_index_is_installed_by_uv_but_bypasses_the_package_cache(detect):
    plan = detect(
        {**APP, "requirements.txt": "--index-url https://pkgs.example.com/simple\nflask==3.0.3\n"}
    )

    assert plan.installer == "uv" and not plan.public_pypi
    assert "UV_DEFAULT_INDEX" not in generate_dockerfile(plan)


def test_naming_pypi_itself_as_the_index_keeps_the_package_cache(detect):
    plan = detect({**APP, "requirements.txt": "-i https://pypi.org/simple/\nflask==3.0.3\n"})

    assert plan.public_pypi


def test_an_extra_index_makes_uv_choose_across_indexes_as_pip_does(detect):
    plan = detect(
        {**APP, "requirements.txt": "--extra-index-url https://x.example/simple\nflask\n"}
    )

    assert "--index-strategy unsafe-best-match" in plan.install_steps[0]
    assert not plan.public_pypi


def test_a_uv_lock_with_a_private_registry_emits_it_and_bypasses_the_cache(detect):
    plan = detect(
        {
            **APP,
            "pyproject.toml": '[project]\nname = "svc"\ndependencies = ["flask"]\n',
            "uv.lock": '[[package]]\nname = "svc"\nsource = { editable = "." }\n'
            'dependencies = [{ name = "flask" }]\n\n[[package]]\nname = "flask"\n'
            'source = { registry = "https://pkgs.example.com/simple" }\n',
        }
    )

    assert "--emit-index-url" in plan.install_steps[0]
    assert not plan.public_pypi


def test_a_uv_lock_with_a_git_source_is_installed_without_hashes(detect):
    plan = detect(
        {
            **APP,
            "pyproject.toml": '[project]\nname = "svc"\ndependencies = ["lib"]\n',
            "uv.lock": '[[package]]\nname = "svc"\nsource = { editable = "." }\n'
            'dependencies = [{ name = "lib" }]\n\n[[package]]\nname = "lib"\n'
            'source = { git = "https://example.com/lib.git" }\n',
        }
    )

    assert "--no-hashes" in plan.install_steps[0]
    assert "--require-hashes" not in plan.install_steps[1]


def test_a_poetry_lock_is_exported_with_hashes_and_installed_hash_checked(detect):
    plan = detect(
        {
            **APP,
            "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\nflask = "^3"\n',
            "poetry.lock": '[[package]]\nname = "flask"\nversion = "3.0.3"\n',
        }
    )

    assert "--without-hashes" not in plan.install_steps[2]
    assert f"{UV_INSTALL} --require-hashes -r /opt/deployer-requirements.txt" in plan.install_steps
    assert plan.install_steps[0] == f"{UV} venv --quiet /opt/deployer-tools"


def test_a_poetry_source_bypasses_the_package_cache(detect):
    plan = detect(
        {
            **APP,
            "pyproject.toml": '[tool.poetry.dependencies]\npython = "^3.11"\nflask = "^3"\n'
            '[[tool.poetry.source]]\nname = "corp"\nurl = "https://pkgs.example.com/simple"\n',
            "poetry.lock": '[[package]]\nname = "flask"\nversion = "3.0.3"\n',
        }
    )

    assert not plan.public_pypi


def test_a_hashed_pipfile_lock_of_pypi_packages_is_exported_by_deployer_with_hashes(detect):
    lock = (
        '{"_meta": {"sources": [{"url": "https://pypi.org/simple"}]}, '
        '"default": {"flask": {"version": "==3.0.3", "hashes": ["sha256:' + "a" * 64 + '"]}}}'
    )
    plan = detect({**APP, "Pipfile": '[packages]\nflask = "*"\n', "Pipfile.lock": lock})

    assert plan.dependency_files == [EXPORT_FILE]
    assert plan.install_steps[0] == f"{UV_INSTALL} --require-hashes -r {EXPORT_FILE}"
    assert "pipenv" not in " ".join(plan.install_steps)  # Pipenv is never installed
    assert plan.public_pypi


def test_a_hashed_pipfile_lock_with_a_git_package_is_exported_by_pipenv(detect):
    lock = (
        '{"_meta": {"sources": [{"url": "https://pypi.org/simple"}]}, '
        '"default": {"flask": {"version": "==3.0.3", "hashes": ["sha256:' + "a" * 64 + '"]}, '
        '"lib": {"git": "https://example.com/lib.git", "ref": "' + "b" * 40 + '"}}}'
    )
    plan = detect({**APP, "Pipfile": '[packages]\nflask = "*"\n', "Pipfile.lock": lock})

    assert plan.install_steps[2].startswith("/opt/deployer-tools/bin/pipenv requirements")


def test_the_server_deployer_adds_joins_the_uv_install_of_the_requirements(detect):
    plan = detect({**APP, "requirements.txt": "flask==3.0.3\n"})

    assert plan.install_steps == [f"{UV_INSTALL} -r requirements.txt gunicorn"]


def test_the_server_deployer_adds_has_its_own_step_after_a_hash_checked_install(detect):
    plan = detect({**APP, "requirements.txt": "flask==3.0.3 --hash=sha256:" + "a" * 64 + "\n"})

    assert plan.install_steps == [
        f"{UV_INSTALL} --require-hashes -r requirements.txt",
        f"{UV_INSTALL} gunicorn",
    ]
