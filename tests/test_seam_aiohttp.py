"""The seam on aiohttp: the same interface as on every other stack, aiohttp's own behaviour."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from laios_conformance.seam import Fault, Reply, interpose
from tests.support.fake_api import FakeAPI

URL = "https://api.example.invalid/v1/chat/completions"
BODY = {"model": "m", "messages": [{"role": "user", "content": "é"}]}
SSE = b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'
Reader = Callable[[aiohttp.ClientResponse], Awaitable[Any]]


async def _read(response: aiohttp.ClientResponse) -> bytes:
    return await response.read()


def post(read: Reader = _read, url: str = URL, session_timeout: Any = None, **kwargs: Any) -> Any:
    """POST ``BODY`` on a session of its own, and ``read`` the response inside its ``async with``."""

    async def run() -> Any:
        options = {} if session_timeout is None else {"timeout": session_timeout}
        async with (
            aiohttp.ClientSession(**options) as session,
            session.post(url, json=BODY, headers={"authorization": "Bearer k"}, **kwargs) as response,
        ):
            return await read(response)

    return asyncio.run(run())


def test_a_request_is_seen_as_sent_and_the_reply_read_with_aiohttp_s_own_methods() -> None:
    reply = Reply(body=b'{"ok": 1}', headers={"content-type": "application/json"})

    async def read(response: aiohttp.ClientResponse) -> Any:
        return response.status, await response.json(), await response.text(), response.headers["content-type"]

    with interpose(lambda seen, upstream: reply) as traffic:
        assert post(read) == (200, {"ok": 1}, '{"ok": 1}', "application/json")
    seen = traffic.last
    assert (seen.stack, seen.method, seen.url, seen.json) == ("aiohttp", "POST", URL, BODY)
    assert seen.headers["authorization"] == "Bearer k"
    assert seen.headers["Content-Type"] == "application/json"  # what json= makes aiohttp send


@pytest.mark.parametrize(
    "session_timeout, per_request, expected",
    [
        (None, {}, (30.0, 300.0)),  # aiohttp's default: 5 minutes in all, 30 s to connect
        (aiohttp.ClientTimeout(sock_connect=5, sock_read=37), {}, (5.0, 37.0)),
        (aiohttp.ClientTimeout(total=20, sock_read=37), {}, (20.0, 20.0)),  # total bounds it all
        (None, {"timeout": aiohttp.ClientTimeout(total=None)}, (None, None)),  # waits forever
        (None, {"timeout": 12}, (12.0, 12.0)),  # a number is a total
    ],
)
def test_the_client_timeout_is_seen_as_aiohttp_applies_it(
    session_timeout: Any, per_request: dict[str, Any], expected: tuple[float | None, float | None]
) -> None:
    with interpose(lambda seen, upstream: Reply(body=b"{}")) as traffic:
        post(session_timeout=session_timeout, **per_request)
    connect, read = expected
    assert traffic.last.timeout == {"connect": connect, "read": read, "write": read}


@pytest.mark.parametrize(
    "fault, error",
    [
        (Fault.CONNECT_ERROR, aiohttp.ClientConnectorError),
        (Fault.CONNECT_TIMEOUT, aiohttp.ServerTimeoutError),
        (Fault.READ_TIMEOUT, aiohttp.ServerTimeoutError),
        (Fault.DROPPED, aiohttp.ClientPayloadError),
    ],
)
def test_faults_are_aiohttp_s_own_errors(fault: Fault, error: type) -> None:
    with interpose(lambda seen, upstream: fault), pytest.raises(error) as raised:
        post()
    assert isinstance(raised.value, aiohttp.ClientError)
    if fault in (Fault.CONNECT_TIMEOUT, Fault.READ_TIMEOUT):
        assert isinstance(raised.value, asyncio.TimeoutError)


def test_pieces_arrive_as_separate_reads() -> None:
    reply = Reply(body=SSE, cuts=[1, 15, 16])

    async def chunks(response: aiohttp.ClientResponse) -> list[bytes]:
        return [piece async for piece in response.content.iter_any()]

    async def lines(response: aiohttp.ClientResponse) -> list[bytes]:
        return [line async for line in response.content]

    async def fours(response: aiohttp.ClientResponse) -> list[bytes]:
        return [piece async for piece in response.content.iter_chunked(4)]

    with interpose(lambda seen, upstream: reply):
        assert post(chunks) == [b"d", SSE[1:15], b"\n", SSE[16:]]
        assert post(lines) == SSE.splitlines(keepends=True)
        pieces = post(fours)
    assert pieces[:2] == [b"d", b"ata:"] and b"".join(pieces) == SSE  # a read never waits past a piece


def test_the_gate_holds_the_rest_back() -> None:
    gate = threading.Event()
    reply = Reply(body=SSE, cuts=[16], gate=gate, gate_timeout=5)

    async def first_line(response: aiohttp.ClientResponse) -> bytes:
        return await response.content.readline()

    with interpose(lambda seen, upstream: reply):
        assert post(first_line) == b'data: {"n": 1}\n'
    assert not reply.gate_expired and not gate.is_set()  # the first line came before the gate opened


def test_a_drop_mid_stream_comes_after_the_pieces_before_it() -> None:
    reply = Reply(body=SSE, cuts=[16], drop_at=16)

    async def read(response: aiohttp.ClientResponse) -> tuple[bytes, BaseException | None]:
        first = await response.content.readany()
        try:
            await response.content.readany()
        except aiohttp.ClientPayloadError as exc:
            return first, exc
        return first, None

    with interpose(lambda seen, upstream: reply):
        first, error = post(read)
    assert first == SSE[:16] and error is not None


def test_closing_early_is_observed_and_reading_to_the_end_is_not_closing() -> None:
    reply = Reply(body=SSE, cuts=[16])
    with interpose(lambda seen, upstream: reply) as traffic:

        async def open_read_all_then_close() -> None:
            async with aiohttp.ClientSession() as session:
                response = await session.post(URL, data=b"{}")
                await response.content.readline()
                assert not traffic.last.closed.is_set()
                await response.read()
                assert not traffic.last.closed.is_set()
                response.release()
                assert traffic.last.closed.is_set()

        asyncio.run(open_read_all_then_close())


@pytest.mark.parametrize("owner", [True, False])
def test_closing_a_session_closes_the_responses_on_its_connector_if_it_owns_it(owner: bool) -> None:
    with interpose(lambda seen, upstream: Reply(body=SSE, cuts=[16])) as traffic:

        async def open_then_close_the_session() -> tuple[bool, bool]:
            connector = aiohttp.TCPConnector()
            session = aiohttp.ClientSession(connector=connector, connector_owner=owner)
            response = await session.post(URL, data=b"{}")
            await response.content.readline()
            await session.close()
            by_the_session = traffic.last.closed.is_set()
            await connector.close()
            return by_the_session, traffic.last.closed.is_set()

        assert asyncio.run(open_then_close_the_session()) == (owner, True)


def test_raise_for_status_applies_to_the_seam_s_reply() -> None:
    with (
        interpose(lambda seen, upstream: Reply(status=503, body=b"busy")),
        pytest.raises(aiohttp.ClientResponseError) as raised,
    ):
        post(raise_for_status=True)
    assert raised.value.status == 503


CASSETTE = """interactions:
- request:
    body: '{"q": 1}'
    headers: {}
    method: POST
    uri: https://api.example.invalid/v1/chat/completions
  response:
    body: {string: recorded body}
    headers: {content-type: [text/plain]}
    status: {code: 200, message: OK}
