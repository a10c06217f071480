"""Hypothesis as the clauses use it: the kit's profiles, strategies, and minimal examples.

The kit registers two profiles, ``laios-ci`` (derandomized, bounded: the same verdict on
every CI run) and ``laios-dev`` (random, a few more examples), each only if the user has
not registered one of that name; it never loads a profile globally, so the user's own
hypothesis settings are untouched. ``laios-ci`` is used whenever ``CI`` is set.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

_PROFILES: dict[str, dict[str, Any]] = {
    "laios-ci": {"derandomize": True, "max_examples": 25},
    "laios-dev": {"derandomize": False, "max_examples": 40},
}
_COMMON = {
    "database": None,
    "deadline": None,
    "print_blob": False,
    "suppress_health_check": list(HealthCheck),
    # Hypothesis's explain phase re-runs a failing property many times, with tracing on, to
    # annotate its own report; the kit shows only the minimal example and its own message.
    "phases": [phase for phase in Phase if phase is not Phase.explain],
    # One failure, the minimal one: a provider that raises for some examples and answers
    # wrongly for others would otherwise end the clause in an ExceptionGroup of both.
    "report_multiple_bugs": False,
}

# Pieces that break naive JSON building, stripping, and per-read decoding.
TRICKY = [
    '"',
    "\\",
    "\n",
    "\t",
    "\r\n",
    " ",
    "  ",
    "😀",
    "👩‍👩‍👧",
    "e\u0301",
    "\u0301",
    "שלום",
    "مرحبا",
    "\u200f",
    "{",
    "}",
    "%s",
    "{0}",
    "data: [DONE]",
    "\u2028",
    "ß",
    "日本語",
]


def register_profiles() -> None:
    for name, values in _PROFILES.items():
        try:
            settings.get_profile(name)
        except InvalidArgument:
            settings.register_profile(name, parent=settings.get_profile("default"), **values, **_COMMON)


def kit_settings() -> settings:
    register_profiles()
    return settings.get_profile("laios-ci" if os.environ.get("CI") else "laios-dev")


# Every code point UTF-8 can encode: what ``st.text()`` draws by default, spelled out because
# Hypothesis derives its default (``codec="utf-8"``) by encoding all 1.1 million code points
# once per working directory, which costs almost a second in a fresh CI checkout.
ANY_CHARACTER = st.characters(exclude_categories=["Cs"])


@functools.cache  # one strategy object per shape: Hypothesis validates each new one anew
def texts(max_repeat: int = 1) -> st.SearchStrategy[str]:
    """Non-blank text rich in quotes, backslashes, line breaks, emoji, combining marks, RTL."""
    piece = st.one_of(st.sampled_from(TRICKY), st.text(ANY_CHARACTER, max_size=6))
    mixed = st.lists(piece, min_size=1, max_size=12).map("".join)
    plain = st.text(ANY_CHARACTER, min_size=1, max_size=60)
    options = [mixed, plain]
    if max_repeat > 1:
        options.append(st.builds(lambda piece, n: piece * n, mixed, st.integers(2, max_repeat)))
    return st.one_of(*options).filter(lambda text: text.strip() != "")


class _Counterexample(Exception):
    """The property's own failure: anything else an example raised is the provider's."""


def find_minimal(
    example: st.SearchStrategy[Any], problem_with: Callable[[Any], str | None], max_examples: int | None = None
) -> tuple[Any, str] | None:
    """The minimal example for which ``problem_with`` reports a problem, or None.

    ``max_examples`` caps the profile's number of examples, for properties where a few
    examples already tell (the profile's own smaller number still wins). Hypothesis replays
    the shrunk example last, so the last failure seen is the minimal one.
    """
    last: dict[str, tuple[Any, str]] = {}
    chosen = kit_settings()
    if max_examples is not None and max_examples < chosen.max_examples:
        chosen = settings(chosen, max_examples=max_examples)

    @chosen
    @given(example)
    def holds(value: Any) -> None:
        problem = problem_with(value)
        if problem:
            last["failure"] = (value, problem)
            raise _Counterexample(problem)

    try:
        holds()
    except _Counterexample:  # not AssertionError: an ``assert`` in the provider's code raises that
        return last["failure"]
    return None


MULTIBYTE_CUTS = "cuts inside multi-byte UTF-8 characters"


def cut_points(body: bytes) -> dict[str, list[int]]:
    """Named, deterministic ways to cut ``body`` into network reads."""
    size = len(body)
    cases = {"1-byte pieces": list(range(1, size))}
    inside_chars = [i for i in range(1, size) if 0x80 <= body[i] <= 0xBF]
    if inside_chars:
        cases[MULTIBYTE_CUTS] = inside_chars
    inside_crlf = [m.start() + 1 for m in re.finditer(rb"\r\n", body)]
    if inside_crlf:
        cases["cuts inside \\r\\n"] = inside_crlf
    data_lines = [m.start() for m in re.finditer(rb"(?m)^data:", body)]
    if data_lines:
        cases["cuts inside data: lines"] = sorted({p + d for p in data_lines for d in (2, 5, 9)} & set(range(1, size)))
    return cases


def run_property(body: bytes, problem_with: Callable[[list[int]], str | None]) -> str | None:
    """Hypothesis-chosen cut points; the minimal failing set, described, or None."""
    if len(body) < 2:
        return None
    cuts = st.lists(st.integers(1, len(body) - 1), min_size=1, max_size=8, unique=True).map(sorted)
    found = find_minimal(cuts, problem_with)
    if found is None:
        return None
    minimal, problem = found
    where = ", ".join(f"{c} ({body[max(0, c - 6) : c]!r}|{body[c : c + 6]!r})" for c in minimal)
    return f"minimal counter-example: cut the body at {where}: {problem}"


Conversation = list[tuple[str, str]]
_PADDING = [" ", "  ", "\n", "\t", "\r\n", "\u00a0", "\u3000"]
_LONG = 30
_VERY_LONG = 160  # turns of about 800 characters: 128 KB in all

# Shapes a provider may treat specially, each tried by name before hypothesis draws more.
SHAPES: dict[str, Conversation] = {
    "no system message": [("user", "Name a colour."), ("assistant", "Blue."), ("user", "Another one.")],
    "one message": [("user", "Hi.")],
    "system message not first": [("user", "Hi."), ("system", "Be terse."), ("user", "Name a colour.")],
    "two system messages": [("system", "Be terse."), ("system", "Answer in French."), ("user", "Hi.")],
    "content with surrounding whitespace": [("system", "  Be terse.\n"), ("user", "\tHi. \r\n")],
    "unusual Unicode": [("system", "e\u0301\u200f\u2028"), ("user", "👩‍👩‍👧 שלום 日本語\u00a0ß")],
    # Drawn conversations almost never repeat a message, nor hold one this long; agents do
    # ("Continue."; a tool's output, a pasted document).
    "a long message": [("user", "".join(f"log line {i:04d}: status=ok\n" for i in range(1000)))],
    "a repeated message": [("user", "Continue."), ("user", "Continue."), ("assistant", "Done."), ("user", "Continue.")],
    "long history": [("system", "Be terse.")]
    + [(("user", "assistant")[i % 2], f"turn {i}") for i in range(_LONG)]
    + [("user", "Last.")],
    # Beyond any "keep the last N turns" or character budget a provider may trim to silently:
    # LAIOS budgets the context itself (count_tokens), and must get what it sent.
    "a very long history": [("system", "Be terse.")]
    + [(("user", "assistant")[i % 2], f"turn {i}: " + "notes on the plan, " * 40) for i in range(_VERY_LONG)]
    + [("user", "Last.")],
}


# Built once: strategies built afresh inside every draw cost more than the calls they feed.
_PADDED = st.tuples(st.sampled_from(_PADDING), texts(), st.sampled_from(_PADDING)).map("".join)
_TURN = st.tuples(st.sampled_from(("system", "user", "assistant")), st.one_of(texts(max_repeat=400), _PADDED))
_SHORT_TEXT = texts()


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    """Conversations of every shape: any roles in any order (system messages anywhere, or
    none, or several), one message to long histories, content padded with whitespace or
    rich in quotes, emoji, combining marks and right-to-left text (messages up to ~20 KB)."""
    if draw(st.integers(0, 4)) == 0:  # a long history of short turns
        size, piece = draw(st.integers(10, 2 * _LONG)), draw(st.text(ANY_CHARACTER, min_size=1, max_size=12))
        turns = [(("user", "assistant")[i % 2], f"{piece} {i}") for i in range(size)]
        return turns + [("user", draw(_SHORT_TEXT))]
    return draw(st.lists(_TURN, min_size=1, max_size=5))
