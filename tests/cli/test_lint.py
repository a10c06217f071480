"""``laios-conformance lint``: secrets in cassettes, and cassettes that no clause replays."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from laios_conformance.cli import main
from tests.cli.helpers import REPO, cli

OPENAI = "reference_providers.openai:OpenAIClient"
KEY = "sk-proj-" + "Ab3dE6gH9jK2mN5pQ8rS1tU4vW7xY0zA3bC6dE9f"
LEAKY = f"""\
interactions:
- request:
    body: '{{"model": "gpt-4o-mini"}}'
    headers:
      authorization:
      - Bearer {KEY}
    method: POST
    uri: https://api.openai.com/v1/chat/completions
  response:
    body:
      string: '{{"error": "nope"}}'
    headers: {{}}
    status:
      code: 401
      message: Unauthorized
version: 1
"""


def test_committed_cassettes_are_clean(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    assert main(["lint"]) == 0  # default: cassettes/
    assert capsys.readouterr().out == ""


def test_planted_key_is_found_and_not_printed(tmp_path: Path) -> None:
    folder = tmp_path / "cassettes" / "OpenAIClient"
    folder.mkdir(parents=True)
    (folder / "returns-response.yaml").write_text(LEAKY, encoding="utf-8")
    result = cli("lint", str(tmp_path / "cassettes"), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"{folder / 'returns-response.yaml'}:6:interactions[0].request.headers.authorization: openai-key:"
        in result.stdout
    )
    assert KEY not in result.stdout + result.stderr
    assert KEY[:12] not in result.stdout


def test_a_provider_that_ends_the_process_cannot_hide_a_planted_key(tmp_path: Path) -> None:
    """lint builds the provider to find its folder: one that ends the process ended lint with status 0."""
    folder = tmp_path / "cassettes" / "EndsProcessInConstructor"
    folder.mkdir(parents=True)
    (folder / "returns-response.yaml").write_text(LEAKY, encoding="utf-8")
    target = "tests.providers.hostile:EndsProcessInConstructor"
    result = cli("lint", str(tmp_path / "cassettes"), "--laios-provider", target, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "openai-key:" in result.stdout and KEY not in result.stdout + result.stderr
    assert result.stderr.strip() == (
        "lint: loading the provider ended the process (exit status 0) before it was judged; "
        "unused cassettes were not looked for"
    )


def copy_of_openai_cassettes(tmp_path: Path) -> Path:
    root = tmp_path / "cassettes"
    shutil.copytree(REPO / "cassettes" / "OpenAIClient", root / "OpenAIClient")
    return root


def test_every_committed_cassette_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_of_openai_cassettes(tmp_path)
    assert main(["lint", str(root), "--laios-provider", OPENAI]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("folder", ["root", "class folder"])
def test_unused_cassette_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str], folder: str) -> None:
    root = copy_of_openai_cassettes(tmp_path)
    unused = root / "OpenAIClient" / "not-a-clause.yaml"
    shutil.copy(root / "OpenAIClient" / "returns-response.yaml", unused)
    target = root if folder == "root" else root / "OpenAIClient"
    assert main(["lint", str(target), "--laios-provider", OPENAI]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{unused}:file: unused: no clause replays a cassette named 'not-a-clause'"]


def test_unused_needs_the_provider_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_of_openai_cassettes(tmp_path)
    shutil.copy(root / "OpenAIClient" / "returns-response.yaml", root / "OpenAIClient" / "not-a-clause.yaml")
    assert main(["lint", str(root)]) == 0


@pytest.mark.parametrize(
    "args, expected",
    [
        (["lint", "no/such/dir"], "no such file or directory: no/such/dir"),
        (["lint", "--laios-provider", "nocolon"], "has no ':'"),
    ],
)
def test_lint_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list, expected: str
) -> None:
    monkeypatch.chdir(REPO)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and expected in err


def test_max_size_bounds_what_lint_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = copy_of_openai_cassettes(tmp_path)
    path = root / "OpenAIClient" / "returns-response.yaml"
    assert main(["lint", str(path), "--max-size", "0.000976"]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    size = path.stat().st_size
    assert line == (
        f"{path}:file: refused: {size / 1024:.1f} kB, over the 1023 bytes limit for one cassette "
        "(raise it with --max-size MB if the file is genuine)"
    )
    assert main(["lint", str(path), "--max-size", "1"]) == 0


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1", "abc"])
@pytest.mark.parametrize("how", ["--max-size", "LAIOS_CONFORMANCE_MAX_CASSETTE_MB"])
def test_a_size_limit_that_is_no_number_of_megabytes_is_one_usage_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, how: str, value: str
) -> None:
    """inf crashed lint; 0 and -1 refused every file; abc was ignored."""
    root = copy_of_openai_cassettes(tmp_path)
    if how.startswith("--"):
        assert main(["lint", str(root), how, value]) == 2
    else:
        monkeypatch.setenv(how, value)
        assert main(["lint", str(root)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"laios-conformance: error: lint: {how} {value!r} is not a number of megabytes between 0 and 1048576 "
        "(the default is 50)\n"
    )
