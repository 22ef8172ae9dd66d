"""Whatever arrives at the endpoint, the answer is never a 500.

The test client re-raises a view's exception, so any crash fails these tests loudly.
Inputs come from a seeded generator: a failure reproduces on every run.
"""

from __future__ import annotations

import json
import random
from urllib.parse import quote

import pytest

from builds.models import Build
from tests.unit.webhooks import payloads
from tests.unit.webhooks.payloads import SHA
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

ANSWERS = {200, 202, 400, 401, 413, 429}
KEYS = [
    "ref",
    "after",
    "before",
    "deleted",
    "checkout_sha",
    "pusher",
    "name",
    "login",
    "push",
    "changes",
    "new",
    "old",
    "type",
    "target",
    "hash",
    "actor",
    "user_username",
    "sender",
]
STRINGS = [
    "",
    "refs/heads/main",
    "refs/tags/v1",
    SHA,
    "0" * 40,
    "branch",
    "tag",
    "\x00",
    "\ud800",
    "é" * 300,
    "x" * 5000,
    "refs/heads/main\x00",
    "☃",
    "null",
]
HEADER_SETS = {
    "github": {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d"},
    "gitlab": {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "d"},
    "gitea": {"X-Gitea-Event": "push", "X-Gitea-Delivery": "d"},
    "forgejo": {"X-Forgejo-Event": "push", "X-Forgejo-Delivery": "d"},
    "bitbucket": {"X-Event-Key": "repo:push", "X-Request-UUID": "d"},
    "generic": {},
}
SIGNATURE_HEADER = {
    "github": ("X-Hub-Signature-256", "sha256="),
    "gitea": ("X-Gitea-Signature", ""),
    "forgejo": ("X-Forgejo-Signature", ""),
    "bitbucket": ("X-Hub-Signature", "sha256="),
    "generic": ("X-Deployer-Signature", "sha256="),
}


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.choice(STRINGS)
    if kind == 1:
        return rng.choice([0, -1, 10**30, 1.5, float("1e308")])
    if kind == 2:
        return rng.choice([None, True, False])
    if kind == 3:
        return "".join(chr(rng.randrange(0x10FFFF)) for _ in range(rng.randrange(20)))
    if kind == 4:
        return rng.choice(STRINGS[:4])
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randrange(6))}


def signed(provider: str, secret: str, body: bytes, extra: dict | None = None) -> dict:
    headers = dict(HEADER_SETS[provider])
    if provider == "gitlab":
        headers["X-Gitlab-Token"] = secret
    else:
        name, prefix = SIGNATURE_HEADER[provider]
        headers[name] = prefix + payloads.sign(secret, body)
    return headers | (extra or {})


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.DEPLOYER_WEBHOOK_RATE_LIMIT = 0


@pytest.mark.parametrize("provider", list(HEADER_SETS))
def test_random_bytes_without_a_valid_signature_are_401(provider, secret, post_hook):
    rng = random.Random(f"bytes-{provider}")
    for _ in range(40):
        body = rng.randbytes(rng.randrange(2000))
        headers = signed(provider, "wrong-secret", body)

        assert post_hook(body, headers).status_code == 401


@pytest.mark.parametrize("provider", list(HEADER_SETS))
def test_correctly_signed_garbage_json_never_crashes(provider, secret, post_hook):
    rng = random.Random(f"json-{provider}")
    for _ in range(150):
        payload = random_value(rng)
        if rng.random() < 0.5:
            payload = {"ref": rng.choice(STRINGS), "after": rng.choice(STRINGS), "push": payload}
        body = json.dumps(payload).encode("utf-8", "surrogatepass")

        response = post_hook(body, signed(provider, secret, body))

        assert response.status_code in ANSWERS, response.content
        assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("provider", list(HEADER_SETS))
def test_correctly_signed_random_bytes_are_400(provider, secret, post_hook):
    rng = random.Random(f"signed-bytes-{provider}")
    for _ in range(30):
        body = b"\xff" + rng.randbytes(rng.randrange(500))

        assert post_hook(body, signed(provider, secret, body)).status_code == 400


def test_hostile_header_values_on_a_genuine_push_never_crash(secret, post_hook):
    rng = random.Random("headers")
    values = [
        "\x00",
        "é" * 500,
        "x" * 10_000,
        "",
        " ",
        "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
        "☃",
    ]
    for provider in HEADER_SETS:
        for _ in range(10):
            body = payloads.encode({"ref": "refs/heads/other", "after": SHA})
            extra = {
                name: rng.choice(values)
                for name in (
                    *HEADER_SETS["github"],
                    "X-Gitlab-Event-UUID",
                    "X-Request-UUID",
                    "X-Gitea-Delivery",
                    "X-Deployer-Delivery",
                    "Idempotency-Key",
                )
            }
            response = post_hook(
                body,
                signed(provider, secret, body)
                | {
                    name: value
                    for name, value in extra.items()
                    if name not in HEADER_SETS[provider]
                },
            )

            assert response.status_code in ANSWERS, response.content


def test_payload_text_is_stored_clean(secret, post_hook):
    body = json.dumps({"ref": "refs/heads/\x00\ud800" + "x" * 400, "after": SHA}).encode()

    response = post_hook(
        body, signed("generic", secret, body, {"X-Deployer-Delivery": "id\x00" * 100})
    )

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert "\x00" not in delivery.ref
    assert len(delivery.ref) == 255
    assert delivery.delivery_id == "id" * 50


def test_nul_and_lone_surrogates_in_the_pusher_still_deploy(secret, post_hook):
    body = json.dumps({"ref": "refs/heads/main", "after": SHA, "pusher": "ev\x00il\ud800"}).encode()

    response = post_hook(body, signed("generic", secret, body))

    assert response.status_code == 202
    assert Build.objects.get().trigger_detail == "generic push by evil?"


@pytest.mark.parametrize(
    "slug",
    ["x" * 5000, quote("☃"), "%00", "..", "shop..", "shop%20", quote("shop\x00"), "SHOP", "-shop"],
)
def test_odd_project_names_answer_as_a_bad_signature(slug, secret, post_hook):
    body, headers = payloads.generic(secret)

    response = post_hook(body, headers, slug=slug)

    assert response.status_code == 401
    assert response.json()["result"] == "unauthorized"


def test_a_malformed_content_length_does_not_crash(secret, client):
    body, headers = payloads.generic(secret)

    response = client.generic(
        "POST",
        "/hooks/shop/",
        data=body,
        content_type="application/json",
        headers=headers,
        CONTENT_LENGTH="banana",
    )

    assert response.status_code in ANSWERS
