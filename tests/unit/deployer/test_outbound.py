"""Requests to user-given URLs: refused before connecting, pinned to the checked address."""

from __future__ import annotations

import functools
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3

from deployer import outbound
from monitoring import notify
from tests.unit.deployer.servers import PUBLIC, HitServer, fake_dns
from tests.unit.deployer.test_settings import _load_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def dns(monkeypatch):
    return fake_dns(monkeypatch)


@pytest.fixture
def connects(monkeypatch):
    """Every connection attempt urllib3 makes, recorded (and still made)."""
    seen: list[tuple] = []
    real = urllib3.util.connection.create_connection

    def record(address, *args, **kwargs):
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", record)
    return seen


@pytest.fixture
def loopback_allowed(settings):
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.0/8", "::1/128"]


def post(url: str) -> int:
    return notify.post_webhook(url, b"{}", secret="s", event="test", delivery=1)


@pytest.mark.parametrize(
    ("form", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("0.0.0.0", "0.0.0.0"),
    ],
)
def test_every_spelling_of_this_machine_is_refused_before_connecting(form, address, connects):
    with HitServer() as server:
        url = server.url(form)
        with pytest.raises(outbound.Refused) as caught:
            outbound.check_url(url)
        with pytest.raises(notify.DeliveryError) as failed:
            post(url)

    assert server.hits == [] and connects == []
    assert f"{url} " in str(caught.value) and address in str(caught.value)
    assert "this machine" in str(caught.value)
    assert not failed.value.retry


def test_ipv6_loopback_is_refused_before_connecting(connects):
    with HitServer(host="::1") as server, pytest.raises(notify.DeliveryError) as failed:
        post(server.url())

    assert server.hits == [] and connects == []
    assert "points at ::1, a loopback address" in str(failed.value)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata service"),
        ("http://[fe80::1]/", "a link-local address"),
        ("http://10.0.0.7/hook", "a private network address"),
        ("http://172.16.3.4/hook", "a private network address"),
        ("http://192.168.1.1/hook", "a private network address"),
        ("http://100.64.0.1/", "a shared (carrier-grade NAT) address"),
        ("http://[fd00::1]/", "a private network address"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://240.0.0.1/", "a reserved address"),
        ("http://[::ffff:10.0.0.1]/", "an IPv6 form of 10.0.0.1, a private network address"),
        ("http://[64:ff9b::a9fe:a9fe]/", "an IPv6 form of 169.254.169.254, the cloud metadata"),
        ("http://[2002:c0a8:101::]/", "an IPv6 form of 192.168.1.1"),
    ],
)
def test_private_link_local_and_reserved_addresses_are_refused_before_connecting(
    url, why, connects
):
    with pytest.raises(notify.DeliveryError) as failed:
        post(url)

    assert why in str(failed.value)
    assert connects == []


def test_a_name_is_refused_when_any_of_its_addresses_is_private(dns, connects):
    dns.names["hooks.example.com"] = [[PUBLIC, "10.1.2.3"]]

    with pytest.raises(outbound.Refused) as caught:
        outbound.check_url("https://hooks.example.com/x")

    assert "https://hooks.example.com/x resolves to 10.1.2.3, a private network" in str(
        caught.value
    )
    assert connects == []


