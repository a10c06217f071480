"""Shared fixtures: the loopback stand-in API, cassettes recorded against it, and a way
to run the kit on a provider and read its verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

# Imported once here so that in-process kit runs (pytester restores sys.modules after
# each run) do not pay for importing them again every time.
import hypothesis  # noqa: F401  # imported to warm sys.modules
import jsonschema
import pytest
import vcr  # noqa: F401  # imported to warm sys.modules

import laios_conformance.contract._support
import laios_conformance.session  # noqa: F401  # imported to warm sys.modules
from laios_conformance.report import verdict_schema
from tests.support.fake_api import FakeAPI
from tests.support.recording import record

GOOD = "tests.providers.openai_style:GoodOpenAIStyle"
NON_STREAMING = "tests.providers.defective:NonStreaming"
DROPS_SYSTEM_PROMPT = "tests.providers.defective:DropsSystemPrompt"
OPENAI_BASE = "https://api.openai.com"


@pytest.fixture(scope="session", autouse=True)
def subprocess_bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Let the many Python subprocesses of this suite share compiled bytecode.

    Where PYTHONDONTWRITEBYTECODE is set, every subprocess recompiles (and pytest
    re-rewrites) every module it imports: seconds each. A cache prefix in a temporary
    directory keeps the repository and site-packages untouched.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        patch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path_factory.mktemp("pycache")))
        yield


@pytest.fixture(scope="session")
def fake_api() -> Iterator[FakeAPI]:
    with FakeAPI() as api:
        yield api


@pytest.fixture(scope="session")
def good_cassettes(tmp_path_factory: pytest.TempPathFactory, fake_api: FakeAPI) -> Path:
    """Cassettes for GoodOpenAIStyle, recorded through the kit against the loopback API;
    also for the two providers whose requests differ from it on purpose (so that their
    clauses judge what they send instead of missing the cassette)."""
    root = tmp_path_factory.mktemp("cassettes")
    for target in (GOOD, NON_STREAMING, DROPS_SYSTEM_PROMPT):
        result = record(target, {"base_url": f"{fake_api.url}/v1"}, fake_api.url, OPENAI_BASE, root, cwd=root)
        assert (root / target.rsplit(":", 1)[1]).is_dir(), result.stdout + result.stderr
    return root


def cassettes_for(root: Path, class_name: str) -> Path:
    """Let another provider class replay GoodOpenAIStyle's cassettes (same wire traffic)."""
    link = root / class_name
    if not link.exists():
        link.symlink_to(root / "GoodOpenAIStyle", target_is_directory=True)
    return root


def load_verdict(path: Path) -> dict:
    """A JSON verdict the kit wrote, checked against the schema the package ships."""
    data = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(data, verdict_schema())
    return data


class KitRun:
    """The outcome of one in-process kit run: pytest's result and the JSON verdict."""

    def __init__(self, result: pytest.RunResult, report: Path) -> None:
        self.result = result
        self.report = load_verdict(report) if report.exists() else None

    def statuses(self, provider_index: int = 0) -> dict[str, str]:
        """The status of every clause that ran (``not-run`` ones are in :meth:`not_run`)."""
        clauses = self.report["providers"][provider_index]["clauses"]
        return {cid: c["status"] for cid, c in clauses.items() if c["status"] != "not-run"}

    def not_run(self, provider_index: int = 0) -> dict[str, str]:
        """Why each clause that did not run did not run."""
        clauses = self.report["providers"][provider_index]["clauses"]
        return {cid: c["message"] for cid, c in clauses.items() if c["status"] == "not-run"}

    def message(self, clause_id: str, provider_index: int = 0) -> str:
        return self.report["providers"][provider_index]["clauses"][clause_id]["message"]


@pytest.fixture
def run_kit(pytester: pytest.Pytester, good_cassettes: Path):
    """Run the kit in-process on a provider replaying the good cassettes."""

    def run(target: str, *args: str, cassettes: bool = True) -> KitRun:
        report = pytester.path / "verdict.json"
        extra = []
        if cassettes:
            cassettes_for(good_cassettes, target.rsplit(":", 1)[1].split(".")[-1])
            extra.append(f"--laios-cassette-dir={good_cassettes}")
        result = pytester.runpytest_inprocess(
            f"--laios-provider={target}", f"--laios-report={report}", "-p", "no:cacheprovider", *extra, *args
        )
        return KitRun(result, report)

    return run
