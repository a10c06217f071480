"""Recording against a live API, safe cassettes.

Every recording run is the kit in a subprocess (``--record-mode=...``, exactly as a
provider author runs it) against the loopback :class:`FakeAPI`, which serves real
recorded responses. Replays of recorded cassettes that only vary one file run
in-process (pytester) to keep the module fast; the end-to-end replays of the three
reference providers, and of the kit's providers on requests, urllib.request and aiohttp, run in
subprocesses, after their fake API has been stopped.

What the interrupt test establishes (and so what the kit guarantees) when a recording
process is killed (SIGKILL) in the middle of writing a cassette:

* ``--record-mode=once`` writing a new cassette: the cassette is absent afterwards;
* ``--record-mode=all`` and ``rewrite`` re-recording over an existing cassette: the old
  cassette is intact, byte for byte (the new one is written to a temporary file, in a
  staging folder for a re-recording, and only ``os.replace``-d over it once complete);
* in every case each ``*.yaml`` left reads back cleanly, the only leftover is a dot-file
  (or staging dot-folder) ending ``.tmp``, the linter reports it, and the next run removes it.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets as _secrets
import shutil
import signal
import string
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from laios_conformance.cassettes import lint_paths, read_cassette, serializer
from laios_conformance.report import verdict_badge, verdict_markdown
from tests.conftest import load_verdict
from tests.support.fake_api import FakeAPI, ReceivedRequest, RefusingAPI, StreamOutageAPI
from tests.support.recording import REPO
from tests.support.recording import run_kit as kit_subprocess

OPENAI = "reference_providers.openai:OpenAIClient"
PROGRESS = re.compile(r"^laios: recorded (\S+) -> (.+) \((\d+) interaction\(s\), (\d+) bytes\)$")


@dataclass(frozen=True)
class Reference:
    target: str
    base_suffix: str  # appended to the fake API's URL to form base_url
    key_prefix: str | None  # None: the provider takes no key
    auth_header: str | None = None

    @property
    def class_name(self) -> str:
        return self.target.rsplit(":", 1)[1]


REFERENCES = {
    "OpenAIClient": Reference(OPENAI, "/v1", "sk-proj-", "authorization"),
    "AnthropicClient": Reference("reference_providers.anthropic:AnthropicClient", "", "sk-ant-api03-", "x-api-key"),
    "OllamaClient": Reference("reference_providers.ollama:OllamaClient", "", None),
    # The kit's own providers on the other stacks it watches: requests, urllib.request and aiohttp.
    "RequestsOpenAIStyle": Reference(
        "tests.providers.requests_style:RequestsOpenAIStyle", "/v1", "sk-proj-", "authorization"
    ),
    "UrllibOpenAIStyle": Reference(
        "tests.providers.urllib_style:UrllibOpenAIStyle", "/v1", "sk-proj-", "authorization"
    ),
    "AiohttpOpenAIStyle": Reference(
        "tests.providers.aiohttp_style:AiohttpOpenAIStyle", "/v1", "sk-proj-", "authorization"
    ),
}


def planted_key(prefix: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(_secrets.choice(alphabet) for _ in range(40))


def files_under(directory: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


def yaml_files(directory: Path) -> dict[str, Path]:
    return {path.stem: path for path in sorted(directory.glob("*.yaml"))}


def statuses(report: dict, provider_index: int = 0) -> dict[str, str]:
    """The status of every clause that ran."""
    clauses = report["providers"][provider_index]["clauses"]
    return {cid: c["status"] for cid, c in clauses.items() if c["status"] != "not-run"}


def message(report: dict, clause_id: str) -> str:
    return report["providers"][0]["clauses"][clause_id]["message"]


def load_report(path: Path) -> dict | None:
    return load_verdict(path) if path.exists() else None


def output(result: subprocess.CompletedProcess) -> str:
    return f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def kit_args(target: str, kwargs: dict, cassette_root: Path, *extra: str) -> list[str]:
    return [
        f"--laios-provider={target}",
        f"--laios-provider-kwargs={json.dumps(kwargs)}",
        f"--laios-cassette-dir={cassette_root}",
        *extra,
    ]


# --- the three reference providers, recorded then replayed offline ----------------------------


@dataclass
class Recording:
    reference: Reference
    key: str | None
    fake_url: str
    kwargs: dict
    cassette_root: Path
    recorded: subprocess.CompletedProcess
    record_report: dict | None
    report_bytes: bytes
    files_after_recording: dict[Path, bytes]
    received: list[ReceivedRequest]
    replayed: subprocess.CompletedProcess | None = None
    replay_report: dict | None = None
    replay_report_bytes: bytes = b""
    files_after_replay: dict[Path, bytes] = field(default_factory=dict)

    @property
    def cassette_dir(self) -> Path:
        return self.cassette_root / self.reference.class_name


def _record_reference(name: str, reference: Reference, root: Path) -> Recording:
    work = root / name
    work.mkdir()
    cassette_root = work / "cassettes"
    key = planted_key(reference.key_prefix) if reference.key_prefix else None
    env = {"LAIOS_PLANTED_KEY": key} if key else {}
    with FakeAPI() as api:
        kwargs: dict = {"base_url": api.url + reference.base_suffix}
        if key:
            kwargs["api_key"] = "$LAIOS_PLANTED_KEY"
        report = work / "record.json"
        result = kit_subprocess(
            kit_args(reference.target, kwargs, cassette_root, "--record-mode=once", f"--laios-report={report}"),
            cwd=work,
            env=env,
        )
        fake_url = api.url
    # The fake API is stopped here: the replay below has nothing to talk to.
    return Recording(
        reference,
        key,
        fake_url,
        kwargs,
        cassette_root,
        result,
        load_report(report),
        report.read_bytes() if report.exists() else b"",
        files_under(cassette_root),
        list(api.received),
    )


def _replay_reference(recording: Recording) -> Recording:
    work = recording.cassette_root.parent
    report = work / "replay.json"
    env = {"LAIOS_PLANTED_KEY": recording.key} if recording.key else {}
    recording.replayed = kit_subprocess(
        kit_args(
            recording.reference.target,
            recording.kwargs,
            recording.cassette_root,
            "--block-network",
            f"--laios-report={report}",
        ),
        cwd=work,
        env=env,
    )
    recording.replay_report = load_report(report)
    recording.replay_report_bytes = report.read_bytes() if report.exists() else b""
    recording.files_after_replay = files_under(recording.cassette_root)
    return recording


class Recordings(dict):
    """The providers' recordings, each recorded then replayed the first time it is asked for.

    Lazy, so that a worker records only the providers of the tests it runs: the tests of
    one provider share an xdist group (:func:`on_recording`), and the five groups spread
    over the workers instead of one worker carrying all ten kit runs.
    """

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def __missing__(self, name: str) -> Recording:
        self[name] = _replay_reference(_record_reference(name, REFERENCES[name], self.root))
        return self[name]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Recordings:
    return Recordings(tmp_path_factory.mktemp("recordings"))


def on_recording(name: str) -> pytest.MarkDecorator:
    """The xdist group of the tests that read ``recordings[name]``: one worker records it."""
    return pytest.mark.xdist_group(f"recording-{name}")


RECORDED = [pytest.param(name, marks=on_recording(name)) for name in sorted(REFERENCES)]


@pytest.mark.parametrize("name", RECORDED)
def test_record_then_replay_offline_gives_the_same_verdict_and_no_key_on_disk(recordings, name: str) -> None:
    rec = recordings[name]
    assert rec.recorded.returncode == 0, output(rec.recorded)
    assert rec.record_report is not None, output(rec.recorded)
    recorded = statuses(rec.record_report)
    assert "error" not in recorded.values() and "failed" not in recorded.values(), recorded
    assert rec.files_after_recording, "nothing was recorded"

    # Replay, with the fake API gone and the network blocked: the same verdict.
    assert rec.replayed.returncode == 0, output(rec.replayed)
    assert statuses(rec.replay_report) == recorded
    assert rec.files_after_replay == rec.files_after_recording, "a replay changed the cassettes"

    if rec.key is None:
        return
    # The key did travel (so scrubbing, not its absence, kept it out of the files) ...
    assert any(
        header.lower() == rec.reference.auth_header and rec.key in value
        for request in rec.received
        for header, value in request.headers.items()
    ), rec.received[:1]
    # ... and it is in no file, no report, no output.
    needles = {rec.key.encode(), quote(rec.key, safe="").encode()}
    for path, data in rec.files_after_recording.items():
        assert not any(needle in data for needle in needles), f"planted key found in {path}"
    for blob in (rec.report_bytes, rec.replay_report_bytes):
        assert blob and not any(needle in blob for needle in needles)
    for run in (rec.recorded, rec.replayed):
        text = (run.stdout + run.stderr).encode()
        assert not any(needle in text for needle in needles), "planted key printed"


@pytest.mark.parametrize("name", RECORDED)
def test_recording_prints_one_progress_line_per_cassette_written(recordings, name: str) -> None:
    rec = recordings[name]
    lines = [m for m in map(PROGRESS.match, rec.recorded.stdout.splitlines()) if m]
    written = yaml_files(rec.cassette_dir)
    assert written and set(rec.files_after_recording) == set(written.values())
    assert sorted(m.group(1) for m in lines) == sorted(written), output(rec.recorded)
    for match in lines:
        path = Path(match.group(2))
        assert path == written[match.group(1)]
        assert int(match.group(3)) == len(read_cassette(path, serializer)[0])
        assert int(match.group(4)) == len(rec.files_after_recording[path])


# --- in-process replays of copied, edited cassettes ------------------------------------------


@pytest.fixture
def replay(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Replay (record mode none, network blocked) in-process; returns (RunResult, report)."""
    monkeypatch.delenv("CI", raising=False)
    runs = iter(range(1000))

    def run(cassette_root: Path, kwargs: dict, *args: str, target: str = OPENAI) -> tuple[pytest.RunResult, dict]:
        report = pytester.path / f"verdict-{next(runs)}.json"
        result = pytester.runpytest_inprocess(
            *kit_args(target, kwargs, cassette_root, "--block-network", f"--laios-report={report}"),
            "-p",
            "no:cacheprovider",
            *args,
        )
        assert report.exists(), str(result.stdout) + str(result.stderr)
        return result, load_verdict(report)

    return run