version: 1
"""


def _send(url: str = URL) -> bytes:
    async def run() -> bytes:
        async with aiohttp.ClientSession() as session, session.post(url, json={"q": 1}) as response:
            return await response.read()

    return asyncio.run(run())


def test_entered_inside_a_cassette_the_seam_sees_and_reshapes_vcrpy_s_replay(tmp_path: Path) -> None:
    import vcr

    from laios_conformance.cassettes.matching import MATCH_ON, register_matchers

    cassette = tmp_path / "c.yaml"
    cassette.write_text(CASSETTE)
    recorder = vcr.VCR(record_mode="none", match_on=MATCH_ON)
    register_matchers(recorder)
    with recorder.use_cassette(str(cassette), allow_playback_repeats=True):
        with interpose() as passed:
            assert _send() == b"recorded body"  # json= (a dict to vcrpy) matches the recorded bytes
        with interpose(lambda seen, upstream: Reply(body=upstream().body.upper())) as reshaped:
            assert _send() == b"RECORDED BODY"
    assert [s.status for s in passed.seen + reshaped.seen] == [200, 200]


def test_recording_through_vcrpy_still_works_with_the_seam_in_front(tmp_path: Path) -> None:
    import vcr

    with FakeAPI() as api:
        url = api.url + "/v1/chat/completions"
        with (
            vcr.VCR(record_mode="once").use_cassette(str(tmp_path / "c.yaml")) as recorded,
            interpose(lambda seen, upstream: Reply(body=upstream().body[:10])) as traffic,
        ):
            assert _send(url) == b'{\n  "id": '
    assert len(api.received) == 1 and len(recorded.data) == 1  # sent once, recorded once
    assert traffic.last.upstream_status == 200
    assert recorded.data[0][1]["body"]["string"].startswith('{\n  "id": "chatcmpl-')  # the whole answer


def test_a_session_s_base_url_reaches_vcrpy_which_records_and_replays_the_whole_url(tmp_path: Path) -> None:
    """vcrpy's stub ignores ``base_url``: handed the bare path, it recorded ``v1/...`` and
    then matched no cassette recorded with the whole URL."""
    import vcr

    def send(base_url: str) -> bytes:
        async def run() -> bytes:
            async with (
                aiohttp.ClientSession(base_url=base_url) as session,
                session.post("v1/chat/completions", json={"q": 1}) as response,
            ):
                return await response.read()

        return asyncio.run(run())

    with FakeAPI() as api:
        with vcr.VCR(record_mode="once").use_cassette(str(tmp_path / "c.yaml")) as recorded, interpose():
            assert send(api.url + "/").startswith(b'{\n  "id": ')
        assert recorded.data[0][0].uri == api.url + "/v1/chat/completions"
    cassette = tmp_path / "d.yaml"
    cassette.write_text(CASSETTE)
    with vcr.VCR(record_mode="none").use_cassette(str(cassette)), interpose() as traffic:
        assert send("https://api.example.invalid/") == b"recorded body"
    assert traffic.last.url == URL


@pytest.mark.filterwarnings("ignore:.*auth.*is deprecated:DeprecationWarning")  # aiohttp 3.14: auth=, BasicAuth
def test_a_session_s_auth_reaches_vcrpy_which_records_where_the_key_went(tmp_path: Path) -> None:
    """vcrpy's stub records only a request's ``auth``: a ``ClientSession(auth=...)``'s cassettes
    kept no Authorization header, and key-reaches-request had no recorded place to hold to."""
    import vcr

    auth = aiohttp.BasicAuth("user", "sk-session")

    async def run(url: str) -> bytes:
        async with aiohttp.ClientSession(auth=auth) as session, session.post(url, json={"q": 1}) as response:
            return await response.read()

    with (
        FakeAPI() as api,
        vcr.VCR(record_mode="once").use_cassette(str(tmp_path / "c.yaml")) as recorded,
        interpose() as traffic,
    ):
        assert asyncio.run(run(api.url + "/v1/chat/completions")).startswith(b'{\n  "id": ')
    sent = auth.encode()
    assert api.received[0].headers["Authorization"] == traffic.last.headers["Authorization"] == sent
    assert recorded.data[0][0].headers["AUTHORIZATION"] == sent


def test_requests_through_client_middlewares_are_left_alone_and_the_hint_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Middlewares run inside ``_request``, below the seam: a reply of the seam's would skip
    them (a retry middleware would never see its 503), so such requests are not the seam's."""
    import sys
    import types

    from laios_conformance.seam import stack_hint

    answered = []

    async def answer(request: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        answered.append(request.url)
        raise aiohttp.ClientConnectionError("answered by the middleware")

    async def send() -> None:
        async with aiohttp.ClientSession(middlewares=(answer,)) as session:
            await session.post(URL, data=b"{}")

    with interpose(lambda seen, upstream: Reply(body=b"{}")) as traffic, pytest.raises(aiohttp.ClientConnectionError):
        asyncio.run(send())
    assert len(traffic) == 0 and len(answered) == 1

    module = types.ModuleType("on_aiohttp.client")
    module.aiohttp = aiohttp  # type: ignore[attr-defined]  # a module made at run time
    monkeypatch.setitem(sys.modules, module.__name__, module)
    provider = type("Provider", (), {"__module__": module.__name__})()
    assert stack_hint(provider).endswith(
        "aiohttp requests sent through client middlewares (ClientSession(middlewares=...)) bypass the seam"
    )


@pytest.mark.parametrize(
    "data, body, content_type",
    [
        (b"raw", b"raw", "application/octet-stream"),
        ("café", "café".encode(), "text/plain; charset=utf-8"),
        ({"a": "1", "b": "é"}, b"a=1&b=%C3%A9", "application/x-www-form-urlencoded"),
        ([("a", "1")], b"a=1", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_is_seen_as_aiohttp_sends_it(tmp_path: Path, data: Any, body: bytes, content_type: str) -> None:
    async def send() -> bytes:
        async with aiohttp.ClientSession() as session, session.post(URL, data=data) as response:
            return await response.read()

    with interpose(lambda seen, upstream: Reply(body=b"ok")) as traffic:
        assert asyncio.run(send()) == b"ok"
    assert (traffic.last.body, traffic.last.headers["Content-Type"]) == (body, content_type)


def test_a_body_readable_once_is_read_by_the_seam_and_sent_as_read() -> None:
    """An async generator (a streaming upload) is read once: the seam reads it, and the
    real request (vcrpy's, when recording) sends what the seam read."""

    async def chunks() -> Any:
        yield b'{"a": '
        yield b"1}"

    with FakeAPI() as api:
        url = api.url + "/v1/chat/completions"

        async def send() -> bytes:
            async with aiohttp.ClientSession() as session, session.post(url, data=chunks()) as response:
                return await response.read()

        with interpose() as traffic:
            assert asyncio.run(send()).startswith(b"{")
    assert traffic.last.body == b'{"a": 1}' == api.received[0].body


def test_a_session_kept_across_event_loops_fails_as_it_does_against_the_live_api(tmp_path: Path) -> None:
    """aiohttp raises "Event loop is closed" on any request of a session whose loop has
    closed; vcrpy's replay (and a reply of the seam's) would not notice, so the seam raises it."""
    import vcr

    from laios_conformance.seam._aiohttp import CLOSED_LOOP

    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    session = asyncio.run(make())

    async def use() -> bytes:
        async with session.post(URL, json={"q": 1}) as response:
            return await response.read()

    cassette = tmp_path / "c.yaml"
    cassette.write_text(CASSETTE)
    with vcr.VCR(record_mode="none").use_cassette(str(cassette), allow_playback_repeats=True):
        for handler in (None, lambda seen, upstream: Reply(body=b"{}")):
            with interpose(handler) as traffic, pytest.raises(RuntimeError) as raised:
                asyncio.run(use())
            assert str(raised.value) == CLOSED_LOOP and len(traffic) == 0
    session._connector = None  # nothing to close on the closed loop; no "unclosed session" warning


def test_a_session_used_on_another_open_loop_fails_as_it_does_against_the_live_api(tmp_path: Path) -> None:
    """A loop per call (``new_event_loop()``, never closed) around one kept session: live, its
    requests fail with "attached to a different loop" or hang; vcrpy's replay answered them.
    What to do fits in the 200 characters of an error's message that the verdict keeps."""
    import vcr

    from laios_conformance.seam._aiohttp import CLOSED_LOOP, OTHER_LOOP

    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()

    async def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    async def use() -> bytes:
        async with session.post(URL, json={"q": 1}) as response:
            return await response.read()

    session = first.run_until_complete(make())
    cassette = tmp_path / "c.yaml"
    cassette.write_text(CASSETTE)
    try:
        with vcr.VCR(record_mode="none").use_cassette(str(cassette), allow_playback_repeats=True):
            with interpose() as traffic:
                assert first.run_until_complete(use()) == b"recorded body"
            with interpose() as traffic, pytest.raises(RuntimeError) as raised:
                second.run_until_complete(use())
        assert str(raised.value) == OTHER_LOOP and len(traffic) == 0
        assert all("create the session inside each loop" in text[:200] for text in (CLOSED_LOOP, OTHER_LOOP))
    finally:
        first.run_until_complete(session.close())
        first.close()
        second.close()
