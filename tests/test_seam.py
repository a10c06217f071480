"""The transport seam: it sees every httpx/httpx2 request, shapes responses, and always restores."""

from __future__ import annotations

import asyncio
import http.client
import time
import types

import httpx
import pytest
import urllib3

from laios_conformance.seam import STAND_IN_TOKEN, Fault, Reply, interpose, virtual_sleep

httpx2 = pytest.importorskip("httpx2")
MODULES = [httpx, httpx2]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_sees_requests_of_clients_created_inside_the_block(module) -> None:
    with (
        interpose(
            lambda seen, upstream: Reply(body=b'{"ok": true}', headers={"content-type": "application/json"})
        ) as traffic,
        module.Client(timeout=7) as client,
    ):
        response = client.post("https://api.example.invalid/v1/x", json={"a": 1})
    assert response.json() == {"ok": True}
    assert [s.json for s in traffic.seen] == [{"a": 1}]
    assert traffic.last.timeout["read"] == 7
    assert traffic.last.module is module


SEAM_POINTS = [
    (httpx.Client, "_transport_for_url"),
    (httpx.AsyncClient, "_transport_for_url"),
    (httpx2.Client, "_transport_for_url"),
    (urllib3.connectionpool.HTTPConnectionPool, "_make_request"),
    (http.client.HTTPConnection, "request"),
    (http.client.HTTPConnection, "getresponse"),
]


@pytest.mark.parametrize("owner, name", SEAM_POINTS, ids=lambda p: getattr(p, "__qualname__", p))
def test_restores_every_seam_point_even_after_an_error(owner, name) -> None:
    original = owner.__dict__[name]
    with pytest.raises(RuntimeError), interpose():
        assert owner.__dict__[name] is not original
        raise RuntimeError("boom")
    assert owner.__dict__[name] is original


@pytest.mark.parametrize(
    "fault, error",
    [
        (Fault.CONNECT_ERROR, httpx.ConnectError),
        (Fault.CONNECT_TIMEOUT, httpx.ConnectTimeout),
        (Fault.READ_TIMEOUT, httpx.ReadTimeout),
        (Fault.DROPPED, httpx.RemoteProtocolError),
    ],
)
def test_faults_raise_the_module_s_own_errors(fault: Fault, error: type) -> None:
    with interpose(lambda seen, upstream: fault), httpx.Client() as client, pytest.raises(error):
        client.get("https://api.example.invalid/")


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
@pytest.mark.parametrize("fault", [Fault.CONNECT_ERROR, Fault.CONNECT_TIMEOUT])
def test_an_injected_connect_fault_is_retried_as_the_transport_s_pool_would(module, fault: Fault) -> None:
    """httpcore retries a failed connection ``retries`` times, below the seam, backing off
    0 s, 0.5 s, 1 s: each retry is an attempt the seam sees."""
    with (
        virtual_sleep() as sleeps,
        interpose(lambda seen, upstream: fault) as traffic,
        module.Client(transport=module.HTTPTransport(retries=3)) as client,
        pytest.raises(module.TransportError),
    ):
        client.get("https://api.example.invalid/")
    assert len(traffic) == 4
    assert sleeps.calls == [0.0, 0.5, 1.0]


def test_a_connection_that_succeeds_on_a_retry_gets_its_answer_and_an_http_error_is_not_retried() -> None:
    answers = iter([Fault.CONNECT_ERROR, Reply(status=401, body=b"no")])
    with (
        virtual_sleep(),
        interpose(lambda seen, upstream: next(answers)) as traffic,
        httpx.Client(transport=httpx.HTTPTransport(retries=3)) as client,
    ):
        assert client.get("https://api.example.invalid/").status_code == 401
    assert [seen.status for seen in traffic.seen] == [None, 401]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_an_async_transport_s_connect_retries_are_attempts_too(module) -> None:
    async def call() -> None:
        async with module.AsyncClient(transport=module.AsyncHTTPTransport(retries=2)) as client:
            await client.get("https://api.example.invalid/")

    with interpose(lambda seen, upstream: Fault.CONNECT_ERROR) as traffic, pytest.raises(module.ConnectError):
        asyncio.run(call())
    assert len(traffic) == 3