@pytest.fixture
def openai_copy(recordings, tmp_path: Path) -> tuple[Path, dict]:
    """A private copy of the recorded OpenAIClient cassettes, and kwargs that replay them."""
    rec = recordings["OpenAIClient"]
    root = tmp_path / "copy"
    shutil.copytree(rec.cassette_dir, root / "OpenAIClient")
    return root, {"base_url": rec.kwargs["base_url"]}


@on_recording("OpenAIClient")
def test_an_unplayed_interaction_is_an_error(openai_copy, replay) -> None:
    root, kwargs = openai_copy
    path = root / "OpenAIClient" / "returns-response.yaml"
    document = serializer.deserialize(path.read_text(encoding="utf-8"))
    extra = copy.deepcopy(document["interactions"][0])
    extra["request"]["body"] = extra["request"]["body"].replace("Say hello", "Say goodbye")
    assert extra["request"]["body"] != document["interactions"][0]["request"]["body"]
    document["interactions"].append(extra)
    path.write_text(serializer.serialize(document), encoding="utf-8")
    assert len(read_cassette(path, serializer)[0]) == 2

    result, report = replay(root, kwargs, "-k", "returns_response")
    assert statuses(report)["returns-response"] == "error"
    assert "1 of 2 recorded interaction(s) were not replayed" in message(report, "returns-response")
    assert str(path) in message(report, "returns-response")
    assert result.ret == 1


