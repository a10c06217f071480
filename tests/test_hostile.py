"""The kit against providers that attack it (tests/providers/hostile.py): hangs, threads
left running, keys in every channel, constructors that block, exit or phone out, and
output paths it cannot write. Each test asserts the exact outcome."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from laios_conformance import _watchdog
from laios_conformance._redact import CUT_KEY_LENGTH, redact
from laios_conformance.loading import names_a_secret
from tests.conftest import GOOD, cassettes_for
from tests.support.recording import REPO, run_kit

H = "tests.providers.hostile:"
REFERENCE = "reference_providers.openai:OpenAIClient"
KEY = "sk-proj-" + "Hq7xW" * 9
FAST = "--laios-call-timeout=0.2"


def usage_line(result: pytest.RunResult) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.errlines
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    return errors[0]


def every_byte(*roots: Path) -> str:
    """Every file under ``roots``, as text: what the kit wrote."""
    return "".join(
        path.read_text(encoding="utf-8", errors="replace")
        for root in roots
        for path in root.rglob("*")
        if path.is_file()
    )


# -- hangs -----------------------------------------------------------------------------------


def test_hung_generate_errors_its_clause_and_the_run_goes_on(run_kit) -> None:
    # system-prompt's real call must pass within the timeout even on a loaded machine,
    # which 0.2 s did not always allow under `-n 2`; the hang costs the timeout once.
    run = run_kit(H + "HangsOnce", "--laios-call-timeout=1", "-k", "returns_response or system_prompt")
    assert run.statuses() == {"returns-response": "error", "system-prompt": "passed"}
    assert run.message("returns-response").startswith("generate() did not return within 1 s")
    run.result.stdout.fnmatch_lines(["*laios: abandoned after the call timeout, still running: generate()*"])
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED


def test_stream_that_stops_yielding_errors_its_clause(run_kit) -> None:
    run = run_kit(H + "StreamHangs", FAST, "-k", "stream_join")
    assert run.statuses() == {"stream-join": "error"}
    assert "generate_stream() (its next chunk) did not return within 0.2 s" in run.message("stream-join")


def test_a_count_tokens_that_never_returns_errors_its_clause(run_kit) -> None:
    run = run_kit(H + "CountTokensHangs", FAST, "-k", "count_tokens or returns_response", "--laios-allow-partial")
    assert run.statuses() == {"count-tokens": "error", "returns-response": "passed"}
    assert run.message("count-tokens").startswith("count_tokens() did not return within 0.2 s"), run.message(
        "count-tokens"
    )


def test_a_timeout_is_not_the_provider_raising(run_kit) -> None:
    """raises-on-http-error wants an exception; a hang must not count as one."""
    run = run_kit(H + "HangsOnce", FAST, "-k", "raises_on_http_error")
    assert run.statuses() == {"raises-on-http-error": "error"}


@pytest.mark.parametrize("selection", ["raises_on_http_error", "raises_on_transport_error", "retry_bounded"])
def test_a_timeout_on_every_failure_is_not_a_base_exception_raised(run_kit, selection: str) -> None:
    """The kit's call timeout is no case of the provider raising a BaseException."""
    run = run_kit(H + "HangsOnFailure", FAST, "-k", selection, "--laios-allow-partial")
    [(clause_id, status)] = run.statuses().items()
    assert status == "error", run.message(clause_id)
    assert run.message(clause_id).startswith("generate() did not return within 0.2 s"), run.message(clause_id)


def test_a_call_that_retries_for_ever_is_named(run_kit) -> None:
    """The call timeout says the call went on sending requests, not only that it hung."""
    run = run_kit(H + "RetriesForever", FAST, "-k", "retry_bounded", "--laios-allow-partial")
    assert run.statuses() == {"retry-bounded": "error"}
    message = run.message("retry-bounded")
    assert message.startswith(("generate() did not return within 0.2 s", "the call had not returned after")), message
    assert "requests: it retries without a bound, so it never returns while the API keeps failing" in message


