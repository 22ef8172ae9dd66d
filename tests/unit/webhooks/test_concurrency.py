from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection

from builds.models import Build
from tests.unit.webhooks import payloads
from webhooks import services
from webhooks.models import Delivery


def _post_at_once(client_factory, requests: list[tuple[bytes, dict]]) -> list[int]:
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []

    def post(body: bytes, headers: dict) -> None:
        client = client_factory()
        barrier.wait()
        try:
            response = client.post(
                "/hooks/shop/", data=body, content_type="application/json", headers=headers
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_the_same_delivery_arriving_eight_times_at_once_starts_one_build(project, secret):
    from django.test import Client

    request = payloads.github(secret, delivery="storm")

    statuses = _post_at_once(Client, [request] * 8)

    assert sorted(statuses) == [200] * 7 + [202]
    assert Build.objects.count() == 1
    assert Delivery.objects.filter(verdict="queued").count() == 1
    assert Delivery.objects.filter(verdict="duplicate").count() == 7


@pytest.mark.django_db(transaction=True)
def test_the_same_commit_from_several_hosts_at_once_starts_one_build(project, secret):
    from django.test import Client

    requests = [make(secret) for make in payloads.PROVIDERS.values()]

    statuses = _post_at_once(Client, requests)

    assert sorted(statuses) == [200] * (len(requests) - 1) + [202]
    assert Build.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_claim_of_a_delivery_id(project):
    fields = {"project": project, "provider": "github", "delivery_id": "d", "status_code": 200}
    Delivery.objects.create(verdict="ignored", **fields)
    Delivery.objects.create(verdict="duplicate", **fields)  # records of repeats are allowed

    with pytest.raises(IntegrityError):
        Delivery.objects.create(verdict="queued", **fields)


@pytest.mark.django_db
def test_a_delivery_claimed_between_check_and_insert_is_answered_as_a_duplicate(
    project, secret, monkeypatch
):
    """The constraint, not only the lookup, keeps a delivery id to one build."""
    Delivery.objects.create(
        project=project, provider="github", delivery_id="raced", verdict="queued", status_code=202
    )
    monkeypatch.setattr(services, "_delivery_seen", lambda project, delivery_id: False)
    body, headers = payloads.github(secret, delivery="raced")

    outcome = services.receive("shop", body, headers)

    assert (outcome.status, outcome.result) == (200, "duplicate")
    assert not Build.objects.exists()