@on_recording("OpenAIClient")
def test_a_corrupt_cassette_is_one_line_error_and_left_untouched(openai_copy, replay) -> None:
    root, kwargs = openai_copy
    path = root / "OpenAIClient" / "returns-response.yaml"
    path.write_bytes(b"{{{not yaml")

    result, report = replay(root, kwargs, "-k", "returns_response")
    assert statuses(report)["returns-response"] == "error"
    text = message(report, "returns-response")
    assert "is corrupt" in text and str(path) in text and "\n" not in text
    command = "pytest --laios-provider=" + OPENAI + " --record-mode=rewrite -k returns_response --laios-allow-partial"
    assert "; restore it from version control, or record it again (replacing it) with: " + command in text, text
    stdout = "\n".join(result.outlines)
    assert "Traceback" not in stdout and "Traceback" not in "\n".join(result.errlines)
    assert path.read_bytes() == b"{{{not yaml"
    assert result.ret == 1


@on_recording("OpenAIClient")
def test_a_recorded_error_answer_makes_its_clause_unable_to_judge(openai_copy, replay) -> None:
    """A cassette whose answer is an HTTP error (written by hand, or by a kit before this
    rule) gives its clause nothing to judge the provider by: an error, never a failure."""
    root, kwargs = openai_copy
    path = root / "OpenAIClient" / "returns-response.yaml"
    document = serializer.deserialize(path.read_text(encoding="utf-8"))
    document["interactions"][0]["response"]["status"] = {"code": 401, "message": "Unauthorized"}
    path.write_text(serializer.serialize(document), encoding="utf-8")

    result, report = replay(root, kwargs, "-k", "returns_response")
    assert statuses(report)["returns-response"] == "error"
    assert message(report, "returns-response").startswith(
        f"the API answered HTTP 401 to {kwargs['base_url']}/chat/completions, where the clause needs a successful "
        "answer to judge the provider by; when recording, pass your real key"
    )