def test_a_call_that_retries_for_ever_is_stopped_long_before_the_call_timeout(run_kit) -> None:
    """With a 30 s call timeout, every clause that fails the provider would wait it out; the
    kit stops the call after 1000 requests instead (its backoff is skipped on the virtual
    clock, so the requests come at once), and says so."""
    selection = "retry_bounded or raises_on_http_error or no_retry_on_client_error"
    run = run_kit(H + "RetriesForAlmostEver", "--laios-call-timeout=30", "-k", selection, "--laios-allow-partial")
    assert set(run.statuses().values()) == {"error"}, run.report
    message = run.message("raises-on-http-error")
    assert (
        "the call had not returned after 1000 requests; the kit stopped it. Meanwhile it sent 1001 requests" in message
    )
    assert "did not return within" not in message


def test_constructor_that_blocks_in_a_clause_errors_it(run_kit) -> None:
    run = run_kit(H + "BlocksWhenBuiltAgain", FAST, "-k", "returns_response or timeout_set")
    assert run.statuses() == {"returns-response": "error", "timeout-set": "error"}
    assert run.message("timeout-set").startswith("constructing the provider did not return within 0.2 s")


def test_constructor_that_blocks_is_one_usage_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(f"--laios-provider={H}BlocksInConstructor", FAST, "-p", "no:cacheprovider")
    assert "constructing it did not return within 0.2 s" in usage_line(result)


def test_constructor_that_calls_sys_exit_is_one_usage_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(f"--laios-provider={H}ExitsInConstructor", "-p", "no:cacheprovider")
    assert "constructing it called sys.exit(3); a provider must raise an exception" in usage_line(result)


def test_constructor_that_needs_the_main_thread_is_told_why(pytester: pytest.Pytester) -> None:
    """Not "fix the constructor arguments": the arguments are fine, the thread is the kit's."""
    result = pytester.runpytest_inprocess(f"--laios-provider={H}SetsSignalHandlerWhenBuilt", "-p", "no:cacheprovider")
    line = usage_line(result)
    assert "signal only works in main thread" in line
    assert "pass --laios-call-timeout=0 to build and call it in the main thread" in line
    assert "constructor arguments" not in line


def test_a_module_that_blocks_at_import_is_one_usage_line(pytester: pytest.Pytester) -> None:
    """Importing runs the provider's code too: bounded by the call timeout, like the constructor."""
    pytester.makepyfile(blocks_at_import="import threading\n\nthreading.Event().wait()\n")
    result = pytester.runpytest_inprocess("--laios-provider=blocks_at_import:Client", FAST, "-p", "no:cacheprovider")
    line = usage_line(result)
    assert "importing 'blocks_at_import' did not finish within 0.2 s; a module must not block at import" in line


def test_a_finalizer_that_blocks_is_one_usage_line(pytester: pytest.Pytester) -> None:
    """The kit releases the instance it built to check the target in a helper thread, so a
    ``__del__`` that never returns is reported instead of hanging the run."""
    pytester.makepyfile(
        blocks_in_del=(
            "import threading\n\nfrom tests.providers.openai_style import GoodOpenAIStyle\n\n\n"
            "class Client(GoodOpenAIStyle):\n    def __del__(self):\n        threading.Event().wait()\n"
        )
    )
    # A second, not FAST's 0.2 s: importing the module counts against the timeout too, and on
    # a loaded machine it took longer than 0.2 s (the import, not __del__, was reported).
    result = pytester.runpytest_inprocess(
        "--laios-provider=blocks_in_del:Client", "--laios-call-timeout=1", "-p", "no:cacheprovider"
    )
    line = usage_line(result)
    assert "releasing the instance the kit built (its __del__) did not finish within 1 s" in line


@pytest.mark.parametrize(
    "module, setup",
    [
        pytest.param(
            "sets_signal_handler",
            "import signal\n\nsignal.signal(signal.SIGTERM, signal.getsignal(signal.SIGTERM))\n",
            id="signal",
        ),
        pytest.param(
            "gets_event_loop",
            "import asyncio\nimport warnings\n\nwith warnings.catch_warnings():\n"
            "    warnings.simplefilter('ignore', DeprecationWarning)\n    LOOP = asyncio.get_event_loop()\n",
            id="event-loop",
        ),
    ],
)
def test_a_module_that_needs_the_main_thread_at_import_still_loads(
    run_kit, pytester: pytest.Pytester, module: str, setup: str
) -> None:
    """A signal handler or an event loop set up at import needs the main thread, where the
    module is imported again after its import in the helper thread failed for that reason."""
    pytester.makepyfile(**{module: f"{setup}\nfrom tests.providers.openai_style import GoodOpenAIStyle as Client\n"})
    run = run_kit(f"{module}:Client", "-k", "returns_response", "--laios-allow-partial")
    assert run.statuses() == {"returns-response": "passed"}, run.result.stdout.str()


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_call_timeout_must_be_seconds(pytester: pytest.Pytester, value: str) -> None:
    result = pytester.runpytest_inprocess(f"--laios-provider={GOOD}", f"--laios-call-timeout={value}")
    assert f"--laios-call-timeout {value!r}" in usage_line(result)


