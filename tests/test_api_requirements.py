"""What an API rejects that replay cannot show: the kit's own calls never send it.

Anthropic answers 400 to a body without ``max_tokens`` (params-reach-request) and to a
``system`` turn inside ``messages`` (message-fidelity). The kit's recorded calls pass a
``max_tokens`` and hold no system turn, so a provider that sent either passed every must
clause and failed live on every agent call that did.
"""

from __future__ import annotations

import pytest

from tests.test_required_headers import anthropic_cassettes_for

SELECTION = "params_reach_request"


@pytest.mark.parametrize(
    ("target", "fails"),
    [
        ("tests.providers.defective_anthropic:MaxTokensOnlyWhenGiven", "generate()"),
        ("tests.providers.defective_anthropic:StreamMaxTokensOnlyWhenGiven", "generate_stream()"),
        ("reference_providers.anthropic:AnthropicClient", None),
    ],
)
def test_max_tokens_left_out_fails_where_the_api_requires_it(run_kit, pytester, target: str, fails: str | None) -> None:
    cassettes = anthropic_cassettes_for(pytester.path / "cassettes", target.rsplit(":", 1)[1])
    run = run_kit(target, "-k", SELECTION, f"--laios-cassette-dir={cassettes}", cassettes=False)
    assert run.statuses() == {"params-reach-request": "failed" if fails else "passed"}, run.report
    if fails:
        message = run.message("params-reach-request").split("How to fix")[0]
        assert "1 case(s) failed" in message
        assert f"{fails} without max_tokens: the request carries nothing at max_tokens" in message
        assert "answers 400 to every call that leaves max_tokens out" in message
        assert "temperature" not in message  # the values the caller gave did reach the body


def test_a_null_max_tokens_is_no_max_tokens(run_kit, pytester) -> None:
    """``"max_tokens": null`` (a ``None`` default sent as it is) is answered 400 as an absent
    one is; it was taken for a value sent."""
    target = "tests.providers.defective_anthropic:SendsNullMaxTokens"
    cassettes = anthropic_cassettes_for(pytester.path / "cassettes", target.rsplit(":", 1)[1])
    run = run_kit(target, "-k", SELECTION, f"--laios-cassette-dir={cassettes}", cassettes=False)
    assert run.statuses() == {"params-reach-request": "failed"}, run.report
    message = run.message("params-reach-request").split("How to fix")[0]
    assert "2 case(s) failed" in message, message
    for call in ("generate()", "generate_stream()"):
        assert f"{call} without max_tokens: the request carries null at max_tokens (top level); " in message


def test_a_protocol_without_required_params_passes_without_max_tokens(run_kit) -> None:
    """OpenAI's API has a default for max_tokens: leaving it out is interface-defaults' concern."""
    run = run_kit("tests.providers.defective:NoDefaults", "-k", SELECTION)
    assert run.statuses() == {"params-reach-request": "passed"}, run.report


@pytest.mark.parametrize(
    ("target", "fails"),
    [
        ("tests.providers.defective_anthropic:SystemMessagesPassedThrough", True),
        ("reference_providers.anthropic:AnthropicClient", False),
    ],
)
def test_a_system_turn_in_anthropic_messages_fails(run_kit, pytester, target: str, fails: bool) -> None:
    """Anthropic answers 400 to a ``system`` role in ``messages``; the recorded calls carry none."""
    cassettes = anthropic_cassettes_for(pytester.path / "cassettes", target.rsplit(":", 1)[1])
    run = run_kit(
        target, "-k", "message_fidelity or system_prompt", f"--laios-cassette-dir={cassettes}", cassettes=False
    )
    expected = {"message-fidelity": "failed" if fails else "passed", "system-prompt": "passed"}
    assert run.statuses() == expected, run.report
    if fails:
        message = run.message("message-fidelity").split("How to fix")[0]
        assert "messages[0] has role 'system'; the 'anthropic' API takes only user and assistant there" in message