@on_recording("OpenAIClient")
def test_stale_cassettes_fail_the_freshness_clause(openai_copy, replay) -> None:
    root, kwargs = openai_copy
    directory = root / "OpenAIClient"
    for path in directory.glob("*.yaml"):
        text, count = re.subn(r"(?m)^recorded_at: .*$", "recorded_at: 2020-01-01", path.read_text(encoding="utf-8"))
        assert count == 1, path
        path.write_text(text, encoding="utf-8")
    names = sorted(p.name for p in directory.glob("*.yaml"))

    result, report = replay(
        root, kwargs, "-k", "cassettes_fresh", "--laios-max-cassette-age=30", "--laios-allow-partial"
    )
    assert statuses(report) == {"cassettes-fresh": "failed"}
    text = message(report, "cassettes-fresh")
    assert all(name in text for name in names), text
    assert "2020-01-01" in text
    assert result.ret == 0  # a should-level clause: reported, not gating

    strict, report = replay(root, kwargs, "-k", "cassettes_fresh", "--laios-max-cassette-age=30", "--laios-strict")
    assert statuses(report) == {"cassettes-fresh": "failed"}
    assert strict.ret == 1

    unasked, report = replay(root, kwargs, "-k", "cassettes_fresh", "--laios-allow-partial")
    assert statuses(report) == {"cassettes-fresh": "skipped"}
    assert unasked.ret == 0

    future = directory / names[0]
    future.write_text(future.read_text(encoding="utf-8").replace("2020-01-01", "2099-01-01"), encoding="utf-8")
    result, report = replay(
        root, kwargs, "-k", "cassettes_fresh", "--laios-max-cassette-age=30000", "--laios-allow-partial"
    )
    assert statuses(report) == {"cassettes-fresh": "failed"}
    assert f"{names[0]}: recorded 2099-01-01, a date in the future" in message(report, "cassettes-fresh")

    for path in directory.glob("*.yaml"):
        path.unlink()
    result, report = replay(
        root, kwargs, "-k", "cassettes_fresh", "--laios-max-cassette-age=30", "--laios-allow-partial"
    )
    assert statuses(report) == {"cassettes-fresh": "skipped"}  # nothing recorded: not a pass
    assert "no cassettes" in message(report, "cassettes-fresh")


# --- more recording runs against the session's fake API --------------------------------------


@on_recording("OpenAIClient")
def test_once_never_clobbers_an_existing_cassette(recordings, fake_api: FakeAPI, tmp_path: Path) -> None:
    rec = recordings["OpenAIClient"]
    directory = tmp_path / "cassettes" / "OpenAIClient"
    directory.mkdir(parents=True)
    # returns-response: the recorded conversation (it replays), with a marker comment.
    same = directory / "returns-response.yaml"
    original = (rec.cassette_dir / "returns-response.yaml").read_text(encoding="utf-8")
    same.write_text(
        "# laios-test: hand-kept cassette\n" + original.replace(rec.fake_url, fake_api.url), encoding="utf-8"
    )
    # system-prompt: a different conversation that still parses (the provider's request won't match).
    other = directory / "system-prompt.yaml"
    original = (rec.cassette_dir / "system-prompt.yaml").read_text(encoding="utf-8").replace(rec.fake_url, fake_api.url)
    changed = original.replace('"role": "user"', '"role": "assistant"')
    assert changed != original
    other.write_text(changed, encoding="utf-8")
    before = {path: path.read_bytes() for path in (same, other)}
    read_cassette(other, serializer)

    report = tmp_path / "verdict.json"
    result = kit_subprocess(
        kit_args(
            OPENAI,
            {"base_url": fake_api.url + "/v1"},
            tmp_path / "cassettes",
            "--record-mode=once",
            f"--laios-report={report}",
            "-k",
            "returns_response or system_prompt or router_fallback",
        ),
        cwd=tmp_path,
    )
    verdict = statuses(load_report(report))
    assert {path: path.read_bytes() for path in before} == before, output(result)
    assert verdict["returns-response"] == "passed", output(result)  # replayed from the kept file
    assert verdict["system-prompt"] == "error"  # the kept file does not match: no re-recording over it
    assert "does not match the recorded cassette" in message(load_report(report), "system-prompt")
    assert verdict["router-fallback"] == "passed"
    assert sorted(p.name for p in directory.iterdir()) == [
        "returns-response.yaml",
        "router-fallback.yaml",
        "system-prompt.yaml",
    ]
    assert sorted(m.group(1) for m in map(PROGRESS.match, result.stdout.splitlines()) if m) == ["router-fallback"]


