"""What the session does to survive a hostile provider: settings checked before anything runs,
the kit's own output redacted, and an exit that does not wait for threads a provider left
running.

Kept apart from :mod:`laios_conformance.session` so that the session reads as call sites.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ._paths import PathError, check_output_dir, check_output_files, check_replay_dir
from ._redact import RedactingFilter, RedactingFormatter, redact, redactable
from ._watchdog import abandoned_calls, describe_threads, stray_threads
from .cassettes.limits import max_cassette_bytes
from .loading import INI_SUFFIX, Flags, parse_secret_names

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "check_paths",
    "exit_past",
    "install_redaction",
    "read_call_timeout",
    "read_secret_env",
    "read_secret_names",
    "redact_warning",
    "spelled_flags",
    "unfinished_work",
]

DEFAULT_CALL_TIMEOUT = 60.0
_KIT_LOGGER = "laios_conformance"
_LOG_HANDLERS = ("caplog_handler", "report_handler", "log_cli_handler", "log_file_handler")


def read_call_timeout(config: pytest.Config) -> float | None:
    """``--laios-call-timeout`` (or its ini key) in seconds; ``None`` for no limit."""
    text = config.getoption("laios_call_timeout") or config.getini("laios_call_timeout") or DEFAULT_CALL_TIMEOUT
    named = spelled_flags(config).call_timeout
    try:
        return call_timeout_seconds(str(text)) or None
    except ValueError as problem:
        raise pytest.UsageError(f"{named} {text!r} {problem}") from None


def call_timeout_seconds(text: str) -> float:
    """``text`` as a call timeout in seconds, 0 for no limit; ValueError saying what is wrong with it.

    Capped at the longest wait a thread can make (``threading.TIMEOUT_MAX``, about 292 years):
    a longer one, or ``inf``, overflows the clock where the kit waits on the provider's code.
    """
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError("is not a number of seconds; e.g. --laios-call-timeout=60 (0: no limit)") from None
    if not 0 <= seconds <= threading.TIMEOUT_MAX:  # nan too
        raise ValueError(f"must be 0 (no limit) or a positive number of seconds up to {threading.TIMEOUT_MAX:.0f}")
    return seconds


def spelled_flags(config: pytest.Config) -> Flags:
    """How the user gave each provider setting: its option, or its ini key when only the ini set it."""

    def named(dest: str, option: str, default: str = "") -> str:
        if config.getoption(dest) or config.getini(dest) in ("", [], default):
            return option
        return f"{dest}{INI_SUFFIX}"

    return Flags(
        target=named("laios_provider", "--laios-provider"),
        kwargs=named("laios_provider_kwargs", "--laios-provider-kwargs"),
        secret_env=named("laios_secret_env", "--laios-secret-env"),
        call_timeout=named("laios_call_timeout", "--laios-call-timeout", default="60"),  # the ini's default
        secret_kwargs=named("laios_secret_kwargs", "--laios-secret-kwargs"),
    )


def read_flag(config: pytest.Config, name: str) -> bool:
    """``--laios-strict``-like option ``name`` (its dest), or its ini key of the same name."""
    if config.getoption(name):
        return True
    try:
        return bool(config.getini(name))
    # pytest's own words, "invalid truth value 'maybe'": a ValueError, a UsageError from pytest 9.2
    except (ValueError, pytest.UsageError) as error:
        raise pytest.UsageError(f"{name} (ini): {error}; write {name} = true or {name} = false") from None


def read_secret_names(config: pytest.Config) -> tuple[str, ...]:
    return parse_secret_names(config.getoption("laios_secret_kwargs") or config.getini("laios_secret_kwargs"))


def read_secret_env(config: pytest.Config) -> tuple[str, ...]:
    return parse_secret_names(config.getoption("laios_secret_env") or config.getini("laios_secret_env"))


def check_paths(config: pytest.Config, cassette_root: Path, recording: bool) -> None:
    """Every path the run will write, and a cassette folder the user named for replay,
    checked now: one usage-error line instead of a late traceback, or of one "cassette not
    found" per clause for a mistyped folder."""
    files = [("--laios-report", config.getoption("laios_report")), ("--junitxml", config.getoption("xmlpath", None))]
    named = _named_cassette_dir(config)
    try:
        if not hasattr(config, "workerinput"):
            check_output_files(files)
        if recording:
            check_output_dir("--laios-cassette-dir (recording)", cassette_root)
        elif named:
            check_replay_dir(named, cassette_root)
    except PathError as error:
        raise pytest.UsageError(str(error)) from None
    try:
        max_cassette_bytes()
    except ValueError as problem:  # else every clause that reads a cassette errors on it
        raise pytest.UsageError(str(problem)) from None


