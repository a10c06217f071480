"""How message-fidelity reads a request body: verbatim, in order, and not as the tail of a re-escape."""

from __future__ import annotations

from typing import Any

import pytest

from laios_conformance.contract.test_fidelity import delivery_problem

QUOTE_FIRST = [("system", '"Be terse.'), ("user", "\\n means newline")]
BACKSLASH_LAST = [("user", "C:\\")]
PADDED = [("user", " Hi.\n")]
TWO_TURNS = [("user", "First."), ("user", "Second.")]


def messages(conversation: list[tuple[str, str]], edit: Any = lambda text: text) -> dict[str, Any]:
    return {"messages": [{"role": role, "content": edit(content)} for role, content in conversation]}


@pytest.mark.parametrize(
    ("conversation", "body"),
    [
        (QUOTE_FIRST, messages(QUOTE_FIRST)),
        (QUOTE_FIRST, {"prompt": "System: " + "\n".join(content for _, content in QUOTE_FIRST)}),
        # joined without a separator: the backslash next to a match is the other message's
        ([("assistant", "a\\"), ("user", "\\b")], {"prompt": "a\\\\b"}),
        ([("system", "\\"), ("system", "\\")], {"system": "\\\\"}),
    ],
    ids=["as sent", "inside a prompt", "joined, backslashes", "joined, system"],
)
def test_a_faithful_body_has_no_problem(conversation: list[tuple[str, str]], body: Any) -> None:
    assert delivery_problem(conversation, body) is None


@pytest.mark.parametrize(
    ("conversation", "body", "culprit"),
    [
        (QUOTE_FIRST, messages(QUOTE_FIRST, lambda text: text.replace('"', '\\"')), "system"),
        (QUOTE_FIRST, messages(QUOTE_FIRST, lambda text: text.replace("\\", "\\\\")), "user"),
        (BACKSLASH_LAST, messages(BACKSLASH_LAST, lambda text: text.replace("\\", "\\\\")), "user"),
        (PADDED, messages(PADDED, str.strip), "user"),
        (TWO_TURNS, messages(list(reversed(TWO_TURNS))), "user"),
    ],
    ids=["quote escaped again", "backslash doubled", "trailing backslash doubled", "stripped", "reordered"],
)
def test_a_re_escaped_or_altered_message_is_a_problem(
    conversation: list[tuple[str, str]], body: Any, culprit: str | None
) -> None:
    """A re-escape leaves the original as a substring (``"Be`` inside ``\\"Be``): not a match."""
    problem = delivery_problem(conversation, body)
    assert problem is not None
    assert culprit is None or problem.startswith(f"the {culprit} message")
