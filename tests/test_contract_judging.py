"""The clauses of issue 11 proven both ways: one defective provider per shape of each bad habit.

Each run judges the defective provider on the clauses of its subject (``-k``), and the
provider must fail exactly the clauses listed and pass the others of that selection; the
correct providers (GoodOpenAIStyle, the duck-typed one, the SDK wrappers and the reference
providers) pass every clause elsewhere.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import GOOD, gate_of

D = "tests.providers.defective:"
INPUTS = "no_input_mutation or message_fidelity"
USAGE = "usage_fidelity or usage_reported or finish_reason or model_reported or count_tokens or returns_response"
FAILURES = (
    "retry_bounded or no_retry_on_client_error or error_carries_status or error_carries_message or raises_on_http_error"
)
KEYS = "key_reaches_request or no_secret_leak"
STREAMS = "stream_rechunk or stream_join"
DEFAULTS = "interface_defaults or params_reach_request"
HEADERS = "headers_reach_request or params_reach_request"
TIMEOUTS = "timeout_set or timeout_honoured"

# defective provider -> (selection, the clauses it must fail; every other selected one passes)
DEFECTS = {
    "MutatesMessages": (INPUTS, {"no-input-mutation"}),
    "MovesSystemFirst": (INPUTS, {"no-input-mutation"}),
    "MergesSystemMessages": (INPUTS, {"no-input-mutation"}),
    "StripsContentInPlace": (INPUTS, {"no-input-mutation", "message-fidelity"}),
    "DropsSecondSystemMessage": (INPUTS, {"message-fidelity"}),
    "SystemDropsUserMessage": (INPUTS, {"message-fidelity"}),
    "SystemStripsTexts": (INPUTS, {"message-fidelity"}),
    "EscapesQuotesInPlace": (INPUTS, {"no-input-mutation", "message-fidelity"}),
    "KeepsAnswerOnSelf": ("thread_safety", {"thread-safety"}),
    "LastAnswerOnSelf": ("thread_safety", {"thread-safety"}),
    "SharesStreamLines": ("thread_safety", {"thread-safety"}),
    "KeepsConversation": ("thread_safety", {"thread-safety"}),
    "KeepsSystemPrompt": ("thread_safety", {"thread-safety"}),
    "RawUsage": (USAGE, {"usage-fidelity", "returns-response"}),
    "RenamesUsageKeys": (USAGE, {"usage-fidelity"}),
    "HardCodedUsage": (USAGE, {"usage-fidelity"}),
    "NoUsage": (USAGE, {"usage-reported"}),
    "ConstantFinishReason": (USAGE, {"finish-reason"}),
    "MapsFinishReason": (USAGE, {"finish-reason"}),
    "ReportsRequestedModel": (USAGE, {"model-reported"}),
    "FloatTokenCount": (USAGE, {"count-tokens"}),
    "CountsWords": (USAGE, {"count-tokens"}),
    "IgnoresRefusal": ("refusal_visible or returns_response", {"refusal-visible"}),
    "RetriesClientErrors": (FAILURES, {"no-retry-on-client-error"}),
    "RetriesAuthFailure": (FAILURES, {"no-retry-on-client-error"}),
    "TransportRetriesConnects": (FAILURES, {"retry-bounded"}),
    "RetriesReadTimeouts": (FAILURES, {"retry-bounded"}),
    # their check_status serves generate and generate_stream: the stream's error status loses its message too
    "HidesStatus": (FAILURES, {"error-carries-status", "error-carries-message", "stream-error-carries-message"}),
    "StatusOnlyInCause": (FAILURES, {"error-carries-status", "error-carries-message", "stream-error-carries-message"}),
    "StatusWithoutMessage": (FAILURES, {"error-carries-message", "stream-error-carries-message"}),
    "CutsErrorBodyShort": (FAILURES, {"error-carries-message", "stream-error-carries-message"}),
    "DropsNonJsonErrorBody": (FAILURES, {"error-carries-message"}),
    "IgnoresDetail": (FAILURES, {"error-carries-message"}),
    "DropsOpenRouterRaw": (FAILURES, {"error-carries-message"}),
    "ShortDefaultMaxTokens": (DEFAULTS, {"interface-defaults"}),
    "NoDefaultTemperature": (DEFAULTS, {"interface-defaults"}),
    "HotSystemDefaults": (DEFAULTS, {"interface-defaults"}),
    "NoDefaults": (DEFAULTS, {"interface-defaults"}),
    "ClientOnLibraryDefaults": (TIMEOUTS, {"timeout-honoured"}),
    "HardCodedTimeout": (TIMEOUTS, {"timeout-honoured"}),
    "SendsTextContentType": (HEADERS, {"headers-reach-request"}),
    "SendsNoContentType": (HEADERS, {"headers-reach-request"}),
    "DropsZeroTemperature": (DEFAULTS, {"params-reach-request"}),
    "SystemIgnoresParams": (DEFAULTS, {"params-reach-request"}),
    "SystemDropsZeroTemperature": (DEFAULTS, {"params-reach-request"}),
    "NeverSendsKey": (KEYS, {"key-reaches-request"}),
    "SendsKeyInAnotherHeader": (KEYS, {"key-reaches-request"}),
    "SendsKeyWithoutBearer": (KEYS, {"key-reaches-request"}),
    "KeyFromEnvironment": (KEYS, {"key-reaches-request"}),
    "KeyInClassAttribute": (KEYS, {"key-reaches-request"}),
    "KeyMovesAround": (KEYS, {"key-reaches-request", "no-secret-leak"}),  # httpx logs the URL with its key
    "SplitsOnLFOnly": (STREAMS, {"stream-rechunk"}),
    "KeepsCarriageReturn": (STREAMS, {"stream-rechunk"}),
    "LeaksKeyInErrors": (KEYS, {"no-secret-leak"}),
    "LeaksKeyOnBadBody": (KEYS, {"no-secret-leak"}),
    "ShowsSentHeadersInRepr": (KEYS, {"no-secret-leak"}),
    "LeaksKeyOnStreamError": (KEYS, {"no-secret-leak"}),
    "LeaksKeyOnBrokenStream": (KEYS, {"no-secret-leak"}),
    "LeaksKeyBehindKwargs": (KEYS, {"no-secret-leak"}),  # its api_key is a base class's argument
    "WarnsWithKey": (KEYS, {"no-secret-leak"}),
    "WritesKeyToStderr": (KEYS, {"no-secret-leak"}),
    "LogsKeyAtDebug": (KEYS, {"no-secret-leak"}),
    # key-reaches-request too: GoodOpenAIStyle's cassettes show the live API took ``Bearer <key>``
    "LogsBasicCredentialsAtDebug": (KEYS, {"no-secret-leak", "key-reaches-request"}),
    "KeyInContextBehindCause": (KEYS, {"no-secret-leak"}),
    "KeyInResponse": (KEYS, {"no-secret-leak"}),
}


def judged_with(selection: str) -> tuple[str, ...]:
    """The defective providers judged on ``selection``: one kit run judges them together."""
    return tuple(D + name for name, (their_selection, _) in sorted(DEFECTS.items()) if their_selection == selection)


# Every provider judged on one selection shares one kit run (its tests share it on one
# worker); each provider's gate is what a run of its own would have exited with.
@pytest.mark.xdist_group("judging-defects")
@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defective_provider_fails_exactly_its_clauses(judged_together, name: str) -> None:
    selection, expected = DEFECTS[name]
    together = judged_with(selection)
    run = judged_together(together, "-k", selection, "--laios-strict")
    index = together.index(D + name)
    statuses = run.statuses(index)
    assert {c for c, s in statuses.items() if s != "passed"} == expected, run.report["providers"][index]
    assert {statuses[c] for c in expected} == {"failed"}
    assert gate_of(run, index) == "failed"
    assert run.result.ret == 1


@pytest.mark.xdist_group("judging-defects")
def test_a_key_in_the_errors_of_the_stream_path_is_found(judged_together) -> None:
    """Only generate()'s errors were hunted: a stream path checking the status itself, with
    its own error text, passed however much of the request that text repeated."""
    together = judged_with(KEYS)
    run = judged_together(together, "-k", KEYS, "--laios-strict")
    message = run.message("no-secret-leak", together.index(D + "LeaksKeyOnStreamError")).split("How to fix")[0]
    # one per error status and for the 401 that repeats the key, none for the connect error
    assert "11 case(s) failed" in message, message
    for status in ("HTTP 401", "HTTP 500", "HTTP 429"):
        assert (
            f"- generate_stream() exception on {status} (ProviderError or its chain): contains the API key" in message
        )
    assert "- exception on" not in message, message  # generate()'s own errors are clean


@pytest.mark.xdist_group("judging-defects")
def test_generate_with_system_is_judged_on_its_own_texts_and_parameters(judged_together) -> None:
    """Its one cassette was recorded from what the provider sent: a generate_with_system() that
    drops the user message, strips both texts or drops the caller's parameters replayed it
    fine and passed every clause."""
    inputs = judged_with(INPUTS)
    run = judged_together(inputs, "-k", INPUTS, "--laios-strict")
    dropped = run.message("message-fidelity", inputs.index(D + "SystemDropsUserMessage"))
    assert "- generate_with_system(), content with surrounding whitespace: the user message '\\tHi. " in dropped
    stripped = run.message("message-fidelity", inputs.index(D + "SystemStripsTexts")).split("How to fix")[0]
    assert "- generate_with_system(), content with surrounding whitespace: the system message '  Be terse." in stripped
    assert "  - content with surrounding whitespace" not in stripped, stripped  # generate() sends them as given
    defaults = judged_with(DEFAULTS)
    run = judged_together(defaults, "-k", DEFAULTS, "--laios-strict")
    ignored = run.message("params-reach-request", defaults.index(D + "SystemIgnoresParams")).split("How to fix")[0]
    assert "- generate_with_system() temperature: the caller passed 0.3" in ignored, ignored
    assert "- generate_with_system() max_tokens: the caller passed" in ignored
    zero = run.message("params-reach-request", defaults.index(D + "SystemDropsZeroTemperature")).split("How to fix")[0]
    assert "1 case(s) failed" in zero and "- generate_with_system() temperature 0.0: the caller passed 0.0" in zero


def test_a_stream_that_raises_on_the_recorded_answer_leaves_the_leak_unjudged_unless_it_names_the_key(run_kit) -> None:
    """no-secret-leak failed with leak advice when generate_stream() raised NotImplementedError,
    though nothing leaked; what such a call raises is still hunted."""
    run = run_kit(D + "StreamNotImplemented", "-k", "no_secret_leak", "--laios-allow-partial")
    assert run.statuses() == {"no-secret-leak": "skipped"}, run.report  # as one the kit could not judge
    assert "could not judge them (each message says why): no-secret-leak" in run.report["gate_reason"]
    message = run.message("no-secret-leak")
    assert "generate_stream(): it raised NotImplementedError on the recorded answer" in message
    assert "How to fix" not in message
    run = run_kit(D + "StreamNotImplementedNamingHeaders", "-k", "no_secret_leak", "--laios-allow-partial")
    assert run.statuses() == {"no-secret-leak": "failed"}, run.report
    message = run.message("no-secret-leak")
    assert (
        "- generate_stream() exception on the recorded answer (NotImplementedError or its chain): contains the API key"
        in message
    )
    assert "(not judged: generate_stream(): it raised NotImplementedError" in message


@pytest.mark.xdist_group("judging-defects")
def test_a_truncation_reason_mapped_to_another_apis_name_is_called_mapped(judged_together) -> None:
    """``max_tokens`` reported as ``length`` still says the answer was cut short: the message
    says the name was mapped, not that the truncation was lost."""
    together = judged_with(USAGE)
    run = judged_together(together, "-k", USAGE, "--laios-strict")
    message = run.message("finish-reason", together.index(D + "MapsFinishReason"))
    assert "body stating 'max_tokens': finish_reason is 'length', the body states 'max_tokens': mapped to" in message
    assert "no longer says so" not in message


def test_retries_bounded_by_a_deadline_are_counted_on_the_skipped_sleeps(run_kit) -> None:
    """The clauses skip the provider's backoff sleeps and move its clock on by them: a retry
    loop that stops after 2.5 s makes its real three attempts, not thousands in 2.5 s of
    real time."""
    selection = "retry_bounded or no_retry_on_client_error or raises_on_http_error"
    run = run_kit("tests.providers.openai_style:RetriesUntilADeadline", "-k", selection, "--laios-strict")
    assert set(run.statuses().values()) == {"passed"}, run.report
    assert "HTTP 503: 3 attempt(s); connect error: 3 attempt(s)" in run.message("retry-bounded")


def test_a_subclass_passing_kwargs_on_to_a_base_taking_api_key_is_given_the_kit_key(run_kit) -> None:
    """``def __init__(self, *args, **kwargs): super().__init__(*args, **kwargs)`` hides
    ``api_key`` from the subclass's signature; the secret clauses must still run."""
    run = run_kit("tests.providers.openai_style:PassesArgumentsOn", "-k", KEYS, "--laios-strict")
    assert run.statuses() == {"key-reaches-request": "passed", "no-secret-leak": "passed"}, run.not_run()


