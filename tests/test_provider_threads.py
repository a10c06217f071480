"""Providers that send from threads of their own, or answer without sending: the seam
counts the provider's own threads as the provider's in every clause, and no clause judges
an answer the kit never served (see tests/providers/own_threads.py)."""

from __future__ import annotations

P = "tests.providers.own_threads:"
OPT_IN = {"cassettes-fresh"}  # skipped unless --laios-max-cassette-age is given


def test_a_provider_sending_from_its_own_pool_passes_every_clause(run_kit) -> None:
    """The pool's workers start in one call and send in every later one."""
    run = run_kit(P + "SendsFromItsPool")
    assert {c: s for c, s in run.statuses().items() if s != "passed"} == dict.fromkeys(OPT_IN, "skipped"), run.report


def test_messages_mangled_in_the_provider_s_own_pool_fail_message_fidelity(run_kit) -> None:
    run = run_kit(P + "StripsInItsPool", "-k", "message_fidelity", "--laios-allow-partial")
    assert run.statuses() == {"message-fidelity": "failed"}, run.report
    assert "refused before sending" not in run.message("message-fidelity")


def test_answers_from_a_cache_are_never_judged_as_the_kit_s_answers(run_kit) -> None:
    """A clause that serves its own answer (a substituted text, usage or finish reason, an
    injected fault) to a call that sent no request would judge the cached answer against
    it: the clause refuses instead, and says why."""
    run = run_kit(P + "AnswersFromCache")
    statuses = run.statuses()
    assert "failed" not in statuses.values(), run.report
    unjudged = {c for c, s in statuses.items() if s == "error"}
    assert {
        "content-fidelity",
        "usage-fidelity",
        "finish-reason",
        "model-reported",
        "circuit-breaker",
        "router-fallback",
        "no-secret-leak",
    } <= unjudged, statuses
    for clause_id in unjudged:
        assert "the call sent no request the kit could see" in run.message(clause_id)
        assert "answered from a cache" in run.message(clause_id)


def test_a_call_that_raises_before_sending_is_named_not_blamed_on_a_cache(run_kit) -> None:
    """generate() raises before any request (an SDK given an argument it does not take):
    every clause that needs its request says so, and none speaks of a cache or a stack."""
    run = run_kit(P + "RaisesBeforeSending")
    statuses = run.statuses()
    unjudged = {c for c, s in statuses.items() if s == "error"}
    assert {"returns-response", "raises-on-http-error", "router-fallback", "circuit-breaker"} <= unjudged
    assert {"interface-defaults", "message-fidelity", "key-reaches-request"} <= unjudged, statuses
    for clause_id in unjudged:
        message = run.message(clause_id)
        assert "raised TypeError: Messages.create() got an unexpected keyword argument" in message, message
        assert "cache" not in message, message
    (cause,) = run.report["root_causes"]
    assert cause["exception"] == "TypeError" and len(cause["clauses"]) >= 10


def test_a_reader_thread_that_reads_on_after_the_caller_stops_fails_stream_closes(run_kit) -> None:
    """The rest of the answer arrives paced, as a live stream's does: a reader that ignores
    the stop reads it all (paying for every token) before it closes the response."""
    run = run_kit(P + "ReadsOnAfterTheCallerStops", "-k", "stream_closes", "--laios-allow-partial")
    assert run.statuses() == {"stream-closes": "failed"}, run.report
    assert "went on reading" in run.message("stream-closes")
