"""``laios-conformance drift``: the live API (a loopback stand-in, in two versions) against the committed cassettes.

The "committed" cassettes here are recorded once from version 1 of the loopback API (the
repository's own cassettes mix in answers from other services, such as the truncated vllm
answer ``finish-reason`` replays, which the stand-in does not serve); version 1 then answers
in their shape, and version 2 (``ChangedShapeAPI``) changes it the way APIs do: a retyped
field, a removed one and an added one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.helpers import cli, one_line_error
from tests.support.fake_api import ChangedShapeAPI as ChangedAPI
from tests.support.fake_api import FakeAPI

OPENAI = "reference_providers.openai:OpenAIClient"


def files_under(directory: Path) -> dict[Path, bytes | None]:
    """Every entry under ``directory`` and its bytes (None for a folder)."""
    return {path: path.read_bytes() if path.is_file() else None for path in sorted(directory.rglob("*"))}


@pytest.fixture(scope="module")
def recorded_from_version_1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recorded") / "cassettes"
    with FakeAPI() as api:
        kwargs = json.dumps({"base_url": api.url + "/v1"})
        result = cli(
            "check",
            OPENAI,
            "--kwargs",
            kwargs,
            "--cassette-dir",
            str(root),
            "--",
            "--record-mode=once",
            "-m",
            "vcr",
            "--laios-allow-partial",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture
def committed(recorded_from_version_1: Path, tmp_path: Path) -> Path:
    root = tmp_path / "cassettes"
    shutil.copytree(recorded_from_version_1, root)
    return root


def drift(api_url: str, root: Path, report: Path, env: dict[str, str] | None = None):
    kwargs = json.dumps({"base_url": api_url + "/v1"})
    return cli("drift", OPENAI, "--kwargs", kwargs, "--cassette-dir", str(root), "--report-md", str(report), env=env)


def test_the_same_shape_is_no_drift(committed: Path, tmp_path: Path) -> None:
    before = files_under(committed)
    with FakeAPI() as api:
        result = drift(api.url, committed, tmp_path / "drift.md")
    assert result.returncode == 0, result.stdout + result.stderr
    count = len(list((committed / "OpenAIClient").glob("*.yaml")))
    assert result.stdout.splitlines() == [f"drift: no change of shape in {count} cassette(s)"]
    progress = [line for line in result.stderr.splitlines() if line.startswith("drift: recorded ")]
    assert len(progress) == count and progress[0] == f"drift: recorded returns-response (1/{count}): passed"
    assert (tmp_path / "drift.md").read_text() == (
        f"## API drift: `{OPENAI}`\n\nNo change of shape: the live API answers as the committed cassettes say.\n"
    )
    assert files_under(committed) == before


def test_a_retyped_a_removed_and_an_added_field_are_reported(committed: Path, tmp_path: Path) -> None:
    before = files_under(committed)
    with ChangedAPI() as api:
        result = drift(api.url, committed, tmp_path / "drift.md")
    assert result.returncode == 1, result.stdout + result.stderr
    assert files_under(committed) == before, "drift wrote into the cassette dir"
    lines = result.stdout.splitlines()
    where = "returns-response interaction 0 (POST /v1/chat/completions)"
    mine = [line for line in lines if line.split(": ")[1] == where]
    assert mine == [
        f"additive: {where}: safety: added",
        f"breaking: {where}: usage: removed",
        f"breaking: {where}: choices[].message.content: str -> list",
    ]
    changes = {line.split(": ", 2)[2] for line in lines[:-1]}
    assert changes == {"safety: added", "usage: removed", "choices[].message.content: str -> list"}, lines
    clauses = {line.split(": ")[1].split(" ")[0] for line in lines[:-1]}
    assert lines[-1] == (
        f"drift: {2 * len(clauses)} breaking change(s), {len(clauses)} additive change(s), in {len(clauses)} of "
        f"{len(before) - 1} cassette(s)"
    )
    table = (tmp_path / "drift.md").read_text().splitlines()
    assert table[2:4] == ["| change | clause | interaction | path | what changed |", "| --- | --- | --- | --- | --- |"]
    assert "| breaking | returns-response | 0 (POST /v1/chat/completions) | `usage` | removed |" in table
    assert (
        "| breaking | returns-response | 0 (POST /v1/chat/completions) | `choices[].message.content` | str -> list |"
        in (table)
    )
    assert len(table) == 4 + len(lines) - 1


def test_a_clause_that_records_nothing_fails_the_drift_check(committed: Path, tmp_path: Path) -> None:
    with FakeAPI() as api:
        down = api.url  # stopped on leaving the block: every request is refused
    before = files_under(committed)
    result = drift(down, committed, tmp_path / "drift.md")
    assert result.returncode == 1, result.stdout + result.stderr
    assert files_under(committed) == before
    lines = result.stdout.splitlines()
    count = len(list((committed / "OpenAIClient").glob("*.yaml")))
    # One cause, one line: not one per cassette, all alike.
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"not recorded: {count} clauses ("), lines
    assert "returns-response, " in lines[0] or "returns-response)" in lines[0], lines[0]
    # The API being down says nothing about the provider: its clause errors, it does not fail.
    assert "): cassette: its clause recorded nothing (error: " in lines[0], lines[0]
    assert "got no response (ConnectError: [Errno 111] Connection refused)" in lines[0], lines[0]
    assert lines[-1] == f"drift: {count} recorded nothing, in {count} of {count} cassette(s)"


def test_a_provider_that_interrupts_the_recording_is_one_line_not_silence(committed: Path, tmp_path: Path) -> None:
    target = "tests.providers.hostile:InterruptedAfterFirstAnswer"
    shutil.copytree(committed / "OpenAIClient", committed / "InterruptedAfterFirstAnswer")
    with FakeAPI() as api:
        kwargs = json.dumps({"base_url": api.url + "/v1"})
        result = cli("drift", target, "--kwargs", kwargs, "--cassette-dir", str(committed))
    assert result.returncode == 130, result.stdout + result.stderr
    assert one_line_error(result).startswith("drift: the recording run was interrupted")


def test_a_provider_that_ends_the_process_fails_the_drift_check(committed: Path, tmp_path: Path) -> None:
    """Not exit status 0, "nothing breaking", with nothing compared and nothing said; and no
    scratch directory of the ended run left behind."""
    shutil.copytree(committed / "OpenAIClient", committed / "ExitsInGenerate")
    report = tmp_path / "drift.md"
    temp = tmp_path / "temp"
    temp.mkdir()
    with FakeAPI() as api:
        kwargs = json.dumps({"base_url": api.url + "/v1"})
        args = ["--kwargs", kwargs, "--cassette-dir", str(committed), "--report-md", str(report)]
        result = cli("drift", "tests.providers.hostile:ExitsInGenerate", *args, env={"TMPDIR": str(temp)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert one_line_error(result).startswith("drift: the recording run ended before drift finished (it exited with OK")
    assert not report.exists()
    assert list(temp.iterdir()) == []


def test_drift_loads_each_plugin_once_when_the_user_names_them_with_autoload_off(
    committed: Path, tmp_path: Path
) -> None:
    with FakeAPI() as api:
        down = api.url  # nothing to record: the test is about pytest starting
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_ADDOPTS": "-p laios_conformance -p recording"}
    result = drift(down, committed, tmp_path / "drift.md", env=env)
    assert "Traceback" not in result.stderr and "already registered" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    assert "returns-response" in result.stdout and "its clause recorded nothing" in result.stdout, result.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["drift", "nocolon"], "has no ':'"),
        (["drift", OPENAI, "--kwargs", "[1]"], "--kwargs must be a JSON object"),
        (["drift", OPENAI, "--cassette-dir", "no/such/dir"], "no committed cassettes for OpenAIClient in no/such/dir"),
    ],
)
def test_drift_usage_errors(args: list[str], expected: str) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert expected in one_line_error(result)


def test_interactions_are_paired_by_request_not_by_order(committed: Path, tmp_path: Path) -> None:
    from laios_conformance._cli.drift import compare_dirs
    from laios_conformance.cassettes import serializer

    source = committed / "OpenAIClient" / "content-fidelity.yaml"
    document = serializer.deserialize(source.read_text(encoding="utf-8"))
    assert len(document["interactions"]) == 2  # one plain answer, one stream
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (old / source.name).write_bytes(source.read_bytes())
    document["interactions"].reverse()
    (new / source.name).write_text(serializer.serialize(document), encoding="utf-8")
    assert compare_dirs(old, new) == []


def test_a_corrupt_committed_cassette_is_not_compared_rather_than_not_recorded(committed: Path, tmp_path: Path) -> None:
    """Its clause recorded: saying it "recorded nothing" sent the reader after the API."""
    from laios_conformance._cli.drift import compare_dirs, summary

    source = committed / "OpenAIClient" / "returns-response.yaml"
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    (new / source.name).write_bytes(source.read_bytes())
    (old / source.name).write_text("recorded_at: 2026-13-45\ninteractions: []\n", encoding="utf-8")
    [line] = compare_dirs(old, new)
    assert str(line).startswith(f"not compared: returns-response: cassette: cassette {old / source.name} is corrupt (")
    assert "'2026-13-45' is no date" in line.change
    assert summary([line], 1) == "drift: 1 could not be compared, in 1 of 1 cassette(s)"


def test_cassettes_that_recorded_nothing_for_one_cause_are_one_line() -> None:
    from laios_conformance._cli.drift import NOT_RECORDED, DriftLine, collapsed

    down = "its clause recorded nothing (error: the request got no response)"
    lines = [
        DriftLine("returns-response", "", "cassette", down, NOT_RECORDED),
        DriftLine("stream-join", "0 (POST /v1/chat/completions)", "$.choices", "list -> null", "breaking"),
        DriftLine("stream-raises", "", "cassette", down, NOT_RECORDED),
        DriftLine("system-prompt", "", "cassette", "its clause recorded nothing (skipped: no key)", NOT_RECORDED),
        DriftLine("usage-fidelity", "", "cassette", down, NOT_RECORDED),
    ]
    assert collapsed(lines) == [
        f"not recorded: 3 clauses (returns-response, stream-raises, usage-fidelity): cassette: {down}",
        "breaking: stream-join interaction 0 (POST /v1/chat/completions): $.choices: list -> null",
        "not recorded: system-prompt: cassette: its clause recorded nothing (skipped: no key)",
    ]