def test_reply_is_cut_into_separate_reads_and_dropped_where_asked() -> None:
    reply = Reply(body=b"abcdefgh", cuts=[1, 3, 3, 99], drop_at=6)
    assert reply.pieces() == [b"a", b"bc", b"def"]
    with (
        interpose(lambda seen, upstream: reply) as traffic,
        httpx.Client() as client,
        client.stream("GET", "https://api.example.invalid/") as response,
    ):
        pieces = []
        with pytest.raises(httpx.RemoteProtocolError):
            for piece in response.iter_raw():
                pieces.append(piece)
    assert pieces == [b"a", b"bc", b"def"]
    assert traffic.last.closed.is_set()


def test_gate_withholds_the_rest_until_opened_and_records_expiry() -> None:
    import threading

    gate = threading.Event()
    reply = Reply(body=b"first|rest", cuts=[6], gate=gate, gate_timeout=0.05)
    with (
        interpose(lambda seen, upstream: reply),
        httpx.Client() as client,
        client.stream("GET", "https://api.example.invalid/") as response,
    ):
        assert list(response.iter_raw()) == [b"first|", b"rest"]
    assert reply.gate_expired
    reply = Reply(body=b"first|rest", cuts=[6], gate=gate, gate_timeout=5)
    gate.set()
    with interpose(lambda seen, upstream: reply), httpx.Client() as client:
        assert client.get("https://api.example.invalid/").content == b"first|rest"
    assert not reply.gate_expired


def test_a_gate_read_by_its_own_opener_expires_at_once_and_waits_for_anyone_else() -> None:
    """The thread that would open the gate cannot while it is the one reading: no timeout to sit out."""
    import threading

    gate = threading.Event()
    reply = Reply(body=b"first|rest", cuts=[6], gate=gate, gate_timeout=60, gate_opener=threading.current_thread())
    with interpose(lambda seen, upstream: reply), httpx.Client() as client:
        assert client.get("https://api.example.invalid/").content == b"first|rest"  # at once, not after 60 s
    assert reply.gate_expired

    reply = Reply(body=b"first|rest", cuts=[6], gate=gate, gate_timeout=60, gate_opener=threading.current_thread())
    got: list[bytes] = []

    def read_elsewhere() -> None:
        with httpx.Client() as client:
            got.append(client.get("https://api.example.invalid/").content)

    with interpose(lambda seen, upstream: reply):
        reader = threading.Thread(target=read_elsewhere)
        reader.start()
        reader.join(0.2)
        assert reader.is_alive()  # another thread's read waits for the gate
        gate.set()
        reader.join(5)
    assert got == [b"first|rest"] and not reply.gate_expired


def test_early_close_of_a_shaped_response_is_observed() -> None:
    with interpose(lambda seen, upstream: Reply(body=b"line1\nline2\n", cuts=[6])) as traffic, httpx.Client() as client:
        with client.stream("GET", "https://api.example.invalid/") as response:
            next(response.iter_lines())
            assert not traffic.last.closed.is_set()
        assert traffic.last.closed.is_set()


def test_async_clients_are_seen_too() -> None:
    async def call() -> bytes:
        async with httpx.AsyncClient() as client:
            return (await client.get("https://api.example.invalid/")).content

    with interpose(lambda seen, upstream: Reply(body=b"async ok")) as traffic:
        assert asyncio.run(call()) == b"async ok"
    assert len(traffic) == 1


CASSETTE = """interactions:
- request:
    body: null
    headers: {}
    method: GET
    uri: https://api.example.invalid/x
  response:
    body: {string: recorded body}
    headers: {content-type: [text/plain]}
    status: {code: 200, message: OK}
version: 1
"""


def test_interposer_entered_after_vcr_wraps_its_replay(tmp_path) -> None:
    """vcrpy patches the same methods; the seam, entered inside the cassette, sees replayed traffic."""
    import vcr

    cassette = tmp_path / "c.yaml"
    cassette.write_text(CASSETTE)
    with vcr.VCR(record_mode="none").use_cassette(str(cassette)), interpose() as traffic, httpx.Client() as client:
        assert client.get("https://api.example.invalid/x").content == b"recorded body"
    assert len(traffic) == 1 and traffic.last.status == 200


def test_async_handler_can_read_the_upstream_response(tmp_path) -> None:
    import vcr

    cassette = tmp_path / "c.yaml"
    cassette.write_text(CASSETTE)

    def shout(seen, upstream):
        return Reply(body=upstream().body.upper())

    async def call() -> bytes:
        async with httpx.AsyncClient() as client:
            return (await client.get("https://api.example.invalid/x")).content

    with vcr.VCR(record_mode="none").use_cassette(str(cassette), allow_playback_repeats=True):
        with interpose(shout):
            assert asyncio.run(call()) == b"RECORDED BODY"
        with interpose() as traffic:
            assert asyncio.run(call()) == b"recorded body"
    assert traffic.last.status == 200