def test_a_public_name_is_accepted_with_all_its_addresses(dns):
    dns.names["hooks.example.com"] = [[PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]]

    target = outbound.check_url("https://hooks.example.com:8443/a?b=1")

    assert target.addresses == (PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    assert (target.host, target.port, target.path) == ("hooks.example.com", 8443, "/a?b=1")


def test_an_allowed_range_is_reached_and_others_stay_refused(loopback_allowed, connects):
    with HitServer() as server:
        assert post(server.url()) == 200
        with pytest.raises(notify.DeliveryError):
            post("http://10.0.0.7/hook")

    assert len(server.hits) == 1
    assert connects == [("127.0.0.1", server.port)]


def test_an_allowed_range_covers_the_ipv6_forms_of_its_addresses(settings):
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = ["10.20.0.0/16"]

    assert outbound.check_url("http://[::ffff:10.20.0.5]:8000/").addresses == ("::ffff:10.20.0.5",)
    with pytest.raises(outbound.Refused, match=r"an IPv6 form of 10\.21\.0\.5, a private network"):
        outbound.check_url("http://[::ffff:10.21.0.5]:8000/")


def test_the_request_goes_to_the_checked_address_with_the_name_as_host(
    loopback_allowed, dns, connects
):
    # The name resolves to the receiver once; a second look-up would answer an address that
    # has nothing listening: only the checked address is ever connected to.
    dns.names["hooks.example.com"] = [["127.0.0.1"], ["127.0.0.2"]]
    with HitServer() as server:
        assert post(f"http://hooks.example.com:{server.port}/hook?x=1") == 200

    assert server.hits == [("POST", "/hook?x=1", f"hooks.example.com:{server.port}")]
    assert dns.calls.count("hooks.example.com") == 1
    assert connects == [("127.0.0.1", server.port)]


def test_a_redirect_is_reported_and_not_followed(loopback_allowed):
    with HitServer() as elsewhere, HitServer(status=302, location=elsewhere.url()) as server:
        with pytest.raises(notify.DeliveryError) as failed:
            post(server.url())

    assert len(server.hits) == 1 and elsewhere.hits == []
    assert "answered 302 Found (a redirect: not followed)" in str(failed.value)
    assert failed.value.status == 302


def test_nothing_the_receiver_writes_is_returned(loopback_allowed):
    secret = b"db-password=hunter2-from-the-internal-service"
    with HitServer(status=500, body=secret) as server:
        with pytest.raises(notify.DeliveryError) as failed:
            post(server.url())
        answer = outbound.request(outbound.check_url(server.url()), "GET", timeout=5)

    assert str(failed.value) == "The receiver answered 500 Internal Server Error."
    assert (answer.status, str(answer)) == (500, "500 Internal Server Error")
    assert "hunter2" not in repr(answer)


def test_a_receiver_that_never_answers_times_out(loopback_allowed, settings):
    settings.DEPLOYER_NOTIFY_TIMEOUT = 0.5
    with HitServer(hang=True) as server, pytest.raises(notify.DeliveryError) as failed:
        post(server.url())

    assert "The request failed: no answer within 0.5 s" in str(failed.value)
    assert failed.value.retry


def test_a_receiver_answering_a_byte_at_a_time_is_cut_off_at_the_deadline(loopback_allowed, caplog):
    # Each byte arrives well within any per-read timeout; only the whole-exchange bound ends it.
    with HitServer(drip=True) as server, pytest.raises(outbound.Failed) as failed:
        outbound.request(outbound.check_url(server.url("", "/T0/B0/TOKEN")), "POST", timeout=0.5)

    assert failed.value.timed_out
    assert len(server.hits) == 1
    assert "TOKEN" not in caplog.text  # the cut-off headers are not logged with the path


def test_nothing_listening_is_a_connection_failure(loopback_allowed):
    with HitServer() as server:
        url = server.url()
    with pytest.raises(outbound.Failed, match="could not connect"):
        outbound.request(outbound.check_url(url), "POST", timeout=2)


def test_https_is_verified_against_the_name_not_the_address(loopback_allowed, dns):
    dns.names["hooks.example.com"] = [["127.0.0.1"]]
    with HitServer() as server, pytest.raises(outbound.Failed, match="TLS handshake"):
        outbound.request(
            outbound.check_url(f"https://hooks.example.com:{server.port}/"), "POST", timeout=2
        )


@pytest.mark.parametrize(
    "setting",
    ["DEPLOYER_CADDY_ADMIN_URL", "REDIS_URL", "CELERY_BROKER_URL", "DEPLOYER_DASHBOARD_UPSTREAM"],
)
def test_deployer_own_services_are_refused_even_inside_an_allowed_range(
    setting, loopback_allowed, settings, connects
):
    with HitServer() as server:
        value = (
            server.url() if setting != "DEPLOYER_DASHBOARD_UPSTREAM" else f"127.0.0.1:{server.port}"
        )
        setattr(settings, setting, value)
        for form in ("127.0.0.1", "localhost", "127.0.0.2", "[::ffff:127.0.0.1]", "0.0.0.0"):
            with pytest.raises(
                outbound.Refused, match=f"Deployer's own services \\(port {server.port}\\)"
            ):
                outbound.check_url(server.url(form, "/stop"))

    assert server.hits == [] and connects == []


def test_the_database_port_is_refused_on_every_address_of_this_machine(loopback_allowed, settings):
    port = settings.DATABASES["default"].get("PORT") or 5432
    with pytest.raises(outbound.Refused, match="Deployer's own services"):
        outbound.check_url(f"http://127.0.0.5:{port}/")


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("https://git.example.com/acme/shop.git", (PUBLIC,)),
        ("git@git.example.com:acme/shop.git", (PUBLIC,)),
        ("ssh://git@git.example.com:2222/acme/shop.git", (PUBLIC,)),
    ],
)
def test_a_repository_host_is_checked_and_its_addresses_returned(url, addresses, dns):
    dns.names["git.example.com"] = [[PUBLIC]]

    assert outbound.check_repository_url(url) == addresses


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://127.0.0.1/acme/shop.git", "points at 127.0.0.1, a loopback address"),
        ("git@10.0.0.5:acme/shop.git", "points at 10.0.0.5, a private network address"),
        ("ssh://git@[::1]:22/x.git", "points at ::1, a loopback address"),
        ("http://169.254.169.254/x.git", "the cloud metadata service"),
        ("/srv/git/shop.git", "names no network host"),
        ("file:///srv/git/shop.git", "names no network host"),
        ("https://nosuchhost.invalid/x.git", "could not be resolved"),
    ],
)
def test_a_repository_on_a_local_or_private_host_is_refused(url, message):
    with pytest.raises(outbound.Refused) as caught:
        outbound.check_repository_url(url)

    assert message in str(caught.value)
    assert url in str(caught.value)


