"""raises-on-bad-body judges a generate() that reads a stream on bodies that are what each
case says: the "text content null" stream has null in every text event (not the kit's
sentinel text spread over several), the "malformed JSON" one an event with broken JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import OPENAI_BASE, load_verdict
from tests.support.fake_api import FakeAPI
from tests.support.recording import record

CORRECT = "tests.providers.openai_style:GenerateReadsStream"
DEFECTIVE = "tests.providers.defective:StreamedGenerateTrustsNoText"

pytestmark = pytest.mark.xdist_group("streamed-generate")  # one recording for the module


@pytest.fixture(scope="module")
def cassettes(tmp_path_factory: pytest.TempPathFactory, fake_api: FakeAPI) -> Path:
    root = tmp_path_factory.mktemp("streamed-generate")
    url = fake_api.url
    result = record(
        (CORRECT, DEFECTIVE), {"base_url": f"{url}/v1"}, url, OPENAI_BASE, root, root, ["-k", "raises_on_bad_body"]
    )
    for target in (CORRECT, DEFECTIVE):
        assert (root / target.rsplit(":", 1)[1]).is_dir(), result.stdout[-3000:] + result.stderr[-3000:]
    return root


def _judge(pytester: pytest.Pytester, cassettes: Path, target: str) -> dict:
    report = pytester.path / "verdict.json"
    pytester.runpytest_inprocess(
        f"--laios-provider={target}",
        f"--laios-cassette-dir={cassettes}",
        f"--laios-report={report}",
        "-k",
        "raises_on_bad_body",
        "--laios-allow-partial",
        "-p",
        "no:cacheprovider",
    )
    return load_verdict(report)["providers"][0]["clauses"]["raises-on-bad-body"]


def test_a_correct_generate_over_a_stream_passes(pytester: pytest.Pytester, cassettes: Path) -> None:
    verdict = _judge(pytester, cassettes, CORRECT)
    assert verdict["status"] == "passed", verdict["message"]


def test_one_that_returns_the_empty_text_of_a_null_stream_fails(pytester: pytest.Pytester, cassettes: Path) -> None:
    verdict = _judge(pytester, cassettes, DEFECTIVE)
    assert verdict["status"] == "failed"
    assert "2 case(s) failed" in verdict["message"]
    for case in ('text content ""', "text content null"):
        assert f"{case}: returned LLMResponse with content '' instead of raising" in verdict["message"]