def test_virtual_sleep_records_instead_of_sleeping() -> None:
    started = time.perf_counter()
    with virtual_sleep() as log:
        time.sleep(30)
        time.sleep(0.5)
    assert log.calls == [30.0, 0.5] and log.total == 30.5
    assert time.perf_counter() - started < 5
    assert time.sleep is not None and time.sleep.__module__ == "time"


def test_virtual_sleep_moves_the_clocks_on_so_a_deadline_ends_a_retry_loop() -> None:
    """A provider that retries until 15 s have passed, backing off 2 s, 4 s, 8 s, 16 s: on
    the virtual clock it stops after as many attempts as on a real one, at once."""
    originals = [time.monotonic, time.time, time.perf_counter, time.monotonic_ns, time.time_ns]
    with virtual_sleep() as log:
        before = (time.monotonic(), time.time(), time.perf_counter(), time.monotonic_ns())
        deadline, attempts, pause = time.monotonic() + 15, 0, 2.0
        while time.monotonic() < deadline and attempts < 1000:
            attempts += 1
            time.sleep(pause)
            pause *= 2
        after = (time.monotonic(), time.time(), time.perf_counter(), time.monotonic_ns())
    assert attempts == 4 and log.calls == [2.0, 4.0, 8.0, 16.0]
    assert [round(a - b) for a, b in zip(after[:3], before[:3], strict=True)] == [30, 30, 30]
    assert round((after[3] - before[3]) / 1e9) == 30
    assert [time.monotonic, time.time, time.perf_counter, time.monotonic_ns, time.time_ns] == originals


def test_virtual_sleep_also_covers_the_names_a_provider_s_module_imported() -> None:
    """``from time import sleep, monotonic`` in the provider's modules: swapped for the block."""
    module = types.ModuleType("provider_module")
    module.sleep, module.monotonic, module.pause = time.sleep, time.monotonic, time.sleep
    started = time.perf_counter()
    with virtual_sleep([module]) as log:
        before = module.monotonic()
        module.sleep(20)
        module.pause(10)
        assert module.monotonic() - before >= 30
    assert log.calls == [20.0, 10.0] and time.perf_counter() - started < 5
    assert (module.sleep, module.monotonic, module.pause) == (time.sleep, time.monotonic, time.sleep)


THREADED_CASSETTE = """interactions:
- request:
    body: null
    headers: {}
    method: GET
    uri: http://127.0.0.1:9/telemetry
  response:
    body: {string: ok}
    headers: {content-type: [text/plain]}
    status: {code: 200, message: OK}
- request:
    body: null
    headers: {}
    method: GET
    uri: https://api.example.invalid/x
  response:
    body: {string: recorded body}
    headers: {content-type: [text/plain]}
    status: {code: 200, message: OK}
version: 1
"""


def test_the_seam_holds_while_vcrpy_resets_its_patches_in_another_thread(tmp_path) -> None:
    """vcrpy puts its originals back, process-wide, each time it builds an http.client
    connection; another thread's urllib traffic must not open a hole in the seam."""
    import threading
    import urllib.request

    import vcr
    from pytest_recording import network

    cassette = tmp_path / "c.yaml"
    cassette.write_text(THREADED_CASSETTE)
    stop, background = threading.Event(), []

    def telemetry() -> None:
        while not stop.is_set():
            background.append(urllib.request.urlopen("http://127.0.0.1:9/telemetry", timeout=1).read())

    calls = 300
    with (
        network.blocking_context(allowed_hosts=[]),
        vcr.VCR(record_mode="none").use_cassette(str(cassette), allow_playback_repeats=True),
    ):
        thread = threading.Thread(target=telemetry)
        thread.start()
        try:
            with interpose(lambda seen, upstream: Reply(body=b"from the seam")) as answered, httpx.Client() as client:
                synthetic = [client.get("https://api.example.invalid/y").content for _ in range(calls)]
            with interpose() as replayed, httpx.Client() as client:
                recorded = [client.get("https://api.example.invalid/x").content for _ in range(calls)]
        finally:
            stop.set()
            thread.join()
    assert synthetic == [b"from the seam"] * calls and len(answered) == calls
    assert recorded == [b"recorded body"] * calls and len(replayed) == calls
    assert len(background) > 10 and set(background) == {b"ok"}  # it ran alongside, unseen by the seam