def record_openai(api: FakeAPI, tmp_path: Path, selection: str, env: dict[str, str] | None = None):
    """Record OpenAIClient's clauses of ``selection`` with once into ``tmp_path``: the run and its verdict."""
    report = tmp_path / "verdict.json"
    args = kit_args(
        OPENAI,
        {"base_url": api.url + "/v1"},
        tmp_path / "cassettes",
        *("--record-mode=once", f"--laios-report={report}", "-k", selection, "--laios-allow-partial"),
    )
    return kit_subprocess(args, cwd=tmp_path, env=env), load_report(report)


def test_recording_refused_by_the_api_writes_nothing_and_judges_nothing(tmp_path: Path) -> None:
    """No key given: the kit's fake one reaches the API, which answers 401 to everything. The
    clauses that need a recorded answer report error (the provider did nothing wrong), and
    no cassette holding a 401 is left to poison every later replay."""
    clauses = "returns_response or stream_join or thread_safety"
    with RefusingAPI() as api:
        result, verdict = record_openai(api, tmp_path, clauses)
    assert verdict is not None, output(result)
    assert statuses(verdict) == dict.fromkeys(["returns-response", "stream-join", "thread-safety"], "error")
    for clause_id in ("returns-response", "stream-join", "thread-safety"):
        assert "the API answered HTTP 401" in message(verdict, clause_id) and "pass your real key" in message(
            verdict, clause_id
        )
    assert len(api.received) >= 3, "the API was never asked"
    assert not (tmp_path / "cassettes").exists() or files_under(tmp_path / "cassettes") == {}
    assert "laios: recorded" not in result.stdout


def test_ci_replays_only_unless_a_record_mode_is_given(fake_api: FakeAPI, tmp_path: Path) -> None:
    kwargs = {"base_url": fake_api.url + "/v1"}

    def run(name: str, *extra: str) -> tuple[subprocess.CompletedProcess, Path, dict]:
        work = tmp_path / name
        (work / "cassettes").mkdir(parents=True)  # empty: a named folder that is missing is a usage error
        report = work / "verdict.json"
        result = kit_subprocess(
            kit_args(
                OPENAI,
                kwargs,
                work / "cassettes",
                f"--laios-report={report}",
                "-k",
                "returns_response",
                "--laios-allow-partial",
                *extra,
            ),
            cwd=work,
            env={"CI": "true"},
        )
        return result, work / "cassettes", load_report(report)

    sent_before = len(fake_api.received)
    ci, ci_dir, ci_report = run("ci")
    assert len(fake_api.received) == sent_before, "CI replay reached the API"
    rec, rec_dir, rec_report = run("ci-record", "--record-mode=once")
    assert statuses(ci_report)["returns-response"] == "error", output(ci)
    assert "not found (replay mode)" in message(ci_report, "returns-response")
    assert not list(ci_dir.rglob("*.yaml")), "CI recorded a cassette without --record-mode"
    assert ci.returncode == 1

    assert statuses(rec_report)["returns-response"] == "passed", output(rec)
    assert (rec_dir / "OpenAIClient" / "returns-response.yaml").is_file()
    assert "laios: recorded returns-response" in rec.stdout
    assert rec.returncode == 0


LEAKY_PROVIDER = '''
from tests.providers.openai_style import GoodOpenAIStyle

SECRET = {secret!r}


class LeaksIntoBody(GoodOpenAIStyle):
    """Sends a key the kit was never told about, in the request body."""

    def payload(self, *args, **kwargs):
        body = super().payload(*args, **kwargs)
        body["user"] = SECRET
        return body
'''


