"""Record cassettes for a provider against the loopback :class:`FakeAPI`.

Runs the kit exactly as a provider author would (``--record-mode=once``), with the
provider's ``base_url`` pointed at the fake API, then rewrites the recorded URLs to the
real API's base so that the provider replays with its default settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_kit(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m pytest <args>`` in a subprocess, with the repo importable and CI unset."""
    environment = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def record(
    target: str | Sequence[str],
    kwargs: dict[str, object],
    fake_url: str,
    real_base: str,
    cassette_dir: Path,
    cwd: Path,
    extra_args: list[str] | None = None,
) -> subprocess.CompletedProcess:
    """Record every cassette ``target`` needs into ``cassette_dir``; URLs rewritten to ``real_base``.

    Only the clauses that replay a cassette (``-m vcr``) run: the others need no recording.
    Several targets (each given ``kwargs``) are recorded in one kit run.
    """
    targets = [target] if isinstance(target, str) else list(target)
    providers = [
        arg for t in targets for arg in (f"--laios-provider={t}", f"--laios-provider-kwargs={json.dumps(kwargs)}")
    ]
    result = run_kit(
        [
            *providers,
            "--record-mode=once",
            f"--laios-cassette-dir={cassette_dir}",
            "-m",
            "vcr",
            *(extra_args or []),
        ],
        cwd=cwd,
    )
    for path in cassette_dir.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if fake_url in text:
            path.write_text(text.replace(fake_url, real_base), encoding="utf-8")
    return result
