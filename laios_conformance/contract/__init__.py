"""The contract suite: one test function per clause, grouped by subject.

Read a module top to bottom to learn what the kit expects of a provider; each clause's
docstring says what it checks, why, and how to fix a failure.

The imports below are the contract's table of contents: they register every clause
(:mod:`laios_conformance.clauses`), and their order is the order a reader meets the
subjects in, which is also the order the suite runs and the verdict lists them: what a
provider returns, how it fails, how it behaves under a router and a breaker, how it
streams, fidelity, what an answer says about itself (usage), secrets, the cassettes.
"""

from __future__ import annotations

from pathlib import Path

from ..clauses import Clause, registered

# The order below is the contract's reading order, not the alphabet.
# isort: off
from . import (  # noqa: F401  (imported to register their clauses)
    test_responses,
    test_failures,
    test_routing,
    test_circuit_breaker,
    test_streaming,
    test_fidelity,
    test_usage,
    test_secrets,
    test_cassettes,
)

# isort: on

__all__ = ["CONTRACT_DIR", "catalogue"]

CONTRACT_DIR = Path(__file__).parent


def catalogue() -> list[Clause]:
    """Every clause of the bundled contract, by subject, then in source order."""
    return [c for c in registered() if c.module.startswith(f"{__name__}.")]