def test_a_timeout_passed_on_through_kwargs_is_judged(run_kit) -> None:
    """The same hidden parameter, ``timeout``: timeout-honoured judges it (it was skipped as
    "takes no timeout parameter"), and fails a base class that ignores it."""
    good, ignored = (
        "tests.providers.openai_style:PassesArgumentsOn",
        "tests.providers.defective:" + ("PassesArgumentsOnToHardCodedTimeout"),
    )
    run = run_kit((good, ignored), "-k", "timeout_honoured", "--laios-strict")
    assert run.statuses(0) == {"timeout-honoured": "passed"}, run.report
    assert run.statuses(1) == {"timeout-honoured": "failed"}, run.report


@pytest.mark.parametrize("name", ["KeyInBasicCredentials", "KeyInBody", "KeyNestedInBody"])
def test_a_key_sent_as_basic_credentials_or_in_the_body_reaches_the_request(run_kit, name: str) -> None:
    run = run_kit(
        f"tests.providers.openai_style:{name}", "-k", "key_reaches_request", "--laios-allow-partial", cassettes=False
    )  # no cassettes: those of GoodOpenAIStyle say the live API took the key in its authorization header
    assert run.statuses() == {"key-reaches-request": "passed"}, run.report


ENV_KEY = "LAIOS_TEST_PROVIDER_KEY"


