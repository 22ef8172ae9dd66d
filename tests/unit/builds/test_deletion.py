"""Deleting a project removes its engine resources by label, then its rows."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from builds import deletion
from builds import docker as docker_seam
from projects import services as project_services
from projects.models import EnvVar, Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/acme/shop.git"
    )


@pytest.fixture
def env_var(project):
    return project_services.add_env_var(project, "DATABASE_PASSWORD", "hunter2-plaintext-secret")


class _FakeResource:
    def __init__(self, name: str, engine: _FakeEngine, fail: bool = False):
        self.name = self.id = self.short_id = name
        self.engine, self.fail = engine, fail
        self.labels: dict = {}  # made before installation labels: this installation's
        self.attrs: dict = {"Labels": None}

    def remove(self, **kwargs):
        if self.fail:
            raise RuntimeError("device or resource busy")
        self.engine.removed.append(self.name)


class _FakeCollection:
    def __init__(self, engine: _FakeEngine, items: list[_FakeResource]):
        self.engine, self.items = engine, items

    def list(self, **kwargs):
        self.engine.filters.append(kwargs["filters"])
        return self.items

    def remove(self, image_id, force=False):
        self.engine.removed.append(image_id)


class _FakeEngine:
    def __init__(self):
        self.removed: list[str] = []
        self.filters: list[dict] = []
        self.containers = _FakeCollection(self, [_FakeResource("shop-web-1", self)])
        self.images = _FakeCollection(self, [_FakeResource("sha256:abc", self)])
        self.networks = _FakeCollection(self, [_FakeResource("shop-net", self, fail=True)])
        self.volumes = _FakeCollection(self, [_FakeResource("deployer-data-shop", self)])


def test_deleting_a_project_removes_its_labelled_docker_resources(monkeypatch, project, env_var):
    engine = _FakeEngine()

    @contextmanager
    def fake_client(timeout=None):
        yield engine

    monkeypatch.setattr(docker_seam, "client", fake_client)

    problems = deletion.delete_project(project)

    assert engine.removed == ["shop-web-1", "sha256:abc", "deployer-data-shop"]
    assert engine.filters == [{"label": "org.deployer.project=shop"}] * 4
    assert problems == [
        "The network shop-net could not be removed: RuntimeError: device or resource busy"
    ]
    assert not Project.objects.exists()
    assert not EnvVar.objects.exists()


def test_deleting_a_project_while_docker_is_down_still_deletes_it_and_says_what_remains(
    monkeypatch, project
):
    @contextmanager
    def unreachable(timeout=None):
        raise docker_seam.DockerUnavailable("The Docker engine is not reachable.")
        yield

    monkeypatch.setattr(docker_seam, "client", unreachable)

    problems = deletion.delete_project(project)

    assert problems == [
        "Containers and images labelled org.deployer.project=shop could not be removed: "
        "The Docker engine is not reachable."
    ]
    assert not Project.objects.exists()


def test_deleting_a_project_removes_its_previews_resources_first(monkeypatch, project):
    Project.objects.create(
        slug="pr-3-shop", parent=project, owner=project.owner, repo_url=project.repo_url
    )
    engine = _FakeEngine()

    @contextmanager
    def fake_client(timeout=None):
        yield engine

    monkeypatch.setattr(docker_seam, "client", fake_client)

    deletion.delete_project(project)

    labels = [f["label"] for f in engine.filters]
    assert labels == ["org.deployer.project=pr-3-shop"] * 4 + ["org.deployer.project=shop"] * 4
    assert not Project.objects.exists()