def test_lint_after_recording_catches_a_secret_the_kit_did_not_know(fake_api: FakeAPI, tmp_path: Path) -> None:
    secret = planted_key("sk-ant-api03-")
    (tmp_path / "leaky_provider.py").write_text(LEAKY_PROVIDER.format(secret=secret), encoding="utf-8")
    report = tmp_path / "verdict.json"
    result = kit_subprocess(
        kit_args(
            "leaky_provider:LeaksIntoBody",
            {"base_url": fake_api.url + "/v1"},
            tmp_path / "cassettes",
            "--record-mode=once",
            f"--laios-report={report}",
            "-k",
            "returns_response",
            "--laios-allow-partial",
        ),
        cwd=tmp_path,
    )
    verdict = load_report(report)
    assert statuses(verdict) == {"returns-response": "passed"}, output(result)  # lint alone gates
    path = tmp_path / "cassettes" / "LeaksIntoBody" / "returns-response.yaml"
    assert path.is_file(), output(result)
    assert secret in path.read_text(encoding="utf-8")  # the kit could not scrub what it did not know
    lint_lines = [line for line in result.stdout.splitlines() if line.startswith("cassette lint:")]
    assert lint_lines and all(str(path) in line for line in lint_lines), output(result)
    assert any("anthropic-key" in line for line in lint_lines)
    assert "gate: FAILED (cassette lint: " in result.stdout
    assert secret not in result.stdout + result.stderr
    assert result.returncode == 1
    # The JSON verdict, and every view of it, fails the gate too: CI that reads only the file
    # (a badge, a merge of jobs, the step summary) must not see a recording that leaked a key pass.
    assert verdict["verdict"] == "failed" and verdict["gate_reason"].startswith("cassette lint: ")
    assert verdict["cassette_lint"] == [line.removeprefix("cassette lint: ") for line in lint_lines]
    assert secret not in report.read_text(encoding="utf-8")
    assert "gate failed" in verdict_markdown(verdict) and "cassette lint: " in verdict_markdown(verdict)
    assert verdict_badge(verdict)["color"] == "red"


def test_a_clause_that_could_not_judge_while_recording_keeps_no_new_cassette(fake_api: FakeAPI, tmp_path: Path) -> None:
    """The API fails the clause's second request: what was recorded lacks it, and
    --record-mode=once would never replace it (the next replay would blame the provider)."""
    cassette = tmp_path / "cassettes" / "OpenAIClient" / "no-input-mutation.yaml"
    with StreamOutageAPI() as outage:
        result, report = record_openai(outage, tmp_path, "no_input_mutation")
    assert statuses(report) == {"no-input-mutation": "error"}, output(result)
    assert f"laios: not kept {cassette}: its clause could not judge while recording" in result.stdout
    assert not cassette.exists()
    result, report = record_openai(fake_api, tmp_path, "no_input_mutation")  # the outage is over: again
    assert statuses(report) == {"no-input-mutation": "passed"}, output(result)
    assert cassette.is_file()


def test_a_clause_interrupted_while_recording_keeps_no_new_cassette(fake_api: FakeAPI, tmp_path: Path) -> None:
    """Ctrl-C in the middle of content-fidelity (two calls): vcrpy saves the one exchange it
    has as the run stops, and the kit's teardown hook is not called then; --record-mode=once
    would never replace that half cassette."""
    cassette = tmp_path / "cassettes" / "InterruptedAfterFirstAnswer" / "content-fidelity.yaml"
    target = "tests.providers.hostile:InterruptedAfterFirstAnswer"
    args = kit_args(target, {"base_url": fake_api.url + "/v1"}, tmp_path / "cassettes", "--record-mode=once")
    result = kit_subprocess([*args, "-k", "content_fidelity", "--laios-allow-partial"], cwd=tmp_path)
    assert "KeyboardInterrupt: after an answer of" in result.stdout, output(result)
    assert f"laios: not kept {cassette}: the run stopped while its clause was recording" in result.stdout
    assert not cassette.exists() and cassette.parent.is_dir()


def test_a_recorded_cassette_the_kit_refuses_to_read_back_fails_the_gate_in_one_line(
    fake_api: FakeAPI, tmp_path: Path
) -> None:
    """A team's lower size bound (or a body that is not UTF-8) refuses what was just written:
    the run goes on to its verdict, and lint names the file; no INTERNALERROR."""
    selection, env = "returns_response or system_prompt", {"LAIOS_CONFORMANCE_MAX_CASSETTE_MB": "0.001"}
    result, verdict = record_openai(fake_api, tmp_path, selection, env)
    assert "INTERNALERROR" not in result.stdout + result.stderr, output(result)
    assert "which the kit refuses to read back" in result.stdout, output(result)
    assert verdict["verdict"] == "failed" and verdict["cassette_lint"], output(result)
    assert all("refused" in finding for finding in verdict["cassette_lint"])
    assert result.returncode == 1


