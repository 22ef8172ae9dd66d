"""The volumes section: everyone with the project sees it; only its owner adds or removes
one, and removing asks for its name."""

from __future__ import annotations

import pytest

from projects import services as project_services
from volumes import services
from volumes.models import Volume

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(user, other_user):
    return project_services.create_project(
        user, slug="shop", repo_url="https://example.com/a.git", members=[other_user]
    )


def test_the_owner_adds_a_volume_and_sees_it(client, user, project):
    client.force_login(user)

    response = client.post("/projects/shop/volumes/add/", {"name": "media", "path": "/app/media"})

    assert response.status_code == 302
    volume = Volume.objects.get()
    assert volume.engine_name.startswith("deployer-vol-shop-media-")
    page = client.get("/projects/shop/volumes/").content.decode()
    assert "/app/media" in page and "not measured yet" in page
    assert 'aria-current="page"' in page


def test_a_bad_path_or_a_second_overlapping_one_is_said_and_nothing_added(client, user, project):
    client.force_login(user)
    services.add_volume(project, "data", "/data")

    outside = client.post(
        "/projects/shop/volumes/add/", {"name": "etc", "path": "/etc"}, follow=True
    )
    overlap = client.post(
        "/projects/shop/volumes/add/", {"name": "up", "path": "/data/up"}, follow=True
    )
    same = client.post(
        "/projects/shop/volumes/add/", {"name": "data", "path": "/app/x"}, follow=True
    )

    assert "/etc is outside the app" in outside.content.decode()
    assert "overlaps the volume data" in overlap.content.decode()
    assert "has a volume named data already" in same.content.decode()
    assert Volume.objects.count() == 1


def test_removal_asks_for_the_name_then_detaches_and_asks_the_worker(
    client, user, project, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("volumes.tasks.settle_volumes.delay", lambda: queued.append(1))
    volume = services.add_volume(project, "media", "/app/media")
    client.force_login(user)

    wrong = client.post(
        f"/projects/shop/volumes/{volume.pk}/remove/", {"confirm": "medi"}, follow=True
    )
    assert "type media" in wrong.content.decode()
    assert services.mounts(project)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/projects/shop/volumes/{volume.pk}/remove/", {"confirm": "media"})

    volume.refresh_from_db()
    assert volume.removing_at is not None and queued == [1]
    assert services.mounts(project) == ()  # no longer mounted from the next deploy on


def test_a_member_sees_volumes_but_cannot_change_them(client, other_user, project):
    volume = services.add_volume(project, "media", "/app/media")
    client.force_login(other_user)

    assert client.get("/projects/shop/volumes/").status_code == 200
    assert (
        client.post("/projects/shop/volumes/add/", {"name": "x", "path": "/data"}).status_code
        == 403
    )
    assert (
        client.post(f"/projects/shop/volumes/{volume.pk}/remove/", {"confirm": "media"}).status_code
        == 403
    )
    assert Volume.objects.get().removing_at is None
