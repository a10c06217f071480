"""A clock that does not sleep: providers back off between retries, the suite must not wait."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

# The clocks a provider reads to tell how long it has waited: they move on by every
# skipped sleep, so a retry loop bounded by a deadline ends after as many attempts as on
# a real clock, instead of spinning until the deadline passes in real time.
_CLOCKS = ("monotonic", "time", "perf_counter")
_ASYNC_SLEEP = "asyncio.sleep"
# Where ``asyncio.sleep`` is looked up, besides the provider's modules: asyncio itself, and
# anyio's asyncio backend (which bound it by name), whose ``anyio.sleep`` the official
# SDKs' async clients back off with.
_ASYNC_SLEEP_HOLDERS = ("asyncio", "asyncio.tasks", "anyio._backends._asyncio")


class SleepLog:
    """The sleeps a provider asked for while :func:`virtual_sleep` was active."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.total = 0.0
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self.calls.append(seconds)
            self.total += seconds


@contextlib.contextmanager
def virtual_sleep(modules: Iterable[ModuleType] = ()) -> Iterator[SleepLog]:
    """Make ``time.sleep`` and ``asyncio.sleep`` return at once, recording the delay asked
    for, and move ``time.monotonic``, ``time.time`` and ``time.perf_counter`` (and their
    ``_ns`` twins) on by it; an event loop's clock (``time.monotonic``) moves on with them.

    Official SDKs back off between retries; injected faults must not make the suite
    sleep through that backoff on a real clock. Code that bound these functions at import
    (``from time import sleep``) keeps the real ones, except in ``modules`` (the
    provider's own): the standard library's (``threading``, ``queue``) keep real time.
    """
    log = SleepLog()
    real = {name: getattr(time, name) for name in ("sleep", *_CLOCKS, *(f"{c}_ns" for c in _CLOCKS))}
    fake: dict[str, Any] = {"sleep": lambda seconds: log.add(float(seconds))}
    for name in _CLOCKS:
        fake[name] = _ahead(real[name], log)
        fake[f"{name}_ns"] = _ahead_ns(real[f"{name}_ns"], log)
    swaps = [(time, name, name) for name in real]
    real[_ASYNC_SLEEP] = _REAL_ASYNC_SLEEP
    fake[_ASYNC_SLEEP] = _async_sleep_logged(log)
    if "anyio" in sys.modules:  # its backend is imported on first use, maybe inside the block
        importlib.import_module("anyio._backends._asyncio")
    holders = [sys.modules[name] for name in _ASYNC_SLEEP_HOLDERS if name in sys.modules]
    swaps += [(m, "sleep", _ASYNC_SLEEP) for m in holders if vars(m).get("sleep") is _REAL_ASYNC_SLEEP]
    swaps += [(module, name, attribute) for module in modules for name, attribute in _bound_from_time(module, real)]
    for owner, name, attribute in swaps:
        setattr(owner, name, fake[attribute])
    try:
        yield log
    finally:
        for owner, name, attribute in swaps:
            setattr(owner, name, real[attribute])


_REAL_ASYNC_SLEEP = asyncio.sleep


def _async_sleep_logged(log: SleepLog) -> Callable[..., Any]:
    async def sleep(delay: float, result: Any = None) -> Any:
        # anyio waits forever with sleep(math.inf): that must stay a wait, not move the clocks.
        if 0 < delay < math.inf:
            log.add(float(delay))
            delay = 0
        return await _REAL_ASYNC_SLEEP(delay, result)

    return sleep


# module name -> (the module, how many globals it had, what _bound_from_time found then).
# Failure-injecting clauses enter a virtual-time block for every call they make; a module
# is scanned again only when its globals were added or removed since.
_found: dict[str, tuple[ModuleType, int, list[tuple[str, str]]]] = {}


def _bound_from_time(module: ModuleType, real: dict[str, Any]) -> list[tuple[str, str]]:
    """``(global name, time function)`` for each of ``real`` a module bound by name."""
    namespace = vars(module)
    cached = _found.get(module.__name__)
    if cached is not None and cached[0] is module and cached[1] == len(namespace):
        return [(name, attribute) for name, attribute in cached[2] if namespace.get(name) is real[attribute]]
    by_identity = {id(function): attribute for attribute, function in real.items()}
    found = [
        (name, by_identity[id(value)])
        for name, value in list(namespace.items())
        if id(value) in by_identity and value is real[by_identity[id(value)]]
    ]
    _found[module.__name__] = (module, len(namespace), found)
    return found


def _ahead(clock: Callable[[], float], log: SleepLog) -> Callable[[], float]:
    return lambda: clock() + log.total


def _ahead_ns(clock: Callable[[], int], log: SleepLog) -> Callable[[], int]:
    return lambda: clock() + int(log.total * 1_000_000_000)
