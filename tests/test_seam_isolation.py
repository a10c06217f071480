"""Replay isolation: other threads' traffic cannot open a hole in the seam, and without CI a
replay still lets no request leave the machine, whatever stack or thread sends it."""

from __future__ import annotations

import http.client
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import GOOD, cassettes_for, load_verdict
from tests.providers import probes
from tests.support.fake_api import FakeAPI

REPO = Path(__file__).resolve().parents[1]

CLAUSES_WITH_CASSETTES_AND_THREADS = "thread_safety or returns_response or stream_join or circuit_breaker or retry"


@pytest.fixture
def background_traffic(fake_api: FakeAPI) -> Iterator[list[str]]:
    """Another thread sending urllib and http.client requests to the loopback API nonstop."""
    stop, outcomes = threading.Event(), []
    host, port = urlsplit(fake_api.url).hostname, urlsplit(fake_api.url).port

    def send() -> None:
        while not stop.is_set():
            try:
                request = urllib.request.Request(f"{fake_api.url}/v1/chat/completions", data=b"{}")
                with urllib.request.urlopen(request, timeout=5) as response:
                    outcomes.append(f"urllib {response.status}")
                connection = http.client.HTTPConnection(host, port, timeout=5)
                connection.request("POST", "/v1/chat/completions", b"{}")
                outcomes.append(f"http.client {connection.getresponse().status}")
                connection.close()
            except Exception as exc:  # inside a cassette, vcrpy refuses what it did not record
                outcomes.append(type(exc).__name__)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    yield outcomes
    stop.set()
    thread.join(timeout=10)
    # vcrpy's own race: a reset in this thread that straddles a cassette's exit puts the
    # closed cassette's classes back for good. Put the originals back for the next tests.
    from vcr.patch import reset_patchers

    for patcher in reset_patchers():
        setattr(patcher.getter(), patcher.attribute, patcher.new)


def run(pytester: pytest.Pytester, *args: str) -> dict:
    report = pytester.path / "verdict.json"
    result = pytester.runpytest_inprocess(*args, f"--laios-report={report}", "-p", "no:cacheprovider")
    assert report.exists(), str(result.stdout)
    return load_verdict(report)


@pytest.mark.parametrize(
    "target",
    [
        GOOD,
        "tests.providers.requests_style:RequestsOpenAIStyle",
        "tests.providers.urllib_style:UrllibOpenAIStyle",
        "tests.providers.aiohttp_style:AiohttpOpenAIStyle",
    ],
)
def test_clauses_judge_alike_while_another_thread_sends_urllib_and_http_client_traffic(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, good_cassettes: Path, background_traffic, target: str
) -> None:
    monkeypatch.delenv("CI", raising=False)
    class_name = target.rsplit(":", 1)[1]
    if target == GOOD:
        root = good_cassettes
    else:
        from tests.support.build_cassettes import STACK_CASSETTES

        root = STACK_CASSETTES
    before = len(background_traffic)
    report = run(
        pytester, f"--laios-provider={target}", f"--laios-cassette-dir={root}", "-k", CLAUSES_WITH_CASSETTES_AND_THREADS
    )
    during = background_traffic[before:]
    statuses = {cid: c["status"] for cid, c in report["providers"][0]["clauses"].items() if c["status"] != "not-run"}
    assert statuses == dict.fromkeys(
        [
            "thread-safety",
            "returns-response",
            "stream-join",
            "circuit-breaker",
            "retry-bounded",
            "no-retry-on-client-error",
        ],
        "passed",
    ), (class_name, report["providers"][0]["clauses"])
    assert len(during) > 20, "the background traffic did not run alongside the clauses"
    assert (
        "urllib 200" in during and "CannotOverwriteExistingCassetteException" in during
    )  # outside and inside cassettes


