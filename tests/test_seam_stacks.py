"""The seam on requests/urllib3 and urllib.request/http.client: the same interface, each stack's own behaviour."""

from __future__ import annotations

import http.client
import inspect
import json
import socket
import sys
import threading
import urllib.error
import urllib.request

import pytest
import requests
import urllib3

from laios_conformance.seam import Fault, Reply, interpose

URL = "https://api.example.invalid/v1/chat/completions"
BODY = {"model": "m", "messages": [{"role": "user", "content": "é"}]}
SSE = b'data: {"n": 1}\n\ndata: {"n": 2}\n\ndata: [DONE]\n\n'


def post_requests(timeout: object = (3, 30), stream: bool = False) -> requests.Response:
    return requests.post(URL, json=BODY, headers={"authorization": "Bearer k"}, timeout=timeout, stream=stream)


def post_urllib(timeout: object = 7.5) -> http.client.HTTPResponse:
    request = urllib.request.Request(URL, data=json.dumps(BODY).encode(), headers={"Authorization": "Bearer k"})
    if timeout is None:
        return urllib.request.urlopen(request)  # type: ignore[no-any-return]  # urlopen is typed Any
    return urllib.request.urlopen(request, timeout=timeout)  # type: ignore[no-any-return]  # urlopen is typed Any


def test_requests_is_seen_as_sent_with_its_connect_and_read_timeouts() -> None:
    with interpose(lambda seen, upstream: Reply(body=b'{"ok": 1}', headers={"content-type": "application/json"})) as t:
        response = post_requests()
    assert response.json() == {"ok": 1} and response.headers["content-type"] == "application/json"
    seen = t.last
    assert (seen.stack, seen.method, seen.url, seen.json) == ("urllib3", "POST", URL, BODY)
    assert seen.headers["authorization"] == "Bearer k"
    assert seen.timeout == {"connect": 3.0, "read": 30.0, "write": 3.0}


def test_urllib_is_seen_as_sent_with_the_socket_timeout_of_urlopen() -> None:
    with interpose(lambda seen, upstream: Reply(body=b"hi")) as t:
        assert post_urllib().read() == b"hi"
    seen = t.last
    assert (seen.stack, seen.method, seen.url, seen.json) == ("http.client", "POST", URL, BODY)
    assert seen.headers["Authorization"] == "Bearer k"
    assert seen.timeout == {"connect": 7.5, "read": 7.5, "write": 7.5}


@pytest.mark.parametrize(
    "call",
    [
        lambda: post_requests(timeout=None),
        lambda: urllib3.PoolManager().request("GET", URL),
        lambda: post_urllib(timeout=None),
    ],
    ids=["requests timeout=None", "urllib3 default", "urlopen default"],
)
def test_a_wait_forever_default_shows_as_no_timeout(call) -> None:
    assert socket.getdefaulttimeout() is None
    with interpose(lambda seen, upstream: Reply(body=b"x")) as t:
        call()
    assert t.last.timeout == {"connect": None, "read": None, "write": None}


@pytest.mark.parametrize(
    "fault, error",
    [
        (Fault.CONNECT_ERROR, requests.ConnectionError),
        (Fault.CONNECT_TIMEOUT, requests.ConnectTimeout),
        (Fault.READ_TIMEOUT, requests.ReadTimeout),
        (Fault.DROPPED, requests.exceptions.ChunkedEncodingError),
    ],
)
def test_requests_faults_are_requests_own_errors(fault: Fault, error: type) -> None:
    with interpose(lambda seen, upstream: fault), pytest.raises(error):
        post_requests()


@pytest.mark.parametrize(
    "fault, error, cause",
    [
        (Fault.CONNECT_ERROR, urllib.error.URLError, ConnectionRefusedError),
        (Fault.CONNECT_TIMEOUT, urllib.error.URLError, TimeoutError),
        (Fault.READ_TIMEOUT, TimeoutError, None),
        (Fault.DROPPED, http.client.IncompleteRead, None),
    ],
)
def test_urllib_faults_are_the_standard_library_s_own_errors(fault: Fault, error: type, cause: type | None) -> None:
    with interpose(lambda seen, upstream: fault), pytest.raises(error) as raised:
        post_urllib().read()
    if cause is not None:
        assert isinstance(raised.value.reason, cause)


def test_a_str_body_on_http_client_is_seen_as_http_client_sends_it() -> None:
    """http.client sends a ``str`` body as ISO-8859-1, and refuses one Latin-1 cannot hold:
    the seam must judge those bytes, and let that error reach the caller."""

    def send(body: str) -> None:
        connection = http.client.HTTPSConnection("api.example.invalid", timeout=5)
        connection.request("POST", "/v1/chat/completions", body=body)
        connection.getresponse().read()

    with interpose(lambda seen, upstream: Reply(body=b"{}")) as traffic:
        send('{"content": "café"}')
        with pytest.raises(UnicodeEncodeError, match="not valid Latin-1"):
            send('{"content": "😀"}')
    assert traffic.seen[0].body == '{"content": "café"}'.encode("iso-8859-1")


