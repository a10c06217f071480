"""``laios-conformance check`` against hostile providers: no verdict means no pass, output
paths are checked before anything runs, and nothing it prints or writes holds the key."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from laios_conformance._cli import child
from tests.cli.helpers import cli, make_unwritable_places, one_line_error, unwritable_outputs
from tests.conftest import GOOD, cassettes_for
from tests.support.recording import REPO

H = "tests.providers.hostile:"
KEY = "sk-proj-" + "Cz4mR" * 9


def test_a_provider_that_ends_the_process_fails_the_gate(tmp_path: Path, good_cassettes: Path) -> None:
    cassettes_for(good_cassettes, "ExitsInGenerate")
    report = tmp_path / "verdict.json"
    result = cli(
        "check",
        H + "ExitsInGenerate",
        "--cassette-dir",
        str(good_cassettes),
        "--report-json",
        str(report),
        "--",
        "-k",
        "returns_response",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    line = one_line_error(result)
    assert line.startswith("the run ended without a verdict: pytest exited with OK (0) and wrote no verdict")
    assert not report.exists()
    assert "gate: passed" not in result.stdout


def test_a_constructor_that_ends_the_process_fails_the_gate(tmp_path: Path) -> None:
    report = tmp_path / "verdict.json"
    result = cli("check", H + "EndsProcessInConstructor", "--report-json", str(report), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert one_line_error(result) == (
        "the run ended without a verdict: loading the provider ended the process (exit status 0) before it was judged"
    )
    assert not report.exists()


def test_a_module_that_blocks_at_import_is_one_line_not_a_hang(tmp_path: Path) -> None:
    """check loads the provider in a child first: that child imports the module under the call timeout too."""
    (tmp_path / "blocks_at_import.py").write_text("import threading\n\nthreading.Event().wait()\n")
    result = cli("check", "blocks_at_import:Client", "--call-timeout", "0.5", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert one_line_error(result) == (
        "laios-conformance: error: target 'blocks_at_import:Client': importing 'blocks_at_import' did not finish "
        "within 0.5 s; a module must not block at import (connect lazily, on the first call), or raise --call-timeout"
    )


def test_ctrl_c_still_writes_the_verdict_of_what_was_judged(tmp_path: Path, good_cassettes: Path) -> None:
    """Ctrl-C reaches check and its pytest child alike; check waits for the child's verdict
    (every clause: the one it stopped errors, the later ones are not-run) and writes its reports from it."""
    cassettes_for(good_cassettes, "BlocksAfterSayingSo")
    started = tmp_path / "started"
    reports = {"--report-json": tmp_path / "verdict.json", "--report-md": tmp_path / "summary.md"}
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env.update(PYTHONPATH=str(REPO), LAIOS_TEST_STARTED=str(started))
    command = [sys.executable, "-m", "laios_conformance.cli", "check", H + "BlocksAfterSayingSo"]
    command += ["--cassette-dir", str(good_cassettes), *(str(a) for pair in reports.items() for a in pair)]
    with subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    ) as check:
        deadline = time.monotonic() + 120
        while not started.exists() and check.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(check.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        try:
            out, err = check.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(check.pid, signal.SIGKILL)
            out, err = check.communicate()
            pytest.fail(f"check and its pytest child ran on 120 s after Ctrl-C:\n{out}{err}")
    assert check.returncode == 130, out + err
    clauses = json.loads(reports["--report-json"].read_text())["providers"][0]["clauses"]
    assert clauses["returns-response"]["status"] == "error" and len(clauses) > 30
    assert clauses["returns-response"]["message"].startswith("interrupted (Ctrl-C) while this clause ran")
    assert clauses["system-prompt"]["status"] == "not-run"
    assert "gate failed" in reports["--report-md"].read_text()
    assert "gate: FAILED" in out
    # The blocked call was abandoned at once, not waited on by close() for the call timeout (60 s).
    assert "laios: abandoned at an interrupt, still running: generate()" in out


def test_sigterm_to_check_alone_ends_its_pytest_child_too(tmp_path: Path, good_cassettes: Path) -> None:
    """``kill PID`` (a supervisor stopping check) reaches check only: its child ran on,
    running the provider with no one to read its verdict, and check's scratch folder stayed."""
    cassettes_for(good_cassettes, "BlocksAfterSayingSo")
    started, scratch = tmp_path / "started", tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env.update(PYTHONPATH=str(REPO), LAIOS_TEST_STARTED=str(started), TMPDIR=str(scratch))
    command = [sys.executable, "-m", "laios_conformance.cli", "check", H + "BlocksAfterSayingSo"]
    command += ["--cassette-dir", str(good_cassettes)]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as check:
        deadline = time.monotonic() + 120
        while not started.exists() and check.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        children = Path(f"/proc/{check.pid}/task/{check.pid}/children").read_text().split()
        assert len(children) == 1, children  # the pytest child, blocked in the provider
        check.terminate()
        try:
            out, err = check.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.kill(int(children[0]), signal.SIGKILL)
            check.kill()
            pytest.fail("check ran on 60 s after SIGTERM")
    assert check.returncode == 128 + signal.SIGTERM, out + err
    assert err.splitlines() == [
        "laios-conformance: stopped by SIGTERM, and the run it started with it; nothing was judged"
    ]
    with pytest.raises(ProcessLookupError):
        os.kill(int(children[0]), 0)
    assert list(scratch.iterdir()) == []


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child before it starts: SIGINT's default action, which Python turns into
    KeyboardInterrupt. A shell starts background jobs with SIGINT ignored, and a Python
    started so never hears Ctrl-C; a run of this suite from such a job must not hang here."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_constructor_that_prints_bytes_that_are_not_utf8_is_judged(tmp_path: Path, good_cassettes: Path) -> None:
    """check builds the provider in a child first, and reads what it printed (a UnicodeDecodeError traceback)."""
    cassettes_for(good_cassettes, "PrintsBytesWhenBuilt")
    args = ["check", H + "PrintsBytesWhenBuilt", "--cassette-dir", str(good_cassettes), "--allow-partial"]
    result = cli(*args, "--", "-k", "returns_response", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "gate: partial" in result.stdout


def test_an_incomplete_verdict_is_no_verdict(tmp_path: Path) -> None:
    report = tmp_path / "verdict.json"
    run = child.ChildRun(0, "", "")
    report.write_text('{"kit_version": "1"}')
    assert "is incomplete" in str(child.missing_verdict(report, run))
    report.write_text('{"providers": [')
    assert "is unreadable" in str(child.missing_verdict(report, run))
    report.write_text('{"providers": []}')
    assert child.missing_verdict(report, run) is None
    assert child.ChildRun(-9, "", "").describe_exit() == "was killed by SIGKILL"


@unwritable_outputs("--badge", "--report-md", "--junit")
def test_unwritable_output_is_one_usage_line(tmp_path: Path, option: str, make, expected: str) -> None:
    make_unwritable_places(tmp_path)
    result = cli("check", GOOD, option, str(make(tmp_path)), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line_error(result)
    assert line.startswith(f"laios-conformance: error: {option} ") and expected in line


def test_recording_into_a_file_is_one_usage_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    result = cli("check", GOOD, "--cassette-dir", str(tmp_path / "a-file"), "--", "--record-mode=once", cwd=tmp_path)
    assert result.returncode == 2
    assert "is a file, not a directory" in one_line_error(result)


def test_replaying_from_a_missing_folder_is_one_usage_line(tmp_path: Path) -> None:
    result = cli("check", GOOD, "--cassette-dir", str(tmp_path / "cassetes"), cwd=tmp_path)
    assert result.returncode == 2
    line = one_line_error(result)
    assert line.startswith("laios-conformance: error: --cassette-dir ") and "cassetes' does not exist" in line


def test_check_repeats_the_key_nowhere(tmp_path: Path, good_cassettes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cassettes_for(good_cassettes, "LeaksKeyEverywhere")
    monkeypatch.setenv("LAIOS_TEST_KEY", KEY)
    out = tmp_path / "out"
    files = {name: out / name for name in ("verdict.json", "summary.md", "junit.xml", "badge.json")}
    result = cli(
        "check",
        H + "LeaksKeyEverywhere",
        "--kwargs",
        '{"api_key": "$LAIOS_TEST_KEY"}',
        "--cassette-dir",
        str(good_cassettes),
        "--report-json",
        str(files["verdict.json"]),
        "--report-md",
        str(files["summary.md"]),
        "--junit",
        str(files["junit.xml"]),
        "--badge",
        str(files["badge.json"]),
        "--",
        "-k",
        "no_secret_leak or router_fallback",
        "-o",
        "junit_logging=all",
        "-rA",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert all(path.exists() for path in files.values())
    written = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file())
    assert KEY not in result.stdout + result.stderr
    assert KEY not in written
    assert "<REDACTED>" in result.stdout  # pytest's report was shown (the gate failed), redacted
    assert json.loads(files["verdict.json"].read_text())["providers"][0]["clauses"]["no-secret-leak"]["status"] == (
        "failed"
    )


def test_the_progress_bar_is_drawn_by_the_child(good_cassettes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child draws on the terminal it is handed (here a pseudo-terminal)."""
    leader, follower = pty.openpty()
    monkeypatch.setattr(child, "_duplicate_terminal", lambda: os.dup(follower))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parents[2]), *sys.path]))
    run = child.run_child(
        [
            f"--laios-provider={GOOD}",
            f"--laios-cassette-dir={good_cassettes}",
            "-p",
            "no:cacheprovider",
            "--laios-allow-partial",
            "-k",
            "returns_response",
        ],
        verbose=False,
        progress=True,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            piece = os.read(leader, 65536)
        except OSError:
            break
        if not piece:
            break
        drawn += piece
    os.close(leader)
    assert run.code == 0, run.out + run.err
    assert b"returns-response [GoodOpenAIStyle]" in drawn and b"1/1" in drawn


def test_check_passes_its_twins_of_the_plugin_options_to_pytest(tmp_path: Path) -> None:
    from laios_conformance._cli.check import pytest_arguments
    from laios_conformance.cli import build_parser

    args = build_parser().parse_args(["check", GOOD, "--secret-kwargs", "deployment,region", "--call-timeout", "0.5"])
    argv = pytest_arguments(args, [])
    assert "--laios-secret-kwargs=deployment,region" in argv and "--laios-call-timeout=0.5" in argv
