"""Providers on requests and on urllib.request are judged like httpx ones, clause for clause.

A careful provider on each stack passes every clause, replaying the committed cassettes in
``tests/data/stack_cassettes`` (``python -m tests.support.build_cassettes`` rebuilds them);
each defective twin fails exactly the clauses its httpx twin in ``defective.py`` fails.
One kit run per stack judges the careful provider and all its twins together.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from laios_conformance.contract import catalogue
from laios_conformance.contract.test_fidelity import CHARSETLESS_CASE
from laios_conformance.report import verdict_from_dict
from tests.conftest import load_verdict
from tests.support.build_cassettes import STACK_CASSETTES

ALL = {c.id for c in catalogue()}
OPT_IN = {"cassettes-fresh"}  # skipped unless --laios-max-cassette-age is given
STACKS = {
    "requests": "tests.providers.requests_style:RequestsOpenAIStyle",
    "urllib": "tests.providers.urllib_style:UrllibOpenAIStyle",
    "aiohttp": "tests.providers.aiohttp_style:AiohttpOpenAIStyle",
}
# The httpx twin's name -> the clauses it fails (tests/test_contract_core.py, tests/test_contract_streaming.py).
TWINS = {
    "ReturnsEmptyOnHttpError": {
        *("raises-on-http-error", "router-fallback", "circuit-breaker"),
        *("error-carries-status", "error-carries-message"),
    },
    "NoTimeout": {"timeout-set", "timeout-honoured"},
    "DropsLastDelta": {"stream-join", "stream-rechunk", "content-fidelity", "stream-incremental", "thread-safety"},
    "SwallowsDisconnect": {"stream-raises"},
    "SwallowsTransportErrors": {"raises-on-transport-error"},
    "BuffersWholeStream": {"stream-incremental"},
    "NeverClosesResponse": {"stream-closes"},
}


def judged(
    pytester: pytest.Pytester, good: str, twins: list[str], *args: str, keep_key_place: bool = True
) -> dict[str, dict[str, str]]:
    """Statuses per provider class, replaying the good provider's committed cassettes for all
    (without the header that shows where the key went, unless ``keep_key_place``)."""
    root = pytester.path / "cassettes"
    root.mkdir()
    good_class = good.rsplit(":", 1)[1]
    for target in [good, *twins]:
        folder = root / target.rsplit(":", 1)[1]
        if keep_key_place:
            folder.symlink_to(STACK_CASSETTES / good_class, target_is_directory=True)
            continue
        folder.mkdir()
        for path in (STACK_CASSETTES / good_class).glob("*.yaml"):
            text = re.sub(r"\n *[Aa]uthorization:\n *- (?:Bearer )?<REDACTED>", "", path.read_text(encoding="utf-8"))
            (folder / path.name).write_text(text, encoding="utf-8")
    report = pytester.path / "verdict.json"
    result = pytester.runpytest_inprocess(
        *[f"--laios-provider={target}" for target in [good, *twins]],
        f"--laios-cassette-dir={root}",
        f"--laios-report={report}",
        "-p",
        "no:cacheprovider",
        *args,
    )
    assert report.exists(), str(result.stdout)
    providers = load_verdict(report)["providers"]
    return {
        target.rsplit(":", 1)[1]: {cid: c["status"] for cid, c in provider["clauses"].items()}
        for target, provider in zip([good, *twins], providers, strict=True)
    }


# Each stack's run judges eight providers (15 s or so): a group of its own is handed out
# first under xdist, instead of the two landing last on one worker.
BY_STACK = [pytest.param(stack, marks=pytest.mark.xdist_group(f"stack-{stack}")) for stack in sorted(STACKS)]


@pytest.mark.parametrize("stack", BY_STACK)
def test_careful_provider_passes_and_each_twin_fails_where_its_httpx_twin_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, stack: str
) -> None:
    monkeypatch.delenv("CI", raising=False)
    prefix = stack.capitalize()
    twins = [f"tests.providers.defective_stacks:{prefix}{name}" for name in TWINS]
    verdicts = judged(pytester, STACKS[stack], twins, "--laios-strict")
    good = verdicts.pop(STACKS[stack].rsplit(":", 1)[1])
    report = load_verdict(pytester.path / "verdict.json")
    assert verdict_from_dict(dict(report, providers=report["providers"][:1])).gate().result == "passed"
    assert set(good) == ALL
    assert {c: s for c, s in good.items() if s != "passed"} == dict.fromkeys(OPT_IN, "skipped")
    for name, expected in TWINS.items():
        statuses = verdicts[prefix + name]
        assert {c: s for c, s in statuses.items() if s != "passed" and c not in OPT_IN} == dict.fromkeys(
            expected, "failed"
        ), (name, statuses)


def test_aiohttp_habits_are_judged_on_cassettes_that_name_headers_as_aiohttp_reads_them(
    pytester: pytest.Pytester,
) -> None:
    """aiohttp records ``Content-Type``, not ``content-type``: the stream is still known as
    server-sent events (and cut at lone CRs); and a stream whose session, not its response,
    is closed on stopping is closed (the session's connector closes its connections)."""
    text = (STACK_CASSETTES / "AiohttpOpenAIStyle" / "stream-rechunk.yaml").read_text(encoding="utf-8")
    assert "Content-Type:\n      - text/event-stream" in text
    twins = [
        "tests.providers.defective_stacks:AiohttpEndsLinesAtLfOnly",
        "tests.providers.aiohttp_style:AiohttpClosesTheSession",
    ]
    selection = ("-k", "stream_rechunk or stream_closes", "--laios-allow-partial")
    statuses = judged(pytester, STACKS["aiohttp"], twins, *selection)
    picked = {name: {c: s for c, s in by_clause.items() if s != "not-run"} for name, by_clause in statuses.items()}
    assert picked == {
        "AiohttpOpenAIStyle": {"stream-rechunk": "passed", "stream-closes": "passed"},
        "AiohttpEndsLinesAtLfOnly": {"stream-rechunk": "failed", "stream-closes": "passed"},
        "AiohttpClosesTheSession": {"stream-rechunk": "passed", "stream-closes": "passed"},
    }
    report = load_verdict(pytester.path / "verdict.json")
    assert "CR line endings" in report["providers"][1]["clauses"]["stream-rechunk"]["message"]


def test_a_stream_decoded_by_its_label_fails_on_a_label_without_charset(pytester: pytest.Pytester) -> None:
    """Groq and OpenRouter label their streams ``text/event-stream`` without a charset, which
    requests decodes as ISO-8859-1; the recorded OpenAI stream carries ``charset=utf-8``."""
    twin = "tests.providers.defective_stacks:RequestsDecodesAsLabelled"
    statuses = judged(pytester, STACKS["requests"], [twin], "-k", "content_fidelity", "--laios-allow-partial")
    assert statuses["RequestsDecodesAsLabelled"]["content-fidelity"] == "failed"
    assert statuses["RequestsOpenAIStyle"]["content-fidelity"] == "passed"
    message = load_verdict(pytester.path / "verdict.json")["providers"][1]["clauses"]["content-fidelity"]["message"]
    assert f"1 case(s) failed:\n  - {CHARSETLESS_CASE}: counter-example " in message
    assert "an event stream is UTF-8" in message


def test_an_aiohttp_read_timeout_alone_fails_timeout_set_and_is_told_to_bound_connecting(
    pytester: pytest.Pytester,
) -> None:
    twin = "tests.providers.defective_stacks:AiohttpReadTimeoutOnly"
    statuses = judged(pytester, STACKS["aiohttp"], [twin], "-k", "timeout_set", "--laios-allow-partial")
    assert statuses["AiohttpReadTimeoutOnly"]["timeout-set"] == "failed"
    assert statuses["AiohttpOpenAIStyle"]["timeout-set"] == "passed"
    message = load_verdict(pytester.path / "verdict.json")["providers"][1]["clauses"]["timeout-set"]["message"]
    assert "no finite connect timeout" in message
    assert "with ``sock_read`` and ``sock_connect``" in " ".join(message.split())


def test_a_key_in_an_aiohttp_error_s_request_info_is_a_leak_and_the_message_says_where(
    pytester: pytest.Pytester,
) -> None:
    twin = "tests.providers.defective_stacks:AiohttpChainsClientResponseError"
    statuses = judged(pytester, STACKS["aiohttp"], [twin], "-k", "no_secret_leak", "--laios-allow-partial")
    assert statuses["AiohttpChainsClientResponseError"]["no-secret-leak"] == "failed"
    assert statuses["AiohttpOpenAIStyle"]["no-secret-leak"] == "passed"
    message = load_verdict(pytester.path / "verdict.json")["providers"][1]["clauses"]["no-secret-leak"]["message"]
    assert "exception on HTTP 401 (ProviderError or its chain): contains the API key (aiohttp's" in message
    assert "ClientResponseError keeps the request's headers" in message


def test_committed_cassettes_hold_no_key_and_name_their_sources() -> None:
    provenance = (STACK_CASSETTES / "PROVENANCE.md").read_text(encoding="utf-8")
    for class_name in ("RequestsOpenAIStyle", "UrllibOpenAIStyle", "AiohttpOpenAIStyle"):
        assert f"| {class_name} | openai |" in provenance
        for path in Path(STACK_CASSETTES / class_name).glob("*.yaml"):
            text = path.read_text(encoding="utf-8")
            # the header's place and scheme stay, the key goes
            assert "sk-" not in text and not re.search(r"Bearer (?!<REDACTED>)", text), path


def test_a_key_in_the_query_string_reaches_the_request_and_leaks_nowhere(pytester: pytest.Pytester) -> None:
    """vcrpy logs each replayed URL, ``?key=`` included: its records are the kit's, not a leak."""
    good = STACKS["urllib"]
    selection = ("-k", "key_reaches_request or no_secret_leak", "--laios-allow-partial")
    # as if recorded from a provider that sends no authorization header: the good one's
    # cassettes say the live API took the key there, and key-reaches-request would hold to it
    statuses = judged(
        pytester, good, ["tests.providers.urllib_style:KeyInQueryString"], *selection, keep_key_place=False
    )
    assert statuses["KeyInQueryString"] == statuses["UrllibOpenAIStyle"], statuses
    assert {s for s in statuses["KeyInQueryString"].values() if s != "not-run"} == {"passed"}, statuses


def test_urllib3_retry_that_raises_on_a_persisting_status_is_told_to_hand_the_response_back(
    pytester: pytest.Pytester,
) -> None:
    """``Retry(status_forcelist=...)`` mounted in requests' adapter raises ``RetryError``
    when the status persists, unless ``raise_on_status=False``: the message says so."""
    root = pytester.path / "cassettes"
    root.mkdir()
    targets = [f"tests.providers.urllib3_retry:{name}" for name in ("RetriesInTheAdapter", "RetryRaisesOnStatus")]
    for target in targets:
        (root / target.rsplit(":", 1)[1]).symlink_to(STACK_CASSETTES / "RequestsOpenAIStyle", target_is_directory=True)
    report = pytester.path / "verdict.json"
    pytester.runpytest_inprocess(
        *[f"--laios-provider={target}" for target in targets],
        f"--laios-cassette-dir={root}",
        f"--laios-report={report}",
        "-k",
        "error_carries or retry_bounded or no_retry_on_client_error or raises_on_http_error",
        "--laios-allow-partial",
        "-p",
        "no:cacheprovider",
    )
    correct, raising = (provider["clauses"] for provider in load_verdict(report)["providers"])
    judged = {"error-carries-status", "error-carries-message", "retry-bounded", "no-retry-on-client-error"}
    judged |= {"raises-on-http-error", "stream-error-carries-message"}
    assert {cid for cid, c in correct.items() if c["status"] == "passed"} == judged, correct
    assert {cid for cid, c in raising.items() if c["status"] == "failed"} == {
        "error-carries-status",
        "error-carries-message",
    }
    message = raising["error-carries-status"]["message"]
    assert "HTTP 503: ProviderError('transport error: RetryError') names no status 503" in message
    assert "urllib3's Retry gave up on the status with MaxRetryError: mount it with raise_on_status=False" in message
    assert "HTTP 400" not in message  # not retried: its response came back
    assert "raise_on_status=False" in raising["error-carries-message"]["message"]


@pytest.mark.xdist_group("stack-aiohttp-native")
def test_aiohttp_anthropic_and_ollama_pass_on_the_reference_cassettes_and_their_twins_fail_where_they_differ(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSE with named events and NDJSON on aiohttp, replaying the reference providers' cassettes."""
    monkeypatch.delenv("CI", raising=False)
    root = pytester.path / "cassettes"
    root.mkdir()
    families = {"AiohttpAnthropic": "AnthropicClient", "AiohttpOllama": "OllamaClient"}
    targets = [*families, "AiohttpAnthropicLfOnly", "AiohttpOllamaBuffers"]
    for name in targets:
        family = next(cassettes for prefix, cassettes in families.items() if name.startswith(prefix))
        (root / name).symlink_to(STACK_CASSETTES.parents[2] / "cassettes" / family, target_is_directory=True)
    report = pytester.path / "verdict.json"
    pytester.runpytest_inprocess(
        *[f"--laios-provider=tests.providers.aiohttp_native:{name}" for name in targets],
        f"--laios-cassette-dir={root}",
        f"--laios-report={report}",
        "--laios-strict",
        "-p",
        "no:cacheprovider",
    )
    providers = load_verdict(report)["providers"]
    unpassed = [{cid: c["status"] for cid, c in p["clauses"].items() if c["status"] != "passed"} for p in providers]
    skipped = OPT_IN | {"refusal-visible"}  # a refusal field is OpenAI's alone, as for the reference providers
    keyless = skipped | {"no-secret-leak", "key-reaches-request", "headers-reach-request"}  # Ollama's native API
    assert unpassed == [
        dict.fromkeys(skipped, "skipped"),
        dict.fromkeys(keyless, "skipped"),
        {**dict.fromkeys(skipped, "skipped"), "stream-rechunk": "failed"},
        {**dict.fromkeys(keyless, "skipped"), "stream-incremental": "failed"},
    ]
