"""deployer.toml in detection: it wins over detection and the project's settings, says so in
the evidence, and an invalid file stops detection before anything is built."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from builds.pipeline.detect import DetectionError, detect_plan
from builds.pipeline.plan import CronJob, Overrides, Plan, built_health_path
from tests.unit.builds import trees

FLASK = {"app.py": trees.FLASK_APP, "requirements.txt": "flask==3.0.0\n"}


def evidence_of(plan, file="deployer.toml") -> list[str]:
    return [str(item) for item in plan.evidence if item.file == file]


def test_health_path_from_deployer_toml_wins_over_detection(detect):
    plan = detect({**FLASK, "deployer.toml": '[deploy]\nhealth_path = "/up"\n'})

    assert plan.health_path == "/up"
    assert "deployer.toml:2: [deploy] health_path = '/up': used" in evidence_of(plan)
    assert plan.configured == ["health_path"]
    assert plan.config_file == "deployer.toml"


def test_deployer_toml_overrides_the_project_setting_and_says_so(detect):
    files = {**FLASK, "deployer.toml": '\n\n[deploy]\nhealth_path = "/up"\n'}

    plan = detect(files, Overrides(health_path="/healthz"))

    assert plan.health_path == "/up"
    assert evidence_of(plan) == [
        "deployer.toml:4: [deploy] health_path = '/up' (the project's setting '/healthz' is "
        "overridden): used"
    ]
    assert not any("set in the project settings" in str(item) for item in plan.evidence)


def test_the_project_setting_still_applies_to_what_deployer_toml_leaves_out(detect):
    files = {**FLASK, "deployer.toml": '[deploy]\nrelease = "flask db upgrade"\n'}

    plan = detect(files, Overrides(health_path="/healthz"))

    assert plan.health_path == "/healthz"
    assert plan.release_command == "flask db upgrade"
    assert "health check path /healthz set in the project settings" in map(str, plan.evidence)


def test_web_process_is_the_start_command_and_others_run_beside_it(detect):
    config = """\
[processes]
web = "gunicorn app:app --bind 0.0.0.0:$PORT"
worker = "celery -A app worker"
"""
    plan = detect({**FLASK, "deployer.toml": config})

    assert plan.start_command == "gunicorn app:app --bind 0.0.0.0:$PORT"
    assert plan.processes == {
        "web": "gunicorn app:app --bind 0.0.0.0:$PORT",
        "worker": "celery -A app worker",
    }
    notes = evidence_of(plan)
    assert "deployer.toml:2: [processes] web = 'gunicorn app:app --bind 0.0.0.0:$PORT': used" in (
        notes
    )
    assert any(
        n.startswith("deployer.toml:3: [processes] worker") and "its own container" in n
        for n in notes
    )


def test_start_command_from_deployer_toml_needs_no_inferred_app(detect):
    files = {
        "requirements.txt": "waitress==3.0.0\n",
        "serve.py": "print('hi')\n",
        "deployer.toml": '[deploy]\nstart = "waitress-serve --port=$PORT serve:app"\n',
    }

    plan = detect(files)

    assert plan.start_command == "waitress-serve --port=$PORT serve:app"


def test_release_command_from_deployer_toml_replaces_migrate(detect):
    files = trees.django_project(**{"deployer.toml": '[deploy]\nrelease = "./release.sh"\n'})

    plan = detect(files, Overrides(release_command="python manage.py migrate"))

    assert plan.release_command == "./release.sh"


def test_release_command_applies_to_an_own_dockerfile(detect):
    files = {
        **FLASK,
        "Dockerfile": "FROM python:3.11-slim\nCOPY . /app\nCMD gunicorn app:app\n",
        "deployer.toml": '[deploy]\nrelease = "flask db upgrade"\nstart = "gunicorn x:y"\n',
    }

    plan = detect(files)

    assert plan.kind == "dockerfile"
    assert plan.release_command == "flask db upgrade"
    assert plan.start_command == ""
    assert "config-start-ignored" in plan.warning_codes()
    assert plan.configured == ["release_command"]


def test_python_from_deployer_toml_goes_through_the_availability_rules(detect):
    files = {**FLASK, ".python-version": "3.11\n", "deployer.toml": '[build]\npython = "3.12"\n'}

    plan = detect(files, available=("3.11", "3.12"))

    assert plan.python_version == "3.12"
    assert "deployer.toml:2: [build] python = '3.12': using Python 3.12" in evidence_of(plan)
    with pytest.raises(DetectionError, match=r"requested by deployer.toml line 2.*Available: 3.11"):
        detect(files, available=("3.11",))


def test_cron_and_watch_are_stored_in_the_plan_and_survive_a_round_trip(detect):
    config = """\