@pytest.mark.parametrize(
    "name, leak", [("openai_style:KeyFromItsEnvironment", "passed"), ("defective:ShowsEnvironmentKeyInRepr", "failed")]
)
def test_a_key_the_provider_reads_from_the_environment_is_judged_when_named(
    run_kit, monkeypatch: pytest.MonkeyPatch, name: str, leak: str
) -> None:
    """``--laios-secret-env``: unset, the variable gets a fake key for the run (and is unset
    again after it); the key is hunted and must reach the request, as an api_key is."""
    monkeypatch.delenv(ENV_KEY, raising=False)
    provider = f"tests.providers.{name}"
    run = run_kit(provider, "-k", KEYS, "--laios-allow-partial", f"--laios-secret-env={ENV_KEY}")
    assert run.statuses() == {"key-reaches-request": "passed", "no-secret-leak": leak}, run.report
    assert ENV_KEY not in os.environ
    key = "sk-proj-" + "Qx7" * 16
    monkeypatch.setenv(ENV_KEY, key)
    unnamed = run_kit(provider, "-k", KEYS, "--laios-allow-partial")
    assert set(unnamed.statuses().values()) == {"skipped"}, unnamed.report
    for clause_id in ("no-secret-leak", "key-reaches-request"):  # named, by its variable, never its value
        message = unnamed.message(clause_id)
        assert f"${ENV_KEY} in header:authorization" in message, message
        assert message.endswith(
            f"pass --laios-secret-env {ENV_KEY} to have it judged, and scrubbed by value when recording"
        )
    assert key not in json.dumps(unnamed.report) and key not in str(unnamed.result.stdout)


