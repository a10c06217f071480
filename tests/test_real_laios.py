"""When the real ``laios`` package is importable, the suite judges against its classes.

A stand-in ``laios`` tree is written to a temporary directory: its circuit breaker takes
no ``clock`` argument (it reads ``time.monotonic`` like a typical implementation), so the
circuit-breaker clause must drive it through the kit's patched clock instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import GOOD, cassettes_for, load_verdict
from tests.support.recording import REPO, run_kit

BREAKER = """
import threading
import time
from enum import Enum


class CircuitState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreakerError(Exception):
    pass


class CircuitBreaker:
    def __init__(self, name, failure_threshold=5, recovery_timeout=30.0):
        self.name, self.failure_threshold, self.recovery_timeout = name, failure_threshold, recovery_timeout
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        self._failures, self._successes, self._opened_at = 0, 0, None

    @property
    def state(self):
        if self._opened_at is None:
            return CircuitState.CLOSED
        if time.monotonic() - self._opened_at >= self.recovery_timeout:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def call(self, fn, *args, **kwargs):
        if self.state is CircuitState.OPEN:
            raise CircuitBreakerError(f"circuit {self.name} is open")
        half_open = self.state is CircuitState.HALF_OPEN
        try:
            result = fn(*args, **kwargs)
        except Exception:
            with self._lock:
                self._failures += 1
                if half_open or self._failures >= self.failure_threshold:
                    self._opened_at = time.monotonic()
            raise
        with self._lock:
            self._failures, self._opened_at = 0, None
            self._successes += 1
        return result

    def get_stats(self):
        return {"name": self.name, "state": self.state.value, "failure_count": self._failures,
                "success_count": self._successes}
"""

TREE = {
    "laios/__init__.py": "",
    "laios/llm/__init__.py": "",
    "laios/llm/client.py": "from laios_conformance.base.client import LLMClient, LLMMessage, LLMResponse\n",
    "laios/llm/router.py": "from laios_conformance.base.router import LLMRouter\n",
    "laios/hardening/__init__.py": "",
    "laios/hardening/circuit_breaker.py": BREAKER,
}


def test_suite_judges_against_real_laios_classes(tmp_path: Path, good_cassettes: Path) -> None:
    tree = tmp_path / "site"
    for relative, text in TREE.items():
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text(text)
    report = tmp_path / "verdict.json"
    result = run_kit(
        [
            f"--laios-provider={GOOD}",
            f"--laios-cassette-dir={cassettes_for(good_cassettes, 'GoodOpenAIStyle')}",
            f"--laios-report={report}",
            "-k",
            "circuit_breaker or router_fallback or returns_response",
        ],
        cwd=tmp_path,
        env={"PYTHONPATH": os.pathsep.join([str(tree), str(REPO)])},
    )
    assert "judging against laios base classes" in result.stdout, result.stdout + result.stderr
    clauses = load_verdict(report)["providers"][0]["clauses"]
    assert {c: v["status"] for c, v in clauses.items() if v["status"] != "not-run"} == {
        "returns-response": "passed",
        "router-fallback": "passed",
        "circuit-breaker": "passed",
    }