[deploy]
watch = ["app.py", "requirements.txt"]

[cron]
cleanup = { schedule = "0 3 * * *", command = "flask cleanup" }
"""
    plan = detect({**FLASK, "deployer.toml": config})

    assert plan.watch == ["app.py", "requirements.txt"]
    assert plan.cron == [CronJob("cleanup", "0 3 * * *", "flask cleanup", 5)]
    assert Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_an_invalid_deployer_toml_fails_detection_with_line_and_key(detect):
    with pytest.raises(DetectionError) as caught:
        detect({**FLASK, "deployer.toml": '[deploy]\nhealth_path = "/up"\nhealth = 1\n'})

    assert str(caught.value).startswith("deployer.toml line 3: unknown key 'health' in [deploy]")


def test_a_deployer_toml_linked_out_of_the_repository_is_refused(make_tree, tmp_path):
    (tmp_path / "outside.toml").write_text('[deploy]\nhealth_path = "/up"\n')
    root = make_tree(FLASK)
    (root / "deployer.toml").symlink_to(tmp_path / "outside.toml")

    with pytest.raises(DetectionError, match=r"deployer\.toml is a link"):
        detect_plan(root)


def test_deployer_toml_of_an_app_root_below_the_dependency_files(make_tree):
    repo = make_tree(
        {
            "requirements.txt": "flask==3.0.0\n",
            "web/app.py": trees.FLASK_APP,
            "web/deployer.toml": '[deploy]\nhealth_path = "/up"\n',
        }
    )

    plan = detect_plan(repo / "web", repository_root=repo)

    assert plan.app_dir == "web"
    assert plan.config_file == "web/deployer.toml"
    assert "web/deployer.toml:2: [deploy] health_path = '/up': used" in evidence_of(
        plan, "web/deployer.toml"
    )


def test_health_checks_of_a_built_plan_use_deployer_toml_over_the_project_setting():
    from_file = {"health_path": "/up", "configured": ["health_path"]}
    detected = {"health_path": "/health", "configured": []}

    assert built_health_path("/healthz", from_file) == "/up"
    assert built_health_path("/healthz", detected) == "/healthz"
    assert built_health_path("", detected) == "/health"
    assert built_health_path("", None) == "/"


def run_detect(*args: str) -> str:
    out = StringIO()
    call_command("detect", *args, stdout=out)
    return out.getvalue()


def test_detect_command_json_reflects_health_path_from_deployer_toml(make_tree):
    root = make_tree({**FLASK, "deployer.toml": '[deploy]\nhealth_path = "/up"\n'})

    document = json.loads(run_detect(str(root), "--json", "--pythons", "3.11"))

    assert document["plan"]["health_path"] == "/up"
    assert document["plan"]["configured"] == ["health_path"]


def test_detect_command_refuses_an_invalid_deployer_toml(make_tree):
    root = make_tree({**FLASK, "deployer.toml": "[deploy]\nhealth_path = \n"})

    with pytest.raises(CommandError, match=r"deployer\.toml line 2: not valid TOML"):
        run_detect(str(root), "--pythons", "3.11")


def test_procfile_worker_lines_are_process_types_and_deployer_toml_wins(detect):
    procfile = "web: gunicorn app:app --bind 0.0.0.0:$PORT\nworker: python worker.py\nrelease: echo hi\nclock: python clock.py\n"
    plan = detect({**FLASK, "Procfile": procfile})

    assert plan.other_processes() == {"worker": "python worker.py", "clock": "python clock.py"}
    assert "Procfile:2: worker process from the Procfile: its own container" in evidence_of(
        plan, "Procfile"
    )

    config = '[processes]\nworker = "python other.py"\n'
    plan = detect({**FLASK, "Procfile": procfile, "deployer.toml": config})
    assert plan.other_processes() == {"worker": "python other.py", "clock": "python clock.py"}