def test_connect_retries_of_the_transport_count_as_attempts(run_kit) -> None:
    """httpcore retries a failed connection below the seam (``HTTPTransport(retries=2)``):
    each retry is an attempt, so a refused connection makes three, an HTTP 503 one."""
    run = run_kit("tests.providers.openai_style:RetriesConnectsTwice", "-k", FAILURES, "--laios-strict")
    assert set(run.statuses().values()) == {"passed"}, run.report
    assert "HTTP 503: 1 attempt(s); connect error: 3 attempt(s)" in run.message("retry-bounded")


def test_failures_name_the_shape_and_the_minimal_example(run_kit) -> None:
    run = run_kit(D + "MovesSystemFirst", "-k", "no_input_mutation")
    assert "system message not first: generate() changed the list" in run.message("no-input-mutation")
    run = run_kit(D + "HardCodedUsage", "-k", "usage_fidelity")
    assert "minimal" not in run.message("usage-fidelity")  # the counts are shown as they are
    assert "counts substituted into the body" in run.message("usage-fidelity")
    run = run_kit(D + "SplitsOnLFOnly", "-k", "stream_rechunk")
    assert "CR line endings" in run.message("stream-rechunk")
    assert "CRLF line endings" not in run.message("stream-rechunk")


def test_a_failure_only_hypothesis_finds_shows_the_minimal_conversation(run_kit) -> None:
    run = run_kit(D + "EscapesQuotesInPlace", "-k", INPUTS)
    for clause_id in ("no-input-mutation", "message-fidelity"):
        message = run.message(clause_id)
        assert "minimal counter-example" in message and "conversation: [(" in message, message