def test_a_cassette_closes_only_after_another_thread_s_momentary_reset_ends(tmp_path) -> None:
    """Closed during another thread's reset, a cassette's classes came back when the reset
    ended, and the next cassette's requests were answered from the closed one."""
    import threading

    import vcr
    import vcr.patch

    from laios_conformance.seam import resets_serialised

    cassette = tmp_path / "c.yaml"
    cassette.write_text(THREADED_CASSETTE)
    real = http.client.HTTPSConnection
    opened = vcr.VCR(record_mode="none").use_cassette(str(cassette))
    with resets_serialised():
        opened.__enter__()
        reset = vcr.patch.force_reset()
        reset.__enter__()  # this thread is inside one of vcrpy's momentary resets
        closer = threading.Thread(target=opened.__exit__, args=(None, None, None))
        closer.start()
        closer.join(0.2)  # unserialised, the close happens here, inside the reset
        assert closer.is_alive()
        reset.__exit__(None, None, None)
        closer.join()
    assert http.client.HTTPSConnection is real  # not the closed cassette's class


def test_a_reset_that_never_ends_delays_a_cassette_by_a_bounded_wait_only(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While recording, a reset lasts as long as a real connect: a provider thread whose
    connect has no timeout must not keep the next clause's cassette from opening and closing."""
    import threading

    import vcr
    import vcr.patch

    from laios_conformance.seam import _vcr_aware, resets_serialised

    monkeypatch.setattr(_vcr_aware, "_LONGEST_RESET", 0.01)
    cassette = tmp_path / "c.yaml"
    cassette.write_text(THREADED_CASSETTE)
    inside, release = threading.Event(), threading.Event()

    def connecting_forever() -> None:
        with vcr.patch.force_reset():
            inside.set()
            release.wait(30)

    def next_clause() -> None:
        with vcr.VCR(record_mode="none").use_cassette(str(cassette)):
            pass

    with resets_serialised():
        connect = threading.Thread(target=connecting_forever)
        connect.start()
        inside.wait(30)
        clause = threading.Thread(target=next_clause)
        clause.start()
        clause.join(30)
        went_on = not clause.is_alive()
        release.set()
        connect.join()
    assert went_on


def test_virtual_sleep_reaches_time_functions_a_provider_module_binds_by_name_later_too() -> None:
    import time
    import types

    provider_module = types.ModuleType("laios_provider_with_its_own_sleep")
    provider_module.sleep = time.sleep  # from time import sleep
    with virtual_sleep([provider_module]) as sleeps:
        provider_module.sleep(30)
    assert sleeps.calls == [30.0] and provider_module.sleep is time.sleep
    provider_module.monotonic = time.monotonic  # bound after the first block
    with virtual_sleep([provider_module]) as sleeps:
        before = provider_module.monotonic()
        provider_module.sleep(60)
        assert provider_module.monotonic() - before >= 60
    assert provider_module.monotonic is time.monotonic
    provider_module.sleep = print  # rebound to something else: left alone
    with virtual_sleep([provider_module]):
        assert provider_module.sleep is print


def test_a_credential_request_is_no_traffic_and_gets_a_stand_in_token_where_nothing_answers() -> None:
    """An OAuth token request (a form with ``grant_type``) goes upstream, past the handler;
    here upstream is a closed port, so the kit answers it with a token that means nothing.
    The API request after it is the block's traffic, as every other."""
    asked = []

    def handler(seen, upstream):
        asked.append(seen.url)
        return Reply(body=b'{"ok": true}', headers={"content-type": "application/json"})

    with interpose(handler) as traffic, httpx.Client() as client:
        token = client.post("http://127.0.0.1:9/token", data={"grant_type": "client_credentials", "client_id": "x"})
        client.post("https://api.example.invalid/v1/chat", json={"n": 1})
    assert token.json()["access_token"] == STAND_IN_TOKEN
    assert [seen.url for seen in traffic.seen] == asked == ["https://api.example.invalid/v1/chat"]
    assert [seen.url for seen in traffic.credential_requests] == ["http://127.0.0.1:9/token"]
    assert traffic.credential_requests[0].upstream_error is None  # answered: nothing for a clause to refuse


def test_a_form_without_grant_type_is_traffic_like_any_request() -> None:
    with interpose(lambda seen, upstream: Reply(body=b"{}")) as traffic, httpx.Client() as client:
        client.post("https://api.example.invalid/v1/upload", data={"purpose": "fine-tune"})
    assert len(traffic.seen) == 1 and traffic.credential_requests == []
