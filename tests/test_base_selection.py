"""Which family of LAIOS classes ``laios_conformance.base`` picks, and the package exports.

The real-``laios`` cases run in a ``python -c`` subprocess with a fake ``laios`` tree on
``PYTHONPATH``: that leaves this process's ``sys.modules`` untouched for other tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import laios_conformance
import laios_conformance.base as base
from laios_conformance.base import breaker, client, router

REPO_ROOT = Path(__file__).resolve().parents[1]

EXPORTS = [
    "CircuitBreaker",
    "CircuitBreakerError",
    "CircuitState",
    "LLMClient",
    "LLMMessage",
    "LLMResponse",
    "LLMRouter",
    "__version__",
]

CLASS_NAMES = [name for name in EXPORTS if name != "__version__"]

FAKE_LAIOS: dict[str, str] = {
    "laios/__init__.py": "",
    "laios/llm/__init__.py": "",
    "laios/llm/client.py": """
        class LLMClient: FAKE = True
        class LLMMessage: FAKE = True
        class LLMResponse: FAKE = True
    """,
    "laios/llm/router.py": "class LLMRouter: FAKE = True\n",
    "laios/hardening/__init__.py": "",
    "laios/hardening/circuit_breaker.py": """
        class CircuitBreaker: FAKE = True
        class CircuitBreakerError(Exception): FAKE = True
        class CircuitState: FAKE = True
    """,
}

# Reports where base and the package's top-level names got each class from.
PROBE = textwrap.dedent(
    """
    import json
    import laios_conformance
    import laios_conformance.base as base
    names = {names!r}
    print(json.dumps({{
        "source": base.BASE_SOURCE,
        "base": {{n: getattr(base, n).__module__ for n in names}},
        "top": {{n: getattr(laios_conformance, n).__module__ for n in names}},
    }}))
    """
).format(names=CLASS_NAMES)


def write_tree(root: Path, files: dict[str, str]) -> None:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


def probe_with(extra_path: Path) -> dict:
    """Run :data:`PROBE` in a fresh interpreter with ``extra_path`` ahead of the repo."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(extra_path), str(REPO_ROOT)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=str(extra_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(importlib.util.find_spec("laios") is not None, reason="a real laios package is installed")
def test_without_laios_the_kit_uses_its_own_classes() -> None:
    assert base.BASE_SOURCE == "laios_conformance"
    from laios_conformance import (
        CircuitBreaker,
        CircuitBreakerError,
        CircuitState,
        LLMClient,
        LLMMessage,
        LLMResponse,
        LLMRouter,
    )

    assert (LLMClient, LLMMessage, LLMResponse) == (
        client.LLMClient,
        client.LLMMessage,
        client.LLMResponse,
    )
    assert LLMRouter is router.LLMRouter
    assert (CircuitBreaker, CircuitBreakerError, CircuitState) == (
        breaker.CircuitBreaker,
        breaker.CircuitBreakerError,
        breaker.CircuitState,
    )


def test_with_laios_importable_its_classes_are_used(tmp_path: Path) -> None:
    write_tree(tmp_path, FAKE_LAIOS)
    report = probe_with(tmp_path)
    assert report["source"] == "laios"
    expected = {
        "LLMClient": "laios.llm.client",
        "LLMMessage": "laios.llm.client",
        "LLMResponse": "laios.llm.client",
        "LLMRouter": "laios.llm.router",
        "CircuitBreaker": "laios.hardening.circuit_breaker",
        "CircuitBreakerError": "laios.hardening.circuit_breaker",
        "CircuitState": "laios.hardening.circuit_breaker",
    }
    assert report["base"] == expected
    assert report["top"] == expected


def test_incomplete_laios_falls_back_to_the_kit_entirely(tmp_path: Path) -> None:
    partial = {k: v for k, v in FAKE_LAIOS.items() if not k.startswith("laios/hardening")}
    write_tree(tmp_path, partial)
    report = probe_with(tmp_path)
    assert report["source"] == "laios_conformance"
    assert all(module.startswith("laios_conformance.base.") for module in report["base"].values())


def test_package_exports_exactly_its_all() -> None:
    assert laios_conformance.__all__ == EXPORTS
    assert dir(laios_conformance) == sorted(EXPORTS)
    namespace: dict = {}
    exec("from laios_conformance import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(EXPORTS)
    for name in CLASS_NAMES:
        assert getattr(laios_conformance, name) is getattr(base, name)


def test_unknown_top_level_name_is_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        laios_conformance.nope  # noqa: B018  # the attribute access is what is tested


def test_base_all_lists_the_source_and_classes() -> None:
    assert sorted(base.__all__) == sorted(["BASE_SOURCE", *CLASS_NAMES])