def test_raw_usage_failure_explains_the_nested_trap(run_kit) -> None:
    run = run_kit(D + "RawUsage", "-k", "usage_fidelity")
    assert "nests prompt_tokens_details" in run.message("usage-fidelity")


def test_leak_report_names_the_channel_never_the_key(run_kit, pytester) -> None:
    canary_seen = []
    for name, channel in (
        ("WritesKeyToStderr", "stdout/stderr"),
        ("LogsKeyAtDebug", "log record from 'defective.quiet' at DEBUG"),
        ("WarnsWithKey", "warning DeprecationWarning"),
        ("KeyInContextBehindCause", "exception on HTTP 401"),
        ("KeyInResponse", "repr(response)"),
    ):
        run = run_kit(D + name, "-k", "no_secret_leak", "--junitxml=junit.xml")
        assert channel in run.message("no-secret-leak")
        files = [pytester.path / "junit.xml", pytester.path / "verdict.json"]
        output = run.result.stdout.str() + run.result.stderr.str() + "".join(f.read_text() for f in files)
        canary_seen += [name for line in output.splitlines() if "sk-proj-" in line]
    assert canary_seen == []


def test_a_provider_that_refreshes_an_oauth_token_first_is_judged_on_its_api_calls(run_kit) -> None:
    """Its token request is no clause's traffic: every clause judges the calls after it (the
    kit answered them all with the first reply, the token's, and judged the token request)."""
    run = run_kit("tests.providers.openai_style:RefreshesAnOAuthToken", "--laios-strict")
    statuses = run.statuses()
    assert {c for c, s in statuses.items() if s != "passed"} == {
        "no-secret-leak",
        "key-reaches-request",
        "cassettes-fresh",
    }, run.report
    assert run.message("no-secret-leak").startswith("not applicable: the provider takes no api_key")


def test_a_logger_whose_own_filter_redacts_or_drops_the_record_leaks_nothing(run_kit) -> None:
    run = run_kit("tests.providers.openai_style:LogsHeadersRedacted", "-k", "no_secret_leak")
    assert run.statuses() == {"no-secret-leak": "passed"}, run.report


def test_a_key_shared_by_every_instance_is_caught(run_kit) -> None:
    run = run_kit(D + "KeyInClassAttribute", "-k", "key_reaches_request", "--laios-allow-partial")
    assert run.statuses() == {"key-reaches-request": "failed"}
    message = run.message("key-reaches-request")
    assert "after another instance was built with another key: generate() sent the other instance's key" in message


def test_key_is_checked_on_every_request(run_kit) -> None:
    run = run_kit(D + "KeyMovesAround", "-k", "key_reaches_request")
    assert "the key moves" in run.message("key-reaches-request")
    run = run_kit(GOOD, "-k", "key_reaches_request")
    assert run.statuses() == {"key-reaches-request": "passed"}


def test_an_error_page_that_is_not_json_must_show_in_the_exception(run_kit) -> None:
    run = run_kit(D + "DropsNonJsonErrorBody", "-k", "error_carries_message and not stream")
    assert run.statuses() == {"error-carries-message": "failed"}
    assert "1 case(s) failed" in run.message("error-carries-message")
    assert "HTTP 502 with a proxy's HTML page: ProviderError('HTTP 502: the error body is not JSON')" in run.message(
        "error-carries-message"
    )


@pytest.mark.parametrize(
    ("defective", "failing"),
    [
        ("IgnoresDetail", ['HTTP 401 in Mistral\'s {"detail": ...}', "HTTP 422 in a FastAPI server's validation list"]),
        ("DropsOpenRouterRaw", ["HTTP 429 from OpenRouter, its cause in error.metadata.raw"]),
    ],
)
def test_other_error_shapes_of_openai_compatible_servers_must_show_their_cause(run_kit, defective, failing) -> None:
    run = run_kit(D + defective, "-k", "error_carries_message and not stream")
    assert run.statuses() == {"error-carries-message": "failed"}
    message = run.message("error-carries-message")
    assert f"{len(failing)} case(s) failed" in message
    for label in failing:
        assert f"{label}: ProviderError(" in message
    assert "failed upstream; retry shortly." in message  # the message the kit looked for is shown