@pytest.mark.parametrize(
    "provider, thread", [("LeavesThreadRunning", "hostile-telemetry"), ("StartsThreadWhenBuilt", "hostile-pool-warmer")]
)
def test_threads_left_running_do_not_hang_the_run(
    tmp_path: Path, good_cassettes: Path, provider: str, thread: str
) -> None:
    cassettes_for(good_cassettes, provider)
    report = tmp_path / "verdict.json"
    result = run_kit(
        [
            f"--laios-provider={H}{provider}",
            f"--laios-cassette-dir={good_cassettes}",
            f"--laios-report={report}",
            "--laios-allow-partial",
            "-k",
            "returns_response",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    statuses = json.loads(report.read_text())["providers"][0]["clauses"]
    assert statuses["returns-response"]["status"] == "passed"
    assert f"provider thread(s) still running at the end of the run: '{thread}'" in result.stdout


def test_plain_pytest_leaves_no_verdict_when_the_provider_ends_the_process(
    tmp_path: Path, good_cassettes: Path
) -> None:
    """What docs/security.md promises for plain pytest: no verdict file, never a false one
    (the exit status is the provider's: here 0)."""
    cassettes_for(good_cassettes, "ExitsInGenerate")
    report = tmp_path / "verdict.json"
    args = [f"--laios-provider={H}ExitsInGenerate", f"--laios-cassette-dir={good_cassettes}"]
    result = run_kit([*args, f"--laios-report={report}", "-k", "returns_response"], cwd=tmp_path)
    assert result.returncode == 0
    assert not report.exists()


def test_a_constructor_that_changes_directory_moves_no_relative_path(
    pytester: pytest.Pytester, good_cassettes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cassette folder and the JUnit file named relative to where the run started stay there."""
    elsewhere = pytester.mkdir("elsewhere")
    monkeypatch.setenv("LAIOS_TEST_CHDIR_TO", str(elsewhere))
    cassettes = os.path.relpath(cassettes_for(good_cassettes, "ChangesDirectory"), pytester.path)
    result = pytester.runpytest_inprocess(
        f"--laios-provider={H}ChangesDirectory",
        f"--laios-cassette-dir={cassettes}",
        "--laios-report=verdict.json",
        "--junitxml=junit.xml",
        "-k",
        "returns_response",
        "--laios-allow-partial",
        "-p",
        "no:cacheprovider",
    )
    verdict = json.loads((pytester.path / "verdict.json").read_text())
    assert verdict["providers"][0]["clauses"]["returns-response"]["status"] == "passed", result.stdout.str()
    assert (pytester.path / "junit.xml").is_file()
    assert list(elsewhere.iterdir()) == []


def test_a_keyboard_interrupt_from_the_provider_errors_its_clause_naming_where(
    tmp_path: Path, good_cassettes: Path
) -> None:
    """Not "not-run: the run stopped before it", as if the run had never reached the clause.
    In a subprocess: in-process, pytester hands the interrupt on to this suite."""
    cassettes_for(good_cassettes, "InterruptedAfterFirstAnswer")
    report = tmp_path / "verdict.json"
    args = [f"--laios-provider={H}InterruptedAfterFirstAnswer", f"--laios-cassette-dir={good_cassettes}"]
    result = run_kit([*args, f"--laios-report={report}", "-k", "returns_response or system_prompt"], cwd=tmp_path)
    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.stdout + result.stderr
    clauses = json.loads(report.read_text())["providers"][0]["clauses"]
    message = clauses["returns-response"]["message"]
    assert clauses["returns-response"]["status"] == "error", message
    assert message.startswith("the provider raised KeyboardInterrupt at ") and "hostile.py:" in message
    assert clauses["system-prompt"]["message"].startswith("the run stopped before it")


def test_under_xdist_a_clause_whose_worker_ended_errors(tmp_path: Path, good_cassettes: Path) -> None:
    """xdist reports the crash, not the clause: the verdict must not call it a clause that never ran."""
    pytest.importorskip("xdist")
    cassettes_for(good_cassettes, "ExitsInGenerate")
    report = tmp_path / "verdict.json"
    args = [f"--laios-provider={H}ExitsInGenerate", f"--laios-cassette-dir={good_cassettes}", "-n", "1"]
    run_kit([*args, f"--laios-report={report}", "-k", "returns_response", "--laios-allow-partial"], cwd=tmp_path)
    clause = json.loads(report.read_text())["providers"][0]["clauses"]["returns-response"]
    assert clause["status"] == "error", clause
    assert "crashed while running" in clause["message"]
    assert "the process ended during this clause" in clause["message"]


# -- secrets by name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        *("api_key", "key", "token", "secret", "password", "apiKey", "access_token", "client_secret", "x.auth_token"),
        *("aws_access_key_id", "accessKeyId"),  # SigV4 sends the key id, never the secret key
        *("bearer", "bearer_token"),
    ],
)
def test_names_that_say_secret(name: str) -> None:
    assert names_a_secret(name)


@pytest.mark.parametrize(
    "name", ["model", "base_url", "max_tokens", "keyword", "timeout", "tokenizer", "keys_file", "client_id", "key_ids"]
)
def test_names_that_do_not(name: str) -> None:
    assert not names_a_secret(name)


def test_environment_values_that_are_not_secrets_stay_visible(run_kit, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference provider's repr shows its model: that is no leak."""
    monkeypatch.setenv("LAIOS_TEST_MODEL", "gpt-4o-mini")
    monkeypatch.setenv("LAIOS_TEST_BASE", "https://api.openai.com/v1")
    run = run_kit(
        REFERENCE,
        '--laios-provider-kwargs={"model": "$LAIOS_TEST_MODEL", "base_url": "$LAIOS_TEST_BASE"}',
        f"--laios-cassette-dir={REPO / 'cassettes'}",
        "-k",
        "no_secret_leak or returns_response",
        cassettes=False,
    )
    assert run.statuses() == {"returns-response": "passed", "no-secret-leak": "passed"}


@pytest.mark.parametrize("how", ["option", "ini"])
def test_secret_kwargs_names_more_secrets(
    run_kit, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setenv("LAIOS_TEST_DEPLOYMENT", "contoso-prod-eastus")
    args = ['--laios-provider-kwargs={"deployment": "$LAIOS_TEST_DEPLOYMENT"}', "-k", "no_secret_leak"]
    unnamed = run_kit(H + "Deployment", *args)
    assert unnamed.statuses() == {"no-secret-leak": "passed"}
    if how == "ini":
        pytester.makeini("[pytest]\nlaios_secret_kwargs = deployment, region\n")
    else:
        args.append("--laios-secret-kwargs=deployment")
    named = run_kit(H + "Deployment", *args)
    assert named.statuses() == {"no-secret-leak": "failed"}
    assert "repr(provider): contains the API key" in named.message("no-secret-leak")


def test_a_misspelt_secret_name_on_the_command_line_is_a_usage_error(run_kit, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its argument would not be a secret, and its value would reach the cassettes recorded."""
    monkeypatch.setenv("LAIOS_TEST_DEPLOYMENT", "contoso-prod-eastus")
    kwargs = '--laios-provider-kwargs={"deployment": "$LAIOS_TEST_DEPLOYMENT"}'
    run = run_kit(H + "Deployment", kwargs, "--laios-secret-kwargs=deploymnet", "-k", "no_secret_leak")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "ERROR: --laios-secret-kwargs names 'deploymnet', which is no argument given in --laios-provider-kwargs "
        "(given: deployment) nor a parameter of tests.providers.hostile:Deployment; check its spelling"
    ) in run.result.stderr.lines


def test_a_short_secret_is_skipped_never_failed(run_kit) -> None:
    run = run_kit(H + "LeaksKeyEverywhere", '--laios-provider-kwargs={"api_key": "test"}', "-k", "no_secret_leak")
    assert run.statuses() == {"no-secret-leak": "skipped"}
    assert "shorter than 8 characters" in run.message("no-secret-leak")


# -- the kit's own output ------------------------------------------------------------------------


def test_the_kit_repeats_the_key_nowhere(tmp_path: Path, good_cassettes: Path) -> None:
    """The provider shows its key on stdout, stderr, in logs, warnings and exceptions; the
    kit's terminal output, JUnit XML (with captured output), log file and verdict carry none."""
    cassettes_for(good_cassettes, "LeaksKeyEverywhere")
    out = tmp_path / "out"
    result = run_kit(
        [
            f"--laios-provider={H}LeaksKeyEverywhere",
            '--laios-provider-kwargs={"api_key": "$LAIOS_TEST_KEY"}',
            f"--laios-cassette-dir={good_cassettes}",
            f"--laios-report={out / 'verdict.json'}",
            f"--junitxml={out / 'junit.xml'}",
            "-o",
            "junit_logging=all",
            "-o",
            "log_cli=true",
            "-o",
            f"log_file={out / 'run.log'}",
            "-rA",
            "-k",
            "no_secret_leak or returns_response or router_fallback",
        ],
        cwd=tmp_path,
        env={"LAIOS_TEST_KEY": KEY},
    )
    printed = result.stdout + result.stderr
    assert KEY not in printed
    assert KEY not in every_byte(out)
    assert "debug: calling with key <REDACTED>" in printed  # the captured section was shown, redacted
    assert "LLM provider LeaksKeyEverywhere(gpt-4o-mini) failed: ProviderError: HTTP 503 with key <REDACTED>" in printed
    clauses = json.loads((out / "verdict.json").read_text())["providers"][0]["clauses"]
    assert clauses["no-secret-leak"]["status"] == "failed"
    assert result.returncode == 1


def test_the_router_warning_is_redacted_without_capture(tmp_path: Path, good_cassettes: Path) -> None:
    """With capture and pytest's logging off, the router's warning reaches the terminal directly
    (through Python's last-resort handler: a subprocess, so that no outer logging catches it)."""
    cassettes_for(good_cassettes, "LeaksKeyInErrors")
    result = run_kit(
        [
            "--laios-provider=tests.providers.defective:LeaksKeyInErrors",
            '--laios-provider-kwargs={"api_key": "$LAIOS_TEST_KEY"}',
            f"--laios-cassette-dir={good_cassettes}",
            "-s",
            "-p",
            "no:logging",
            "-k",
            "router_fallback",
        ],
        cwd=tmp_path,
        env={"LAIOS_TEST_KEY": KEY},
    )
    printed = result.stdout + result.stderr
    assert "failed: ProviderError: HTTP 503 for request with headers {'authorization': 'Bearer <REDACTED>'}" in printed
    assert KEY not in printed


@pytest.mark.parametrize("capture", ["-s", "--capture=tee-sys"])
def test_with_capture_off_what_the_provider_prints_reaches_the_terminal_redacted(
    tmp_path: Path, good_cassettes: Path, capture: str
) -> None:
    """Without capture the provider's prints go to the terminal live; the key in them does not."""
    cassettes_for(good_cassettes, "LeaksKeyEverywhere")
    result = run_kit(
        [
            f"--laios-provider={H}LeaksKeyEverywhere",
            '--laios-provider-kwargs={"api_key": "$LAIOS_TEST_KEY"}',
            f"--laios-cassette-dir={good_cassettes}",
            capture,
            "-k",
            "returns_response",
            "--laios-allow-partial",
        ],
        cwd=tmp_path,
        env={"LAIOS_TEST_KEY": KEY},
    )
    assert "debug: calling with key <REDACTED>" in result.stdout, result.stdout
    assert "debug: key on stderr <REDACTED>" in result.stderr, result.stderr
    assert KEY not in result.stdout + result.stderr
    assert "gate: partial" in result.stdout  # the kit's own output came through as well


def test_junit_properties_carry_the_verdict_status(run_kit, pytester: pytest.Pytester) -> None:
    junit = pytester.path / "junit.xml"
    run = run_kit(
        "tests.providers.defective:LeaksKeyInErrors", f"--junitxml={junit}", "-k", "no_secret_leak or returns_response"
    )
    assert run.statuses() == {"returns-response": "passed", "no-secret-leak": "failed"}
    properties = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        (value,) = [p.get("value") for p in case.iter("property") if p.get("name") == "laios_verdict"]
        properties[case.get("name").split("[")[0]] = value
    assert "'status': 'failed'" in properties["test_no_secret_leak"]
    assert "'status': 'passed'" in properties["test_returns_response"]


# -- output paths, and the network while the probe instance is built ----------------------------


@pytest.mark.parametrize(
    "option, make, expected",
    [
        ("--laios-report", lambda p: p / "a-dir", "is a directory; give the path of a file"),
        ("--laios-report", lambda p: p / "a-file" / "verdict.json", "is a file, so nothing can be written under it"),
        ("--junitxml", lambda p: p / "a-file" / "junit.xml", "is a file, so nothing can be written under it"),
        ("--laios-report", lambda p: Path("/proc/verdict.json"), "cannot write in '/proc' (permission denied)"),
        ("--laios-report", lambda p: "", "is given an empty path"),  # $REPORT unset: no report, silently
    ],
    ids=["report-is-a-dir", "report-parent-is-a-file", "junit-parent-is-a-file", "report-unwritable", "report-empty"],
)
def test_unwritable_output_is_one_usage_line(pytester: pytest.Pytester, option: str, make, expected: str) -> None:
    (pytester.path / "a-dir").mkdir()
    (pytester.path / "a-file").write_text("")
    result = pytester.runpytest_inprocess(f"--laios-provider={GOOD}", f"{option}={make(pytester.path)}")
    line = usage_line(result)
    assert line.startswith(f"ERROR: {option} ") and expected in line


def test_a_provider_that_skips_instead_of_answering_fails_not_skips(run_kit) -> None:
    """pytest.skip() raised in the provider's code was taken for the clause's own skip: a
    provider that never answered got every clause it reached skipped, and a green gate."""
    run = run_kit(H + "SkipsWhenAnswering", "-k", "returns_response or no_input_mutation", "--laios-allow-partial")
    assert run.statuses() == {"returns-response": "failed", "no-input-mutation": "failed"}, run.report
    assert run.message("returns-response").startswith("the provider raised pytest's Skipped ('model busy') at ")
    assert "tests/providers/hostile.py:" in run.message("returns-response")
    assert "it is a BaseException, which LLMRouter and every caller catching Exception let through" in run.message(
        "returns-response"
    )


def test_a_str_subclass_whose_eq_lies_does_not_pass_content_fidelity(run_kit) -> None:
    run = run_kit(H + "StripsBehindALyingStr", "-k", "content_fidelity", "--laios-allow-partial")
    assert run.statuses() == {"content-fidelity": "failed"}, run.report


def test_a_key_in_the_error_of_one_status_only_is_found(run_kit) -> None:
    run = run_kit(H + "LeaksKeyOnRateLimit", "-k", "no_secret_leak", "--laios-allow-partial")
    assert run.statuses() == {"no-secret-leak": "failed"}, run.report
    assert "- exception on HTTP 429 (ProviderError or its chain): contains the API key" in run.message("no-secret-leak")


def test_two_reports_in_one_file_is_one_usage_line(pytester: pytest.Pytester) -> None:
    """The one written last replaced the other: a run asked for a JSON verdict and got JUnit XML."""
    result = pytester.runpytest_inprocess(f"--laios-provider={GOOD}", "--laios-report=out", "--junitxml=./out")
    assert (
        usage_line(result)
        == "ERROR: --laios-report and --junitxml both name './out'; give each report a file of its own"
    )


def test_a_cassette_size_limit_that_is_no_number_is_one_usage_line(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``inf`` errored every clause that reads a cassette with an OverflowError; ``abc`` was ignored."""
    monkeypatch.setenv("LAIOS_CONFORMANCE_MAX_CASSETTE_MB", "inf")
    result = pytester.runpytest_inprocess(f"--laios-provider={GOOD}")
    assert usage_line(result) == (
        "ERROR: LAIOS_CONFORMANCE_MAX_CASSETTE_MB 'inf' is not a number of megabytes between 0 and 1048576 "
        "(the default is 50)"
    )


@pytest.mark.parametrize("mode", ["none", "once"])
def test_a_file_where_the_providers_cassette_folder_should_be_is_one_usage_line(
    pytester: pytest.Pytester, mode: str
) -> None:
    """Replay said to record the missing cassette, and recording then raised FileExistsError;
    then every clause that reads a cassette said the same, once each."""
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "GoodOpenAIStyle").write_text("")
    result = pytester.runpytest_inprocess(
        f"--laios-provider={GOOD}", f"--laios-cassette-dir={pytester.path / 'cassettes'}", f"--record-mode={mode}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert usage_line(result) == (
        f"ERROR: {pytester.path / 'cassettes' / 'GoodOpenAIStyle'} is a file where the cassette folder of {GOOD} "
        "should be, so its cassettes can be neither replayed nor recorded; move that file away"
    )


def test_recording_into_a_file_is_one_usage_line(pytester: pytest.Pytester) -> None:
    (pytester.path / "a-file").write_text("")
    result = pytester.runpytest_inprocess(
        f"--laios-provider={GOOD}", f"--laios-cassette-dir={pytester.path / 'a-file'}", "--record-mode=once"
    )
    assert "is a file, not a directory" in usage_line(result)


def test_recording_into_a_broken_link_is_one_usage_line(pytester: pytest.Pytester) -> None:
    """Not a FileExistsError per clause at teardown, after the live API has answered."""
    (pytester.path / "cassettes").symlink_to(pytester.path / "gone")
    result = pytester.runpytest_inprocess(
        f"--laios-provider={GOOD}", f"--laios-cassette-dir={pytester.path / 'cassettes'}", "--record-mode=once"
    )
    assert "is a broken symbolic link" in usage_line(result)


def test_on_ci_the_probe_instance_is_built_offline(
    run_kit, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = pytester.path / "phone-home.log"
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("LAIOS_TEST_PHONE_HOME_LOG", str(log))
    run = run_kit(H + "PhonesHomeWhenBuilt", "-k", "returns_response")
    attempts = log.read_text().splitlines()
    assert len(attempts) == 2, run.result.stdout.str()  # the probe, then the clause's instance
    assert all(attempt.startswith("RuntimeError: Network is disabled") for attempt in attempts), attempts


# -- patches below the seam ------------------------------------------------------------------


@pytest.fixture
def restored_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx's transport as it was after the test, whatever the provider put there."""
    import httpx

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", httpx.HTTPTransport.handle_request)


@pytest.mark.usefixtures("restored_transport")
def test_a_provider_that_patches_the_transport_when_built_is_refused(run_kit) -> None:
    """Replay never reaches httpx's transport: a canned answer put there would pass every clause."""
    run = run_kit(H + "PatchesTransportWhenBuilt", "-k", "returns_response")
    line = usage_line(run.result)
    assert "httpx.HTTPTransport.handle_request (by tests.providers.hostile._canned_answer)" in line, line
    assert "remove the patch" in line
    assert run.report is None


@pytest.mark.usefixtures("restored_transport")
def test_a_provider_that_patches_the_transport_at_import_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        patches_at_import="""
        import httpx
        from tests.providers.openai_style import GoodOpenAIStyle

        httpx.HTTPTransport.handle_request = lambda self, request: httpx.Response(200, request=request)

        class Client(GoodOpenAIStyle):
            pass
        """
    )
    pytester.syspathinsert(REPO)
    result = pytester.runpytest_inprocess("--laios-provider=patches_at_import:Client", "-p", "no:cacheprovider")
    line = usage_line(result)
    assert (
        "importing or building it replaced httpx.HTTPTransport.handle_request (by patches_at_import.<lambda>)" in line
    )


@pytest.mark.usefixtures("restored_transport")
def test_instrumentation_that_calls_through_is_judged_as_usual(run_kit) -> None:
    run = run_kit(H + "InstrumentsTransportWhenBuilt", "-k", "returns_response")
    assert run.statuses() == {"returns-response": "passed"}, run.result.stdout.str()


def test_a_provider_that_raises_skiptest_instead_of_answering_fails_not_skips(run_kit) -> None:
    """unittest.SkipTest, which pytest takes as a skip too, raised in the provider's code: the
    clauses it reached were reported as skipped before they ran, the provider never named."""
    run = run_kit(H + "SkipTestWhenAnswering", "-k", "returns_response or no_input_mutation", "--laios-allow-partial")
    assert run.statuses() == {"returns-response": "failed", "no-input-mutation": "failed"}, run.report
    message = run.message("returns-response")
    assert message.startswith("the provider raised unittest.SkipTest ('model busy') at ")
    assert "tests/providers/hostile.py:" in message
    assert "pytest takes it as the clause skipping itself" in message


def test_a_provider_whose_instances_take_no_attributes_has_its_calls_timed_too(run_kit) -> None:
    """``__slots__``: the kit cannot guard the instance, so it guards the class; a hang was
    unbounded (no clause named, no verdict)."""
    run = run_kit(H + "SlotsWrapperHangsOnce", "--laios-call-timeout=1", "-k", "returns_response or system_prompt")
    assert run.statuses() == {"returns-response": "error", "system-prompt": "passed"}, run.report
    assert run.message("returns-response").startswith("generate() did not return within 1 s")


def test_a_correct_provider_whose_instances_take_no_attributes_passes(run_kit) -> None:
    run = run_kit(H + "SlotsWrapper", "--laios-strict")
    not_passed = {c: s for c, s in run.statuses().items() if s != "passed"}
    assert not_passed == {"cassettes-fresh": "skipped", "timeout-honoured": "skipped"}, run.report
    assert run.message("timeout-honoured") == "not applicable: the provider's constructor takes no timeout parameter"


def test_a_stream_that_never_ends_errors_its_clause(run_kit, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each piece came within the call timeout, so the run spun on for ever (``next(lines, "")``
    yielding "" once the body ended)."""
    monkeypatch.setattr(_watchdog, "MAX_STREAM_CHUNKS", 2000)  # the real bound takes seconds to reach
    run = run_kit(H + "YieldsEmptyForever", "-k", "stream_raises or stream_join", "--laios-allow-partial")
    assert run.statuses() == {"stream-join": "passed", "stream-raises": "error"}, run.report
    assert run.message("stream-raises").startswith("generate_stream() yielded 2000 pieces and had not ended")


def test_a_stream_whose_iter_never_returns_errors_its_clause(run_kit) -> None:
    run = run_kit(H + "StreamBlocksInIter", FAST, "-k", "stream_join", "--laios-allow-partial")
    assert run.statuses() == {"stream-join": "error"}, run.report
    assert "generate_stream() (iter() of what it returned) did not return within 0.2 s" in run.message("stream-join")


def test_an_assert_in_the_provider_is_the_provider_raising(run_kit) -> None:
    """The kit's property took any AssertionError for its own and crashed (KeyError 'failure')."""
    run = run_kit(H + "AssertsOnItsAnswer", "-k", "content_fidelity", "--laios-allow-partial")
    assert run.statuses() == {"content-fidelity": "failed"}, run.report
    message = run.message("content-fidelity")
    assert "generate() raised AssertionError: unexpected escape in the answer" in message, message
    assert "KeyError" not in message


def test_a_key_cut_by_a_shortened_message_leaves_no_piece_behind(
    run_kit, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kit cuts the provider's exception text (to 120 characters); a key near the cut left
    its first characters in the terminal, the verdict and JUnit."""
    monkeypatch.setenv("LAIOS_TEST_KEY", KEY)
    run = run_kit(
        H + "QuotesItsHeadersInErrors",
        '--laios-provider-kwargs={"api_key": "$LAIOS_TEST_KEY"}',
        "--junitxml=junit.xml",
        "-rA",
        "-k",
        "error_carries or raises_on_http_error",
        "--laios-allow-partial",
    )
    assert "request failed; request failed; request failed; headers: {" in run.message("error-carries-message")
    written = run.result.stdout.str() + run.result.stderr.str() + every_byte(pytester.path)
    pieces = [KEY[i : i + 12] for i in range(len(KEY) - 11)]
    assert [piece for piece in pieces if piece in written] == []


def test_redaction_takes_what_a_cut_left_of_a_key_at_either_end() -> None:
    start, end, short = KEY[:CUT_KEY_LENGTH], KEY[-CUT_KEY_LENGTH - 3 :], KEY[: CUT_KEY_LENGTH - 1]
    assert redact(f"a {start}, b {end}; c {KEY}.", [KEY]) == "a <REDACTED>, b <REDACTED>; c <REDACTED>."
    assert redact(f"too short to tell: {short}", [KEY]) == f"too short to tell: {short}"
