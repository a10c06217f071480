"""headers-reach-request: the headers an API requires are sent as the recording sent them.

Replay matches a request on its method, URL and body, so a provider that drops
``anthropic-version`` or mislabels its JSON body would pass everything else and meet a 400
live. The clause compares each request with the headers the provider's cassettes kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from laios_conformance.cassettes import recorded_request_headers

REPO = Path(__file__).resolve().parent.parent
ANTHROPIC_CASSETTES = REPO / "cassettes" / "AnthropicClient"
SELECTION = "headers_reach_request"


def anthropic_cassettes_for(root: Path, class_name: str) -> Path:
    root.mkdir(exist_ok=True)
    (root / class_name).symlink_to(ANTHROPIC_CASSETTES, target_is_directory=True)
    return root


def test_the_reference_cassettes_keep_the_required_headers() -> None:
    kept = recorded_request_headers(sorted(ANTHROPIC_CASSETTES.glob("*.yaml")))
    assert kept["anthropic-version"] == {"2023-06-01"}
    assert kept["content-type"] == {"application/json"}
    assert not {"x-api-key", "authorization", "user-agent"} & {k for k, v in kept.items() if "<REDACTED>" not in v}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("tests.providers.defective_anthropic:DropsAnthropicVersion", "sends no anthropic-version header"),
        ("tests.providers.defective_anthropic:OldAnthropicVersion", "sends anthropic-version: 2023-01-01"),
        ("reference_providers.anthropic:AnthropicClient", None),
    ],
)
def test_anthropic_version_is_compared_with_the_recording(run_kit, pytester, target: str, expected) -> None:
    cassettes = anthropic_cassettes_for(pytester.path / "cassettes", target.rsplit(":", 1)[1])
    run = run_kit(target, "-k", SELECTION, f"--laios-cassette-dir={cassettes}", cassettes=False)
    if expected is None:
        assert run.statuses() == {"headers-reach-request": "passed"}, run.report
        return
    assert run.statuses() == {"headers-reach-request": "failed"}, run.report
    message = run.message("headers-reach-request")
    for call in ("generate anthropic-version", "generate_stream anthropic-version"):
        assert f"{call}: the request to https://api.anthropic.com/v1/messages {expected}" in message
    assert "sent 2023-06-01" in message and "content-type" not in message.split("How to fix")[0]


def test_a_charset_beside_the_recorded_media_type_passes(run_kit) -> None:
    run = run_kit("tests.providers.openai_style:JsonWithCharset", "-k", SELECTION)
    assert run.statuses() == {"headers-reach-request": "passed"}, run.report


def test_a_missing_content_type_names_what_the_recording_sent(run_kit) -> None:
    run = run_kit("tests.providers.defective:SendsNoContentType", "-k", SELECTION)
    message = run.message("headers-reach-request")
    assert "sends no content-type header; the recorded requests, which the live API answered, sent " in message
    assert "application/json" in message


def test_not_judged_without_a_recorded_required_header(run_kit, pytester) -> None:
    """Cassettes that keep no required header leave nothing to compare: a skip that says so."""
    cassettes = pytester.path / "bare"
    (cassettes / "GoodOpenAIStyle").mkdir(parents=True)
    run = run_kit(
        "tests.providers.openai_style:GoodOpenAIStyle",
        "-k",
        SELECTION,
        f"--laios-cassette-dir={cassettes}",
        cassettes=False,
    )
    assert run.statuses() == {"headers-reach-request": "skipped"}, run.report
    assert "not judged: the provider's cassettes keep no content-type header" in run.message("headers-reach-request")