@pytest.mark.parametrize(
    ("defective", "failing"),
    [
        (
            "ShortDefaultMaxTokens",
            {
                "generate(messages)": "max_tokens: LAIOS's default is 2048, sent 256",
                "generate_stream(messages)": "max_tokens: LAIOS's default is 2048, sent 256",
            },
        ),
        (
            "NoDefaultTemperature",
            {"generate(messages)": "temperature: LAIOS's default is 0.7, sent none (the API's own default applies)"},
        ),
        (
            "NoDefaults",
            {
                "generate(messages)": "cannot be called without them: TypeError: ",
                "generate_stream(messages)": "cannot be called without them: TypeError: ",
            },
        ),
        (
            "HotSystemDefaults",
            {
                "generate_with_system(system, user)": "temperature: LAIOS's default is 0.7, sent 1.0; "
                "max_tokens: LAIOS's default is 2048, sent 1024"
            },
        ),
    ],
)
def test_interface_defaults_names_each_call_and_value(run_kit, defective, failing) -> None:
    run = run_kit(D + defective, "-k", "interface_defaults")
    message = run.message("interface-defaults")
    assert f"{len(failing)} case(s) failed" in message
    for call, problem in failing.items():
        assert f"{call}: {problem}" in message


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("tests.providers.defective_ollama:ParamsAtTopLevel", "failed"),
        ("reference_providers.ollama:OllamaClient", "passed"),
        ("tests.providers.sdk_wrappers:OllamaSDKProvider", "passed"),
    ],
)
def test_ollama_params_count_only_inside_options(run_kit, provider: str, expected: str) -> None:
    """Ollama's server ignores a top-level ``temperature`` or ``max_tokens``: a provider that
    sends them there fails both clauses, naming where it sent them and where Ollama reads them."""
    run = run_kit(provider, "-k", DEFAULTS, "--laios-strict", cassettes=False)
    assert run.statuses() == {"params-reach-request": expected, "interface-defaults": expected}, run.report
    if expected == "passed":
        return
    reads = "where the 'ollama' protocol does not read it (it reads options."
    message = run.message("params-reach-request")
    assert f"temperature: the caller passed 0.3; sent 0.3 at temperature (top level), {reads}temperature)" in message
    assert f"max_tokens: the caller passed 64; sent 64 at max_tokens (top level), {reads}num_predict)" in message
    assert (
        f"temperature 0.0: the caller passed 0.0; sent 0.0 at temperature (top level), {reads}temperature)\n" in message
    )
    assert "falsy" not in message  # the 0.0 was sent, in the wrong place: not taken for no value
    defaults = run.message("interface-defaults")
    assert f"LAIOS's default is 0.7, sent 0.7 at temperature (top level), {reads}temperature), so" in defaults


def test_declared_omission_is_not_a_missing_default(run_kit) -> None:
    run = run_kit(D + "DeclaresAndOmitsTemperature", "-k", "interface_defaults")
    assert run.statuses() == {"interface-defaults": "passed"}


def test_count_tokens_is_not_applicable_without_it(run_kit) -> None:
    run = run_kit("tests.providers.duck:DuckTyped", "-k", "count_tokens")
    assert run.statuses() == {"count-tokens": "skipped"}
    assert run.message("count-tokens").startswith("not applicable: the provider has no count_tokens")


NO_MESSAGE_DECODER = '''
from laios_conformance.wire.openai import OpenAIWire


class NoMessage(OpenAIWire):
    """The OpenAI format, from a decoder that writes errors (error bodies, in-stream error
    events) only with their usual message."""
    name = "no-message"

    def recognises(self, url, request_body, response_headers, response_body):
        return OpenAIWire().recognises(url, request_body, response_headers, response_body)

    def error_body(self, status):
        return super().error_body(status)

    def with_error_midstream(self, response_body):
        return super().with_error_midstream(response_body)


def pytest_laios_wire_formats(config):
    return [NoMessage()]
'''


def test_error_message_is_not_judged_when_the_decoder_cannot_write_one(run_kit, pytester) -> None:
    pytester.makeconftest(NO_MESSAGE_DECODER)
    run = run_kit(GOOD, "-k", "error_carries_message")
    assert run.statuses() == {"error-carries-message": "skipped", "stream-error-carries-message": "skipped"}
    assert "not judged" in run.message("error-carries-message")
    assert "no decoder writes its error messages" in run.message("error-carries-message")
    # the proxy's page and the protocol's other error shapes need no error_body(message=)
    assert "4 passed" in run.message("error-carries-message")
    assert run.message("stream-error-carries-message").startswith("not judged: 2 case(s) (")
    assert "the wire decoder 'no-message' cannot write an in-stream error message" in run.message(
        "stream-error-carries-message"
    )


