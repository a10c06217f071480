"""Providers that run an ``httpx.AsyncClient`` under LAIOS's synchronous interface
(tests/providers/async_bridge.py) are judged like any other: their backoff between retries,
``await asyncio.sleep(...)`` or ``await anyio.sleep(...)``, is skipped on the kit's virtual
clock as ``time.sleep`` is, instead of running into the call timeout."""

from __future__ import annotations

import pytest

A = "tests.providers.async_bridge:"
FAILURE_CLAUSES = ("retry_bounded", "raises_on_http_error", "raises_on_transport_error", "no_retry_on_client_error")


@pytest.mark.parametrize("name", ["AsyncBridged", "AsyncBridgedOnAnyio"])
def test_an_async_backoff_is_skipped_on_the_virtual_clock(run_kit, name: str) -> None:
    # Each retried call backs off 20 s and then 40 s: on a real clock every one would time out.
    run = run_kit(A + name, "--laios-call-timeout=5", "-k", " or ".join(FAILURE_CLAUSES), "--laios-allow-partial")
    assert run.statuses() == dict.fromkeys(
        ("retry-bounded", "raises-on-http-error", "raises-on-transport-error", "no-retry-on-client-error"), "passed"
    ), {c: run.message(c) for c in run.statuses()}
    assert run.message("retry-bounded") == (
        "HTTP 503: 3 attempt(s); connect error: 3 attempt(s); HTTP 429: 3 attempt(s); HTTP 529: 3 attempt(s); "
        "read timeout: 3 attempt(s)"
    )


def test_a_provider_bridging_an_async_stream_passes_the_stream_clauses(run_kit) -> None:
    run = run_kit(A + "AsyncBridged", "-k", "stream", "--laios-allow-partial")
    streaming = {c: s for c, s in run.statuses().items() if c.startswith("stream-")}
    assert len(streaming) == 7
    assert set(streaming.values()) == {"passed"}, {c: run.message(c) for c in streaming}


def test_an_async_client_kept_across_event_loops_fails(run_kit) -> None:
    """Its second call reuses a connection of the first call's closed loop, as on the live API."""
    run = run_kit(A + "AsyncClientAcrossLoops", "-k", "returns_response or router_fallback", "--laios-allow-partial")
    assert run.statuses() == {"returns-response": "passed", "router-fallback": "error"}, run.report
    message = run.message("router-fallback")
    assert "the call raised RuntimeError: Event loop is closed [laios-conformance: an async client kept" in message
    assert "create the client inside each loop, or keep one loop]" in message  # the advice outlives the cut
