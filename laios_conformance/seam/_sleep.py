"""A clock that does not sleep: providers back off between retries, the suite must not wait."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any


class SleepLog:
    """The sleeps a provider asked for while :func:`virtual_sleep` was active."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    @property
    def total(self) -> float:
        return sum(self.calls)


@contextlib.contextmanager
def virtual_sleep() -> Iterator[SleepLog]:
    """Make ``time.sleep`` return at once, recording the delay asked for.

    Official SDKs back off between retries; injected faults must not make the suite
    sleep through that backoff on a real clock.
    """
    log = SleepLog()
    real_sleep = time.sleep

    def fake_sleep(seconds: Any) -> None:
        log.calls.append(float(seconds))

    time.sleep = fake_sleep
    try:
        yield log
    finally:
        time.sleep = real_sleep
