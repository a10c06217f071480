"""The kit's hypothesis profiles: deterministic on CI, never overriding the user's own."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
from hypothesis import settings
settings.register_profile("laios-dev", max_examples=3)
from laios_conformance.contract._hypothesis import kit_settings
chosen = kit_settings()
print(chosen.max_examples, chosen.derandomize, chosen.database)
"""


def run(ci: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_ci_uses_the_derandomized_profile() -> None:
    assert run(ci=True) == "25 True None"


def test_a_user_profile_of_the_same_name_wins() -> None:
    assert run(ci=False).split()[0] == "3"


def test_the_kit_draws_from_the_alphabet_st_text_uses_by_default() -> None:
    """Spelled out so that Hypothesis need not encode every code point to derive it."""
    from hypothesis import strategies as st
    from hypothesis.strategies._internal.lazy import unwrap_strategies

    from laios_conformance.contract._hypothesis import ANY_CHARACTER

    default = unwrap_strategies(st.characters(codec="utf-8"))
    assert unwrap_strategies(ANY_CHARACTER).intervals == default.intervals
