"""A generate() that reads an OpenAI-compatible stream is judged on streams as other
servers send them: OpenRouter repeats the finish reason on its usage chunk, Groq streams
its counts in ``x_groq.usage``. A provider correct for such a stream must pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import OPENAI_BASE, load_verdict
from tests.support.fake_api import FakeAPI, load_sample
from tests.support.recording import record

S = "tests.providers.openai_style:"
OPENROUTER = "openai-compatible/openrouter-claude-haiku-stream-usage.json"
GROQ = "openai-compatible/groq-llama3-hello-stream.json"
CLAUSES = "usage_fidelity or usage_reported or finish_reason or model_reported"

pytestmark = pytest.mark.xdist_group("streamed-generate-servers")  # one recording per server


@dataclass
class OneStreamAPI(FakeAPI):
    """Answers every streamed request with one recorded stream, asked for usage or not."""

    stream: str = ""

    def answer(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if not json.loads(body or b"{}").get("stream"):
            return super().answer(path, body)
        response = load_sample(self.stream)["response"]
        return response["status"], {"content-type": "text/event-stream"}, response["body_text"].encode("utf-8")


def _recorded(root: Path, sample: str, targets: tuple[str, ...]) -> Iterator[Path]:
    with OneStreamAPI(stream=sample) as api:
        result = record(targets, {"base_url": f"{api.url}/v1"}, api.url, OPENAI_BASE, root, root, ["-k", CLAUSES])
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


def _judge(pytester: pytest.Pytester, cassettes: Path, target: str) -> dict:
    report = pytester.path / "verdict.json"
    pytester.runpytest_inprocess(
        f"--laios-provider={target}",
        f"--laios-cassette-dir={cassettes}",
        f"--laios-report={report}",
        "-k",
        CLAUSES,
        "--laios-allow-partial",
        "-p",
        "no:cacheprovider",
    )
    return load_verdict(report)["providers"][0]["clauses"]


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