# --- a recording killed in the middle of writing a cassette ----------------------------------

SLOW_WRITER = '''
"""Test plugin: the cassette writer writes half of returns-response, then blocks."""
import os
import time
from pathlib import Path

from laios_conformance import _files

_real = _files._write_synced
SIGNAL = Path(os.environ["LAIOS_TEST_SIGNAL"])
RELEASE = Path(os.environ["LAIOS_TEST_RELEASE"])


def _write_synced(path, data):
    if not path.name.startswith(".returns-response.yaml."):
        return _real(path, data)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with open(fd, "wb") as file:
        file.write(data[: len(data) // 2])
        file.flush()
        os.fsync(file.fileno())
        ready = SIGNAL.with_suffix(".partial")  # whole before it exists: the test polls for it
        ready.write_text(str(path))
        os.replace(ready, SIGNAL)
        deadline = time.monotonic() + 10
        while not RELEASE.exists():  # never created: the test kills us first
            if time.monotonic() > deadline:
                raise RuntimeError("slow writer was not killed in time")
            time.sleep(0.02)
        file.write(data[len(data) // 2:])


_files._write_synced = _write_synced
'''


def start_kit(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """Like tests.support.recording.run_kit, but started in the background."""
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    environment.update(env)
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
            cwd=cwd,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def kill_mid_write(mode: str, work: Path, cassette_root: Path, fake_url: str) -> Path:
    """Record returns-response in ``mode`` with the slow writer; SIGKILL it once half is written.
    Returns the temporary file the writer was writing."""
    (work / "laios_slow_writer.py").write_text(SLOW_WRITER, encoding="utf-8")
    signal_file, log = work / "half-written", work / "kit.log"
    process = start_kit(
        [
            "-p",
            "laios_slow_writer",
            *kit_args(
                OPENAI, {"base_url": fake_url + "/v1"}, cassette_root, f"--record-mode={mode}", "-k", "returns_response"
            ),
        ],
        cwd=work,
        log=log,
        env={"LAIOS_TEST_SIGNAL": str(signal_file), "LAIOS_TEST_RELEASE": str(work / "release")},
    )
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists():  # waiting for the subprocess to reach the write
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the recording never reached the cassette write"
            time.sleep(0.05)
        temporary = Path(signal_file.read_text())
        assert temporary.is_file() and cassette_root / "OpenAIClient" in (temporary.parent, temporary.parent.parent)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return temporary


@on_recording("OpenAIClient")
@pytest.mark.parametrize("mode", ["once", "all", "rewrite"])
def test_a_recording_killed_mid_write_leaves_no_partial_cassette(
    mode: str, recordings, fake_api: FakeAPI, tmp_path: Path, replay
) -> None:
    cassette_root = tmp_path / "cassettes"
    directory = cassette_root / "OpenAIClient"
    directory.mkdir(parents=True)
    target = directory / "returns-response.yaml"
    old: bytes | None = None
    if mode != "once":  # re-recording over a good cassette
        rec = recordings["OpenAIClient"]
        text = (rec.cassette_dir / "returns-response.yaml").read_text(encoding="utf-8")
        target.write_text(text.replace(rec.fake_url, fake_api.url), encoding="utf-8")
        old = target.read_bytes()

    temporary = kill_mid_write(mode, tmp_path, cassette_root, fake_api.url)

    if old is not None:
        assert target.read_bytes() == old  # os.replace never happened: the old cassette is whole
    else:
        assert not target.exists()  # once: a new file, never written
    for path in directory.glob("*.yaml"):
        read_cassette(path, serializer)
    leftover = temporary if temporary.parent == directory else temporary.parent
    assert leftover.parent == directory and (mode != "once") == (leftover != temporary)
    assert sorted(p.name for p in directory.iterdir() if p.suffix != ".yaml") == [leftover.name]
    assert leftover.name.startswith(".") and leftover.name.endswith(".tmp")
    assert len(temporary.read_bytes()) > 0  # half a cassette, out of every reader's way
    assert [(f.file, f.kind) for f in lint_paths([cassette_root])] == [(leftover, "leftover")]

    # The kit ignores the leftover: the clause replays the old cassette or says it is missing.
    result, report = replay(
        cassette_root,
        {"base_url": fake_api.url + "/v1"},
        "-k",
        "returns_response or cassettes_fresh",
        "--laios-max-cassette-age=30",
        "-q",  # the line is shown however quiet the run
    )
    verdict = statuses(report)
    assert not leftover.exists(), "the next run removes what the interrupted one left"
    assert f"laios: removed {leftover}, left by an interrupted cassette write" in result.outlines
    # once: the folder holds no cassette, so none can be stale: not judged
    assert verdict["cassettes-fresh"] == ("passed" if old is not None else "skipped")
    if old is not None:
        assert verdict["returns-response"] == "passed"
    else:
        assert verdict["returns-response"] == "error"
        assert "not found (replay mode)" in message(report, "returns-response")
    assert "corrupt" not in "\n".join(result.outlines)


# --- re-recording never loses a cassette ------------------------------------------------------

KEPT = re.compile(r"^laios: kept (\S+) -> (.+) unchanged \((.+)\)$")


def test_a_clause_that_fails_while_re_recording_keeps_its_new_cassette_so_replay_shows_the_failure(
    good_cassettes: Path, fake_api: FakeAPI, tmp_path: Path
) -> None:
    """A provider bug that also changes the requests: replay said "re-record"; re-recording
    kept the failing clause's old cassette, so replay (and CI) said "re-record" again, never
    the failure."""
    target = "tests.providers.defective:InsertsDefaultSystemPrompt"
    root = tmp_path / "cassettes"
    shutil.copytree(good_cassettes / "GoodOpenAIStyle", root / "InsertsDefaultSystemPrompt")
    report = tmp_path / "verdict.json"

    def run(kwargs: dict, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
        args = kit_args(target, kwargs, root, "-k", "no_input_mutation", "--laios-allow-partial", *extra)
        result = kit_subprocess([*args, f"--laios-report={report}"], cwd=tmp_path)
        return result, load_verdict(report)

    _, first = run({})
    assert statuses(first) == {"no-input-mutation": "error"}
    assert "does not match the recorded cassette" in message(first, "no-input-mutation")
    live = {"base_url": f"{fake_api.url}/v1"}
    rewritten, during = run(live, "--record-mode=rewrite")
    assert statuses(during) == {"no-input-mutation": "failed"}, output(rewritten)
    assert "laios: kept" not in rewritten.stdout, output(rewritten)
    _, after = run(live)
    assert statuses(after) == {"no-input-mutation": "failed"}
    assert message(after, "no-input-mutation").startswith("no-input-mutation: ")


@on_recording("OpenAIClient")
def test_a_failed_rewrite_keeps_every_cassette_and_a_successful_one_replaces_them(
    recordings, fake_api: FakeAPI, tmp_path: Path
) -> None:
    rec = recordings["OpenAIClient"]
    cassette_root = tmp_path / "cassettes"
    shutil.copytree(rec.cassette_dir, cassette_root / "OpenAIClient")
    directory = cassette_root / "OpenAIClient"
    before = files_under(cassette_root)

    def rewrite(base_url: str) -> subprocess.CompletedProcess:
        args = kit_args(
            OPENAI,
            {"base_url": base_url + "/v1"},
            cassette_root,
            "--record-mode=rewrite",
            "-m",
            "vcr",
            "--laios-allow-partial",
        )
        return kit_subprocess(args, cwd=tmp_path)

    # The API the cassettes were recorded from is down: every request is refused.
    down = rewrite(rec.fake_url)
    assert down.returncode == 1, output(down)
    assert files_under(cassette_root) == before, "a failed re-recording changed a cassette"
    kept = {m.group(1): m for m in map(KEPT.match, down.stdout.splitlines()) if m}
    assert sorted(kept) == sorted(yaml_files(directory)), output(down)
    assert all("could not judge while recording" in m.group(3) for m in kept.values())
    assert not PROGRESS.search(down.stdout)

    # The API is back (at another address): every cassette is replaced by the new recording.
    up = rewrite(fake_api.url)
    assert up.returncode == 0, output(up)
    after = files_under(cassette_root)
    assert set(after) == set(before), "a re-recording left or lost a file"
    for path, data in after.items():
        assert data != before[path] and fake_api.url.encode() in data, path
        read_cassette(path, serializer)
    recorded = sorted(m.group(1) for m in map(PROGRESS.match, up.stdout.splitlines()) if m)
    assert recorded == sorted(yaml_files(directory))
    assert "laios: kept" not in up.stdout