WRITES_NOTHING_DECODER = '''
from laios_conformance.wire.openai import OpenAIWire


class WritesNothing(OpenAIWire):
    """The OpenAI format, from a decoder that reads responses but writes no bodies."""
    name = "writes-nothing"

    def recognises(self, url, request_body, response_headers, response_body):
        return OpenAIWire().recognises(url, request_body, response_headers, response_body)

    def rebuild(self, response_body, text, *, stream):
        raise NotImplementedError

    def error_body(self, status, message=None):
        raise NotImplementedError


def pytest_laios_wire_formats(config):
    return [WritesNothing()]
'''


def test_stream_cases_a_decoder_cannot_write_are_not_judged_never_passed(run_kit, pytester) -> None:
    pytester.makeconftest(WRITES_NOTHING_DECODER)
    run = run_kit(GOOD, "-k", "stream_raises")
    assert run.statuses() == {"stream-raises": "skipped"}
    message = run.message("stream-raises")
    assert message.startswith("not judged: 3 case(s) (") and message.endswith("; 4 passed")
    gate = next(line for line in run.result.outlines if line.startswith("gate: "))
    assert "; not judged: 1 gating clause(s) for GoodOpenAIStyle, skipped because" in gate, gate
    assert (
        "a complete 200 stream with no text: the wire decoder 'writes-nothing' cannot rewrite the answer text"
        in message
    )
    assert (
        "connection dropped after the first text, a retry answered in full: the wire decoder 'writes-nothing' "
        "cannot rewrite the stream's text" in message
    )
    assert (
        "a 200 stream whose body is a bare JSON error: the wire decoder 'writes-nothing' writes no error body"
        in message
    )


def test_a_refusal_may_be_raised_or_returned_but_not_dropped(run_kit) -> None:
    dropped = run_kit(D + "IgnoresRefusal", "-k", "refusal_visible")
    assert (
        "a completion with content null and a refusal: raised ProviderError('the response carries no text') "
        "without the refusal" in dropped.message("refusal-visible")
    )
    assert run_kit(GOOD, "-k", "refusal_visible").statuses() == {"refusal-visible": "passed"}
    returned = run_kit("tests.providers.openai_style:RefusalAsAnswer", "-k", "refusal_visible")
    assert returned.statuses() == {"refusal-visible": "passed"}


def test_a_provider_that_needs_its_key_from_the_environment_is_judged_with_secret_env(run_kit) -> None:
    """Its constructor raises without ``$LAIOS_TEST_ENV_ONLY_KEY`` (the usage error names the
    option); named with --laios-secret-env, the variable gets a fake key and both secret
    clauses judge the provider."""
    run = run_kit("tests.providers.openai_style:KeyOnlyFromEnvironment", "-k", KEYS, "--laios-allow-partial")
    assert "pass --laios-secret-env LAIOS_TEST_ENV_ONLY_KEY" in str(run.result.errlines + run.result.outlines)
    assert os.environ.get("LAIOS_TEST_ENV_ONLY_KEY") is None
    run = run_kit(
        "tests.providers.openai_style:KeyOnlyFromEnvironment",
        "-k",
        KEYS,
        "--laios-secret-env=LAIOS_TEST_ENV_ONLY_KEY",
        "--laios-allow-partial",
    )
    assert run.statuses() == {"key-reaches-request": "passed", "no-secret-leak": "passed"}, run.report
    assert os.environ.get("LAIOS_TEST_ENV_ONLY_KEY") is None


@pytest.mark.parametrize(
    "target",
    [
        "tests.providers.requests_style:RequestsOpenAIStyle",  # a (connect, read) tuple by default
        "tests.providers.urllib_style:UrllibOpenAIStyle",
        "tests.providers.aiohttp_style:AiohttpOpenAIStyle",  # a ClientTimeout's sock_read
        "tests.providers.async_bridge:AsyncBridged",
        "tests.providers.requests_style:DeadlineForTheCall",  # what is left of one deadline
    ],
)
def test_a_timeout_passed_on_is_honoured_on_every_stack(run_kit, target: str) -> None:
    run = run_kit(target, "-k", TIMEOUTS, "--laios-strict")
    assert run.statuses() == {"timeout-set": "passed", "timeout-honoured": "passed"}, run.report


def test_timeout_honoured_names_the_read_timeout_sent(run_kit) -> None:
    message = run_kit(D + "ClientOnLibraryDefaults", "-k", TIMEOUTS).message("timeout-honoured")
    for call in ("generate", "generate_stream"):
        assert (
            f"{call}: built with timeout=37, it sent https://api.openai.com/v1/chat/completions with a read " in message
        )
    assert "read timeout of 5.0 s" in message