def test_pieces_arrive_as_separate_reads_on_both_stacks() -> None:
    reply = Reply(body=SSE, cuts=[1, 15, 16])
    with interpose(lambda seen, upstream: reply), post_requests(stream=True) as response:
        assert list(response.raw.stream(1024)) == [b"d", SSE[1:15], b"\n", SSE[16:]]
    with interpose(lambda seen, upstream: reply), post_urllib() as response:
        pieces = iter(lambda: response.read1(1024), b"")
        assert list(pieces) == [b"d", SSE[1:15], b"\n", SSE[16:]]


def test_a_whole_body_read_with_iter_content_none_ends_as_on_the_network() -> None:
    """``iter_content(chunk_size=None)`` reads until urllib3 sees its file closed, which
    http.client's response is once its Content-Length is read; a body served in one piece
    must end so too (it looped without end, failing stream-end-marker after the call timeout)."""
    chunks: list[bytes] = []
    with interpose(lambda seen, upstream: Reply(body=SSE)), post_requests(stream=True) as response:
        reader = threading.Thread(target=lambda: chunks.extend(response.iter_content(chunk_size=None)), daemon=True)
        reader.start()
        reader.join(timeout=10)
        assert not reader.is_alive(), "iter_content(chunk_size=None) did not end at the end of the body"
    assert b"".join(chunks) == SSE


def test_the_gate_holds_the_rest_back_on_both_stacks() -> None:
    for read_first in (
        lambda: next(post_requests(stream=True).iter_lines()),
        lambda: post_urllib().readline(),
    ):
        gate = threading.Event()
        reply = Reply(body=SSE, cuts=[16], gate=gate, gate_timeout=5)
        with interpose(lambda seen, upstream, reply=reply: reply):
            assert read_first().startswith(b'data: {"n": 1}')
        assert not reply.gate_expired and not gate.is_set()  # the first line came before the gate opened


def test_a_drop_mid_stream_comes_after_the_pieces_before_it() -> None:
    reply = Reply(body=SSE, cuts=[16], drop_at=16)
    with interpose(lambda seen, upstream: reply), post_requests(stream=True) as response:
        lines = response.iter_lines()
        assert next(lines) == b'data: {"n": 1}'
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            list(lines)
    with interpose(lambda seen, upstream: reply), post_urllib() as response:
        assert response.read1(1024) == SSE[:16]
        with pytest.raises(http.client.IncompleteRead):
            response.read1(1024)


def test_closing_early_is_observed_on_both_stacks() -> None:
    reply = Reply(body=SSE, cuts=[16])
    with interpose(lambda seen, upstream: reply) as t, post_requests(stream=True) as response:
        lines = response.iter_lines()  # held: a dropped iterator makes urllib3 close the connection
        next(lines)
        assert not t.last.closed.is_set()
    assert t.last.closed.is_set()
    with interpose(lambda seen, upstream: reply) as t, post_urllib() as response:
        response.readline()
        assert not t.last.closed.is_set()
    assert t.last.closed.is_set()


def test_retries_configured_in_urllib3_are_each_an_attempt() -> None:
    pool = urllib3.PoolManager(retries=urllib3.Retry(connect=2, backoff_factor=0))
    with interpose(lambda seen, upstream: Fault.CONNECT_ERROR) as t, pytest.raises(urllib3.exceptions.MaxRetryError):
        pool.request("GET", URL)
    assert len(t) == 3


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


@pytest.mark.parametrize("stack", ["requests", "urllib"])
def test_entered_inside_a_cassette_the_seam_sees_and_reshapes_vcrpy_s_replay(tmp_path, stack: str) -> None:
    import vcr

    def send() -> bytes:
        if stack == "requests":
            return requests.post(URL, data=b'{"q": 1}', timeout=5).content
        return urllib.request.urlopen(urllib.request.Request(URL, data=b'{"q": 1}'), timeout=5).read()  # type: ignore[no-any-return]  # urlopen is typed Any

    cassette = tmp_path / "c.yaml"
    cassette.write_text(CASSETTE)
    with vcr.VCR(record_mode="none").use_cassette(str(cassette), allow_playback_repeats=True):
        with interpose() as passed:
            assert send() == b"recorded body"
        with interpose(lambda seen, upstream: Reply(body=upstream().body.upper())) as reshaped:
            assert send() == b"RECORDED BODY"
    assert [s.status for s in passed.seen + reshaped.seen] == [200, 200]


