"""The provider that "Writing a provider" builds passes the whole contract.

Its ``<!-- save-as: mini_chat.py -->`` block is written to a temporary folder and judged by
the kit with ``--laios-strict``, replaying the OpenAIClient reference cassettes (it sends
exactly what OpenAIClient sends for gpt-4o-mini).
"""

from __future__ import annotations

from laios_conformance.contract import catalogue
from tests.conftest import load_verdict

from .conftest import EXAMPLE_TARGET, saved_modules


def test_the_guide_saves_the_example_provider() -> None:
    assert "mini_chat.py" in saved_modules()
    assert f"class {EXAMPLE_TARGET.split(':')[1]}(" in saved_modules()["mini_chat.py"]


def test_example_provider_passes_every_clause(doc_jobs) -> None:
    ran = doc_jobs.example_provider().result()
    assert ran.returncode == 0, ran.explain()
    verdict = load_verdict(ran.outputs[0])
    assert verdict["verdict"] == "passed" and verdict["complete"]
    clauses = verdict["providers"][0]["clauses"]
    assert set(clauses) == {c.id for c in catalogue()}
    bad = {cid: c for cid, c in clauses.items() if c["status"] in ("failed", "error")}
    assert not bad, bad
