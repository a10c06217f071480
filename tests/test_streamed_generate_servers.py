"""A generate() that reads an OpenAI-compatible stream is judged on streams as other
servers send them: OpenRouter repeats the finish reason on its usage chunk, Groq streams
its counts in ``x_groq.usage``, Gemini may send a short answer in one chunk that also
carries its finish reason. A provider correct for such a stream must pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import OPENAI_BASE, judged_clauses
from tests.support.fake_api import FakeAPI, load_sample
from tests.support.recording import record

S = "tests.providers.openai_style:"
D = "tests.providers.defective:"
OPENROUTER = "openai-compatible/openrouter-claude-haiku-stream-usage.json"
GROQ = "openai-compatible/groq-llama3-hello-stream.json"
GEMINI = "openai-compatible/gemini-openai-compat-hello-stream.json"
CLAUSES = "usage_fidelity or usage_reported or finish_reason or model_reported"

pytestmark = pytest.mark.xdist_group("streamed-generate-servers")  # one recording per server


@dataclass
class OneStreamAPI(FakeAPI):
    """Answers every streamed request with one recorded stream, asked for usage or not."""

    stream: str = ""
    events_dropped: int = 0  # the stream without its first events

    def answer(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if not json.loads(body or b"{}").get("stream"):
            return super().answer(path, body)
        response = load_sample(self.stream)["response"]
        events = response["body_text"].split("\n\n")[self.events_dropped :]
        return response["status"], {"content-type": "text/event-stream"}, "\n\n".join(events).encode("utf-8")


def _recorded(
    root: Path, sample: str, targets: tuple[str, ...], clauses: str = CLAUSES, events_dropped: int = 0
) -> Iterator[Path]:
    with OneStreamAPI(stream=sample, events_dropped=events_dropped) as api:
        result = record(targets, {"base_url": f"{api.url}/v1"}, api.url, OPENAI_BASE, root, root, ["-k", clauses])
    for target in targets:
        assert (root / target.rsplit(":", 1)[1]).is_dir(), result.stdout[-3000:] + result.stderr[-3000:]
    yield root


@pytest.fixture(scope="module")
def openrouter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    targets = (S + "GenerateReadsStream", S + "GenerateKeepsFirstFinishReason")
    yield from _recorded(tmp_path_factory.mktemp("openrouter"), OPENROUTER, targets)


@pytest.fixture(scope="module")
def groq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    targets = (S + "GenerateReadsStream", S + "GenerateReadsGroqUsage")
    yield from _recorded(tmp_path_factory.mktemp("groq"), GROQ, targets)


@pytest.fixture(scope="module")
def one_chunk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Gemini's recorded stream from its second chunk: the whole answer and its finish reason
    in one event, then [DONE]."""
    root = tmp_path_factory.mktemp("one-chunk")
    targets = (S + "GenerateReadsStream", D + "StreamedGenerateIgnoresItsEnd")
    yield from _recorded(root, GEMINI, targets, "raises_on_bad_body", events_dropped=1)


def _judge(pytester: pytest.Pytester, cassettes: Path, target: str, clauses: str = CLAUSES) -> dict:
    return judged_clauses(pytester, cassettes, target, clauses)


def _statuses(clauses: dict) -> dict[str, tuple[str, str]]:
    names = ("usage-fidelity", "usage-reported", "finish-reason", "model-reported")
    return {name: (clauses[name]["status"], clauses[name]["message"][:300]) for name in names}


@pytest.mark.parametrize("target", ["GenerateReadsStream", "GenerateKeepsFirstFinishReason"])
def test_a_finish_reason_repeated_on_the_usage_chunk_is_judged_as_one(
    pytester: pytest.Pytester, openrouter: Path, target: str
) -> None:
    """Whether a provider keeps the first or the last of OpenRouter's two equal finish reasons,
    it reports what the stream states."""
    statuses = _statuses(_judge(pytester, openrouter, S + target))
    assert all(status == "passed" for status, _ in statuses.values()), statuses


def test_groq_counts_in_x_groq_usage_are_judged(pytester: pytest.Pytester, groq: Path) -> None:
    statuses = _statuses(_judge(pytester, groq, S + "GenerateReadsGroqUsage"))
    assert all(status == "passed" for status, _ in statuses.values()), statuses


def test_a_provider_that_drops_groqs_counts_fails_usage_reported(pytester: pytest.Pytester, groq: Path) -> None:
    statuses = _statuses(_judge(pytester, groq, S + "GenerateReadsStream"))
    assert statuses["usage-reported"][0] == "failed", statuses
    assert "usage is None although the body states" in statuses["usage-reported"][1]
    assert statuses["usage-fidelity"][0] == "passed", statuses  # None is usage-reported's to judge


def test_an_answer_in_one_chunk_is_cut_short_between_two_pieces(pytester: pytest.Pytester, one_chunk: Path) -> None:
    """Cut after its only text event, the stream would still end with a finish reason: a
    complete answer, which a correct provider returns."""
    verdict = _judge(pytester, one_chunk, S + "GenerateReadsStream", "raises_on_bad_body")["raises-on-bad-body"]
    assert verdict["status"] == "passed", verdict["message"]


def test_one_that_ignores_its_end_still_fails_on_an_answer_in_one_chunk(
    pytester: pytest.Pytester, one_chunk: Path
) -> None:
    verdict = _judge(pytester, one_chunk, D + "StreamedGenerateIgnoresItsEnd", "raises_on_bad_body")
    assert verdict["raises-on-bad-body"]["status"] == "failed"
    assert (
        "1 case(s) failed:\n  - stream cut short: returned LLMResponse with content ' there!"
        in (verdict["raises-on-bad-body"]["message"])
    )