def test_the_stack_hint_names_what_the_provider_s_package_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from laios_conformance.seam import stack_hint

    def provider_in(package: str, **imports: object) -> object:
        module = types.ModuleType(f"{package}.client")
        vars(module).update(imports)
        monkeypatch.setitem(sys.modules, module.__name__, module)
        return type("Provider", (), {"__module__": module.__name__})()

    pycurl = types.ModuleType("pycurl")
    assert stack_hint(provider_in("on_pycurl", pycurl=pycurl, json=json)) == (
        "the 'on_pycurl' package imports pycurl, which the kit does not watch"
    )
    assert "imports requests, which the kit watches" in stack_hint(provider_in("on_requests", requests=requests))
    assert "imports http.client, which the kit watches" in stack_hint(
        provider_in("on_stdlib", HTTPSConnection=http.client.HTTPSConnection)
    )
    assert stack_hint(provider_in("on_nothing", json=json)) == (
        "no HTTP library the kit knows is imported by the 'on_nothing' package"
    )

    # ``import http.client`` / ``import urllib.request`` bind the packages ``http`` / ``urllib``
    on_http = stack_hint(provider_in("on_http", http=http, urllib3=urllib3))
    assert "imports http.client, urllib3, which the kit watches" in on_http
    assert on_http.endswith(
        "http.client's putrequest(), putheader(), endheaders() and send() bypass the seam: send with request()"
    )
    on_urllib = stack_hint(provider_in("on_urllib", urllib=urllib))
    assert "imports urllib.request, which the kit watches" in on_urllib
    assert "putrequest" not in on_urllib
    monkeypatch.delitem(sys.modules, "urllib.request")  # a package's submodule counts only once loaded
    assert stack_hint(provider_in("on_unloaded", urllib=urllib)) == (
        "no HTTP library the kit knows is imported by the 'on_unloaded' package"
    )

    base = type(provider_in("vendor_base", requests=requests))
    module = types.ModuleType("app.client")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    subclass = type("Provider", (base,), {"__module__": module.__name__})
    assert "the 'app' and 'vendor_base' packages import requests, which the kit watches" in stack_hint(subclass())


def test_provider_modules_include_a_module_of_its_package_imported_since_the_last_look(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import types

    from laios_conformance.seam import provider_modules

    package = types.ModuleType("laios_lazy_pkg")
    monkeypatch.setitem(sys.modules, "laios_lazy_pkg", package)
    provider = type("Provider", (), {"__module__": "laios_lazy_pkg"})()
    assert provider_modules(provider) == [package]
    assert provider_modules(provider) == [package]  # asked again, nothing new
    later = types.ModuleType("laios_lazy_pkg.backoff")
    monkeypatch.setitem(sys.modules, "laios_lazy_pkg.backoff", later)
    assert provider_modules(provider) == [package, later]


def test_an_https_connection_built_across_one_of_vcrpy_s_swaps_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """vcrpy swaps ``http.client.HTTPSConnection`` process-wide, and back for a moment in
    another thread whenever it builds a connection; a connection whose class was read on
    one side of a swap and built on the other must not fail in ``super(HTTPSConnection, self)``."""
    real = http.client.HTTPSConnection
    stand_in = type("StandIn", (real,), {})
    signature = inspect.signature(real)
    with interpose(), interpose():
        assert inspect.signature(real) == signature  # for providers that inspect it
        monkeypatch.setattr(http.client, "HTTPSConnection", stand_in)
        connection = real("api.example.invalid", 8443, timeout=3)
        monkeypatch.setattr(http.client, "HTTPSConnection", real)
    assert (connection.host, connection.port, connection.timeout) == ("api.example.invalid", 8443, 3)
    assert "_laios_wrapped" not in vars(real)["__init__"].__dict__  # restored on the way out
    with pytest.raises(TypeError, match="super"), monkeypatch.context() as patched:
        patched.setattr(http.client, "HTTPSConnection", stand_in)
        real("api.example.invalid")  # the race the seam removes, outside it


def test_on_a_python_without_ssl_the_seam_still_goes_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built without ``ssl``, ``http.client`` has no ``HTTPSConnection``: nothing to pin."""
    import vcr.patch

    monkeypatch.setattr(vcr.patch, "_HTTPSConnection", None)
    monkeypatch.delattr(http.client, "HTTPSConnection")
    with interpose(lambda seen, upstream: Reply(body=b"plain")) as traffic:
        connection = http.client.HTTPConnection("api.example.invalid", timeout=3)
        connection.request("GET", "/x")
        assert connection.getresponse().read() == b"plain"
    assert [seen.url for seen in traffic.seen] == ["http://api.example.invalid/x"]
