"""Hostile cassette files in replay: each is one clear error line naming the file, never a verdict on the provider."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from laios_conformance.cassettes.limits import human_size
from tests.support.recording import REPO

OPENAI = "reference_providers.openai:OpenAIClient"
CLAUSE = "returns-response"


@pytest.fixture
def cassettes(tmp_path: Path) -> Path:
    root = tmp_path / "cassettes"
    shutil.copytree(REPO / "cassettes" / "OpenAIClient", root / "OpenAIClient")
    return root


@pytest.fixture
def replay(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, cassettes: Path):
    """Replay returns-response in-process; returns (its status, its message, the run's output)."""
    monkeypatch.delenv("CI", raising=False)

    def run() -> tuple[str, str, str]:
        report = pytester.path / "verdict.json"
        result = pytester.runpytest_inprocess(
            f"--laios-provider={OPENAI}",
            f"--laios-cassette-dir={cassettes}",
            "--block-network",
            f"--laios-report={report}",
            "-p",
            "no:cacheprovider",
            "-k",
            "returns_response",
        )
        clause = json.loads(report.read_text(encoding="utf-8"))["providers"][0]["clauses"][CLAUSE]
        return clause["status"], clause["message"], "\n".join(result.outlines + result.errlines)

    return run


def _with_response_body(text: str, body: str) -> str:
    """The cassette text with its one response body, which ends the file, replaced by ``body``."""
    start = text.index("string: ", text.index("  response:")) + len("string: ")
    return text[:start] + body + "\n"


def expect_refusal(replay, path: Path, reason: str) -> None:
    status, message, output = replay()
    assert status == "error", message
    assert message.startswith(f"cassette {path} is {reason}"), message
    assert "\n" not in message and "Traceback" not in output


def test_a_symlinked_cassette_is_refused_whether_it_dangles_or_leaves_the_folder(
    cassettes: Path, tmp_path: Path, replay
) -> None:
    path = cassettes / "OpenAIClient" / f"{CLAUSE}.yaml"
    outside = tmp_path / "elsewhere.yaml"
    shutil.move(path, outside)
    path.symlink_to(outside)
    expect_refusal(replay, path, f"refused: a symbolic link to {outside} (outside the cassette dir)")
    outside.unlink()
    expect_refusal(replay, path, f"refused: a symbolic link to {outside} (dangling)")
    assert path.is_symlink() and not outside.exists(), "the kit wrote through or over the link"


@pytest.mark.parametrize(
    "edit, reason",
    [
        (
            lambda text: text.replace(
                "      string: |", "      string: !!binary |\n        aVBOR//+AAAA\n      x: |", 1
            ),
            "corrupt (interaction 0: the response body is binary (!!binary), not text)",
        ),
        (
            lambda text: text.replace(
                "recorded_at:", "evil: !!python/object/apply:os.system ['true']\nrecorded_at:", 1
            ),
            "corrupt (invalid YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/apply:os.system'",
        ),
        (
            lambda text: (
                "\n".join(
                    ["a0: &a0 [" + ", ".join(["x"] * 10) + "]"]
                    + [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 10)]
                )
                + "\n"
                + text
            ),
            "corrupt (YAML aliases expand to more than 10000 nodes (an alias bomb?)",
        ),
        (lambda text: "- " + text.replace("\n", "\n  "), "corrupt (not a cassette: the top level is a list"),
        (
            lambda text: _with_response_body(text, "''"),
            "corrupt (interaction 0: the response is a success (HTTP 200) with an empty body: cut short, or "
            "emptied by hand)",
        ),
        (lambda text: text[: text.index("  response:") + len("  response:\n")], "corrupt (interaction 0: 'response'"),
    ],
    ids=["binary-body", "python-tag", "alias-bomb", "a-list", "emptied-body", "truncated"],
)
def test_a_hostile_cassette_is_an_error_line_not_a_verdict(cassettes: Path, replay, edit, reason: str) -> None:
    path = cassettes / "OpenAIClient" / f"{CLAUSE}.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    before = path.read_bytes()
    expect_refusal(replay, path, reason)
    assert path.read_bytes() == before


def test_a_binary_body_says_that_re_recording_a_binary_answer_writes_the_same(cassettes: Path, replay) -> None:
    path = cassettes / "OpenAIClient" / f"{CLAUSE}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("      string: |", "      string: !!binary |\n        aVBOR//+AAAA\n      x: |", 1))
    status, message, _ = replay()
    assert status == "error", message
    assert "re-recording writes the same: the kit replays text bodies only (JSON, SSE, NDJSON)" in message


def test_a_cassette_over_the_size_bound_is_refused(cassettes: Path, replay, monkeypatch: pytest.MonkeyPatch) -> None:
    path = cassettes / "OpenAIClient" / f"{CLAUSE}.yaml"
    monkeypatch.setenv("LAIOS_CONFORMANCE_MAX_CASSETTE_MB", str(path.stat().st_size / 2 / 1048576))
    size, limit = path.stat().st_size, int(path.stat().st_size / 2)
    expect_refusal(replay, path, f"refused: {human_size(size)}, over the {human_size(limit)} limit for one cassette")


def test_an_emptied_cassette_is_named_not_blamed_on_the_provider(cassettes: Path, replay) -> None:
    path = cassettes / "OpenAIClient" / f"{CLAUSE}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("interactions:")] + "interactions: []\n", encoding="utf-8")
    status, message, _ = replay()
    assert status == "error", message
    assert message.startswith(f"the cassette {path} holds no recorded request (interactions is empty)"), message
    assert "the provider now sends" not in message


def test_a_recorded_answer_without_text_is_not_judged_against_the_provider(cassettes: Path, replay) -> None:
    """gpt-5-mini spent its whole max_completion_tokens on reasoning (a real recording): the
    reference provider raises, as the contract asks, and 14 must clauses failed, blaming it."""
    sample = json.loads(
        (REPO / "tests/data/wire_samples/openai/gpt5mini-length-empty-content-nonstream.json").read_text()
    )
    path = cassettes / "OpenAIClient" / f"{CLAUSE}.yaml"
    path.write_text(_with_response_body(path.read_text(), json.dumps(sample["response"]["body_text"])))
    status, message, _ = replay()
    assert status == "error", message
    assert message.startswith(
        "the recorded answer to https://api.openai.com/v1/chat/completions carries no text (its finish reason is "
        "'length'), so there is nothing to judge the provider by. A reasoning model may spend the whole max_tokens"
    ), message


def test_an_error_the_api_sent_with_http_200_is_not_judged_against_the_provider(cassettes: Path, replay) -> None:
    """OpenRouter answers a rate limit with HTTP 200 and an error body: a provider that raised
    on it, as it must, failed every clause that replays it, and the recording was kept."""
    path = cassettes / "OpenAIClient" / f"{CLAUSE}.yaml"
    error = {"error": {"message": "Rate limit exceeded: free-models-per-min", "code": 429}}
    path.write_text(_with_response_body(path.read_text(), json.dumps(json.dumps(error))))
    status, message, _ = replay()
    assert status == "error", message
    assert message == (
        "the recorded answer to https://api.openai.com/v1/chat/completions is an error the API sent with HTTP 200 "
        "(Rate limit exceeded: free-models-per-min), so there is nothing to judge the provider by; record it again "
        "when the API answers"
    )