def test_replay_without_ci_lets_no_request_leave_the_machine(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, fake_api: FakeAPI, good_cassettes: Path
) -> None:
    """A request from outside the seam and any cassette (the provider's constructor, for a
    clause that replays nothing) meets the network guard: refused for a non-loopback
    address, refused before any DNS lookup for a host name, let through to loopback. A host
    name looked up with ``gethostbyname`` is refused too, and so is a UDP datagram to a
    non-loopback address or a host name; one to loopback arrives."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("LAIOS_TEST_LOOPBACK_URL", f"{fake_api.url}/v1/chat/completions")
    probes.PROBES.clear()
    target = "tests.providers.probes:ProbesTheNetworkWhenBuilt"
    cassettes_for(good_cassettes, "ProbesTheNetworkWhenBuilt")
    report = run(
        pytester, f"--laios-provider={target}", f"--laios-cassette-dir={good_cassettes}", "-k", "raises_on_http_error"
    )
    assert report["providers"][0]["clauses"]["raises-on-http-error"]["status"] == "passed"
    outside = [p for p in probes.PROBES if p.startswith("http://203.0.113.7")]
    assert outside and all("Network is disabled for host '203.0.113.7'" in p for p in outside), probes.PROBES
    named = [p for p in probes.PROBES if p.startswith(probes.NAMED_URL)]
    refused = "Network is disabled: no DNS lookup of 'api.laios-probe.invalid' while replaying cassettes"
    assert len(named) >= 2 and all(refused in p for p in named), (
        probes.PROBES
    )  # when the kit builds it, and in a clause
    assert f"{fake_api.url}/v1/chat/completions: HTTP 200" in probes.PROBES
    lookups = [p for p in probes.PROBES if p.startswith("gethostbyname ")]
    assert len(lookups) >= 2 and all(refused in p for p in lookups), probes.PROBES
    by_host = {
        host: [p for p in probes.PROBES if p.startswith(f"udp {host}:")] for host in ("203.0.113.7", probes.NAMED_HOST)
    }
    for host, outcomes in by_host.items():
        words = f"Network is disabled: no datagram to {host!r} while replaying cassettes"
        assert len(outcomes) >= 2 and all(words in p for p in outcomes), probes.PROBES
    assert "udp 127.0.0.1: received b'laios-probe'" in probes.PROBES


def test_a_call_the_network_block_refuses_makes_the_clause_unable_to_judge(run_kit) -> None:
    """The provider is not at fault when replay's block refuses a download it needs: its
    clause reports error (cannot judge), not failed, and says what to put in place."""
    run = run_kit("tests.providers.probes:DownloadsEncodingOnFirstUse", "-k", "count_tokens", "--laios-allow-partial")
    assert run.statuses() == {"count-tokens": "error"}
    assert run.message("count-tokens").startswith(
        "the provider reached for the network beyond the recorded requests (Network is disabled: no DNS lookup "
        "of 'openaipublic.blob.core.windows.net' while replaying cassettes), and replay blocks it"
    )
    assert "TIKTOKEN_CACHE_DIR" in run.message("count-tokens")


def test_a_count_tokens_that_asks_the_api_is_told_only_a_recording_run_judges_it(run_kit, tmp_path: Path) -> None:
    """Not only the hint about tokenizer caches: the request went to the API itself."""
    (tmp_path / "CountsTokensOnTheApi").symlink_to(REPO / "cassettes" / "AnthropicClient", target_is_directory=True)
    target = "tests.providers.probes:CountsTokensOnTheApi"
    args = ["-k", "count_tokens", "--laios-allow-partial", f"--laios-cassette-dir={tmp_path}"]
    run = run_kit(target, *args, cassettes=False)
    assert run.statuses() == {"count-tokens": "error"}
    message = run.message("count-tokens")
    assert "no DNS lookup of 'api.anthropic.com' while replaying cassettes" in message
    assert message.endswith(
        "a request to the API itself that no cassette records (a token-counting endpoint, say) is judged only "
        "by a recording run"
    )


def test_a_request_to_a_host_the_cassette_never_saw_is_named_as_such(run_kit) -> None:
    """Not "the provider now sends something different": another request altogether."""
    run = run_kit("tests.providers.probes:PingsTelemetryInGenerate", "-k", "returns_response", "--laios-allow-partial")
    assert run.statuses() == {"returns-response": "error"}
    assert run.message("returns-response").startswith(
        "the provider sent a request to https://telemetry.laios-probe.invalid/v1/events, a host the cassette "
        "holds no request for (it holds "
    )


def test_the_api_call_sent_to_another_base_url_is_named_as_such(run_kit) -> None:
    """The cassettes were recorded with another ``base_url``: it was called another request."""
    kwargs = '--laios-provider-kwargs={"base_url": "https://llm-proxy.invalid/openai/v1"}'
    run = run_kit(
        "tests.providers.openai_style:GoodOpenAIStyle", kwargs, "-k", "returns_response", "--laios-allow-partial"
    )
    assert run.statuses() == {"returns-response": "error"}
    assert run.message("returns-response") == (
        "the provider sent its API call to https://llm-proxy.invalid/openai/v1/chat/completions, and the cassette "
        "holds it sent to https://api.openai.com/v1/chat/completions: the cassette was recorded with another base "
        "URL; pass the one it was recorded with (in --laios-provider-kwargs), or record again with "
        "--record-mode=rewrite"
    )
