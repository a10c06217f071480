"""``lint``: secrets in cassette files, and cassettes that no clause replays."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from .._redact import redact
from ..cassettes.lint import CASSETTE_SUFFIXES, Finding, lint_within
from ..loading import declared_secrets
from . import UsageError


def run_lint(
    paths: Sequence[str], providers: Sequence[str], kwargs_json: str | None, max_size_mb: str | None = None
) -> int:
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"lint: no such file or directory: {missing[0]}")
    from .probe import ProviderEndedProcess

    findings = _linted(paths, max_size_mb)
    secrets = declared_secrets([kwargs_json])
    ended = None
    try:
        findings += unused_cassettes(paths, provider_class_names(providers, kwargs_json))
    except ProviderEndedProcess as error:  # the secrets are still reported, and lint fails
        ended = f"lint: {error}; unused cassettes were not looked for"
    for finding in findings:
        print(redact(str(finding), secrets))
    if ended:
        print(ended, file=sys.stderr)
    return 1 if findings or ended else 0


def _linted(paths: Sequence[str], max_size_mb: str | None) -> list[Finding]:
    try:
        return lint_within(paths, max_size_mb)
    except ValueError as problem:
        raise UsageError(f"lint: {problem}") from None


def provider_class_names(targets: Sequence[str], kwargs_json: str | None) -> list[str]:
    """The class each target builds (its cassettes live in ``<dir>/<ClassName>/``)."""
    if not targets:
        return []
    from .._guards import DEFAULT_CALL_TIMEOUT
    from ..loading import ProviderLoadError, load_provider, make_canary_key
    from .probe import validate_in_child

    # In a child process: a provider that ends the process must not end lint with status 0.
    kwargs = [kwargs_json] if kwargs_json is not None else []
    request = {"targets": list(targets), "kwargs": kwargs, "secret_names": [], "secret_env": []}
    class_names = validate_in_child({**request, "call_timeout": DEFAULT_CALL_TIMEOUT})
    if class_names is not None:
        return class_names
    canary = make_canary_key()  # a module the child could not find: the same error, said here
    try:
        return [load_provider(target, kwargs_json, canary).class_name for target in targets]
    except ProviderLoadError as error:
        raise UsageError(str(error)) from None


def unused_cassettes(paths: Iterable[str], class_names: Sequence[str]) -> list[Finding]:
    """Findings of kind ``unused``: cassette files of these providers that no clause replays."""
    if not class_names:
        return []
    from .catalog import cassette_clause_ids

    used = cassette_clause_ids()
    findings = []
    for folder in _provider_folders(paths, class_names):
        for file in sorted(folder.iterdir()):
            if file.is_file() and file.name.endswith(CASSETTE_SUFFIXES) and _stem(file.name) not in used:
                findings.append(
                    Finding(file, "file", "unused", f"no clause replays a cassette named {_stem(file.name)!r}")
                )
    return findings


def _provider_folders(paths: Iterable[str], class_names: Sequence[str]) -> list[Path]:
    folders: list[Path] = []
    seen: set[Path] = set()
    for path in map(Path, paths):
        candidates = [path] if path.name in class_names else [path / name for name in class_names]
        for folder in candidates:
            if folder.is_dir() and folder.resolve() not in seen:
                seen.add(folder.resolve())
                folders.append(folder)
    return folders


def _stem(name: str) -> str:
    return next(name[: -len(s)] for s in CASSETTE_SUFFIXES if name.endswith(s))