def _named_cassette_dir(config: pytest.Config) -> str | None:
    """How the user named the cassette folder (the option, or the ini key), or None."""
    if config.getoption("laios_cassette_dir"):
        return "--laios-cassette-dir"
    return "laios_cassette_dir (ini)" if config.getini("laios_cassette_dir") else None


def install_redaction(config: pytest.Config, secrets: tuple[str, ...]) -> Callable[[], None]:
    """Redact the kit's log output for the run; returns what undoes it.

    pytest's log handlers get a redacting formatter (live logs, the log file, captured log
    sections); the kit's own loggers (the router's warning that quotes a provider's
    exception) get a filter, so that even Python's last-resort handler prints no key.
    """
    found = redactable(secrets)
    if not found:
        return lambda: None
    undo: list[Callable[[], None]] = []
    plugin = config.pluginmanager.get_plugin("logging-plugin")
    for name in _LOG_HANDLERS:
        handler = getattr(plugin, name, None)
        if isinstance(handler, logging.Handler):
            original = handler.formatter
            handler.setFormatter(RedactingFormatter(original, found))
            undo.append(functools.partial(handler.setFormatter, original))
    kit_filter = RedactingFilter(found)
    for logger in (logging.getLogger(_KIT_LOGGER), logging.getLogger(f"{_KIT_LOGGER}.base.router")):
        logger.addFilter(kit_filter)
        undo.append(functools.partial(logger.removeFilter, kit_filter))

    def undo_all() -> None:
        for step in reversed(undo):
            step()

    return undo_all


def redact_warning(warning_message: warnings.WarningMessage, secrets: tuple[str, ...]) -> None:
    """A warning the provider raised, as the warnings summary will print it."""
    text = str(warning_message.message)
    redacted = redact(text, secrets)
    if redacted != text:
        try:
            warning_message.message = type(warning_message.message)(redacted)
        except Exception:  # a warning class with its own constructor
            warning_message.message = UserWarning(redacted)


def unfinished_work(threads_before: set[int | None]) -> tuple[list[str], list[threading.Thread]]:
    """Lines naming the provider calls abandoned after the timeout and the non-daemon threads
    still alive (which would keep the process from exiting), and those threads."""
    lines = [
        f"abandoned {call.when}, still running: {call.what} in thread {call.thread.name!r}"
        for call in abandoned_calls()
    ]
    strays = stray_threads(threads_before)
    if strays:
        lines.append(
            f"provider thread(s) still running at the end of the run: {describe_threads(strays)}; "
            "the kit exits without waiting for them"
        )
    return lines, strays


def exit_past(threads: list[threading.Thread], exit_code: int) -> None:
    """When the process ends, do not wait for these non-daemon threads (a provider left them
    running): the verdict is written by then, and waiting would hang the run forever.

    Registered with ``threading``'s own exit hooks, which run before it joins such threads;
    in a process that goes on (pytest run in-process), nothing happens until it ends.
    """
    register: Any = getattr(threading, "_register_atexit", None)
    if register is None or not threads:
        return

    def leave() -> None:
        if any(thread.is_alive() for thread in threads):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(exit_code)

    with contextlib.suppress(RuntimeError):  # the interpreter is already shutting down
        register(leave)