def test_a_malformed_allowed_network_stops_start_up_naming_the_setting():
    result = _load_settings(DEPLOYER_OUTBOUND_ALLOW_NETWORKS="10.0.0.0/8,not-a-network")

    assert result.returncode != 0
    assert "DEPLOYER_OUTBOUND_ALLOW_NETWORKS" in result.stderr
    assert "not-a-network" in result.stderr


def test_git_connects_to_the_pinned_address_not_to_a_new_look_up(tmp_path, dns, settings):
    # A bare repository served over git's dumb HTTP protocol by a loopback server; its name
    # resolves nowhere, so only the pinned, checked address can reach it.
    settings.DEPLOYER_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.0/8"]
    work, bare = tmp_path / "work", tmp_path / "site" / "shop.git"
    git = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(work)], check=True)
    (work / "app.py").write_text("print('hi')\n")
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "one"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://git.pinned.invalid:{server.server_address[1]}/shop.git"
    dns.names["git.pinned.invalid"] = [["127.0.0.1"]]
    try:
        addresses = outbound.check_repository_url(url)
        pin = outbound.git_pin_options(url, addresses)
        plain = subprocess.run(["git", "ls-remote", url], capture_output=True, text=True)
        pinned = subprocess.run(["git", *pin, "ls-remote", url], capture_output=True, text=True)
    finally:
        server.shutdown()
        server.server_close()

    assert pin == [
        "-c",
        f"http.curloptResolve=git.pinned.invalid:{server.server_address[1]}:127.0.0.1",
    ]
    assert plain.returncode != 0  # the name itself resolves nowhere
    assert pinned.returncode == 0 and "refs/heads/main" in pinned.stdout


def test_git_pin_options_bracket_ipv6_and_skip_ssh():
    assert outbound.git_pin_options("https://git.example.com/a.git", ("2001:db8::1", PUBLIC)) == [
        "-c",
        f"http.curloptResolve=git.example.com:443:[2001:db8::1],{PUBLIC}",
    ]
    assert outbound.git_pin_options("git@git.example.com:a/b.git", (PUBLIC,)) == []