def test_timeout_honoured_does_not_apply_without_a_timeout_parameter(run_kit) -> None:
    run = run_kit("tests.providers.sdk_wrappers:OpenAISDKProvider", "-k", "timeout_honoured", cassettes=False)
    assert run.statuses() == {"timeout-honoured": "skipped"}, run.report
    assert "not applicable: the provider's constructor takes no timeout parameter" in run.message("timeout-honoured")


def test_a_generate_that_streams_is_not_served_a_whole_refusal(run_kit) -> None:
    """A stream request answered with a JSON body is no answer the live API gives: the
    provider cannot be judged on it, and is not failed."""
    run = run_kit("tests.providers.openai_style:GenerateReadsStream", "-k", "refusal_visible")
    assert run.statuses() == {"refusal-visible": "skipped"}, run.report
    assert "generate() asks for a stream, and the kit has no streamed refusal" in run.message("refusal-visible")


@pytest.mark.parametrize("name", ["KeepsConversation", "KeepsSystemPrompt"])
def test_a_conversation_kept_on_the_instance_is_named(run_kit, name: str) -> None:
    """Not the error the kit's HTTP 400 made the provider raise."""
    message = run_kit(D + name, "-k", "thread_safety").message("thread-safety")
    assert "requests carrying other calls' messages: " in message
    assert "as a conversation history or a system prompt kept on the instance does" in message


def test_ollama_answer_without_a_prompt_count_still_reports_usage(run_kit, tmp_path) -> None:
    """usage-fidelity let a provider report no usage for that answer, leaving it to
    usage-reported, which judged only the recorded answer."""
    from tests.support.recording import REPO

    provider = "tests.providers.defective_ollama:DropsUsageOfCachedPrompts"
    (tmp_path / "DropsUsageOfCachedPrompts").symlink_to(REPO / "cassettes" / "OllamaClient", target_is_directory=True)
    selection = ("-k", "usage_fidelity or usage_reported", "--laios-allow-partial")
    run = run_kit(provider, *selection, f"--laios-cassette-dir={tmp_path}", cassettes=False)
    assert run.statuses() == {"usage-fidelity": "passed", "usage-reported": "failed"}, run.report
    assert (
        "- without prompt_eval_count (Ollama's answer to a prompt it has cached): usage is None although the body "
        "states {'prompt_tokens': 0, 'completion_tokens': 66, 'total_tokens': 66}" in run.message("usage-reported")
    )


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("tests.providers.defective_ollama:IndexesCounts", "failed"),
        ("reference_providers.ollama:OllamaClient", "passed"),
    ],
)
def test_ollama_answer_without_a_prompt_count_is_an_answer(run_kit, tmp_path, provider: str, expected: str) -> None:
    """Ollama leaves ``prompt_eval_count`` out when it has cached the prompt (recorded): a
    provider that indexes the counts raises on a good answer."""
    from tests.support.recording import REPO

    (tmp_path / provider.rsplit(":", 1)[1]).symlink_to(REPO / "cassettes" / "OllamaClient", target_is_directory=True)
    run = run_kit(provider, "-k", "usage_fidelity", f"--laios-cassette-dir={tmp_path}", cassettes=False)
    assert run.statuses() == {"usage-fidelity": expected}, run.report
    if expected == "failed":
        assert (
            "without prompt_eval_count (Ollama's answer to a prompt it has cached): generate() raised KeyError"
            in run.message("usage-fidelity")
        )


def test_a_temperature_of_zero_must_reach_the_request(run_kit) -> None:
    message = run_kit(D + "DropsZeroTemperature", "-k", "params_reach_request").message("params-reach-request")
    assert "3 case(s) failed:\n  - temperature 0.0: the caller passed 0.0; nothing at temperature, where" in message
    assert "\n  - generate_with_system() temperature 0.0: the caller passed 0.0; nothing at temperature" in message
    assert "\n  - generate_stream() temperature 0.0: the caller passed 0.0; nothing at temperature" in message
    assert "a falsy 0.0 was taken for no value" in message


def test_a_temperature_of_zero_must_reach_the_streams_request_too(run_kit) -> None:
    run = run_kit(D + "StreamDropsZeroTemperature", "-k", "params_reach_request")
    assert run.statuses() == {"params-reach-request": "failed"}
    message = run.message("params-reach-request")
    assert "1 case(s) failed:\n  - generate_stream() temperature 0.0: the caller passed 0.0; nothing at" in message
