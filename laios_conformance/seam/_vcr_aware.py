"""Staying above vcrpy while it patches and unpatches, in any thread.

vcrpy replaces the stacks' connection classes and httpx's transport methods while a
cassette is open, and each time it builds or connects a real ``http.client`` connection
(``vcr.patch.force_reset``) it puts every original back for a moment, for the whole
process. With another thread sending ``urllib`` requests inside a cassette, those
moments cover most of the time. A seam installed on any of those attributes would vanish
for every other thread meanwhile, so the seam sits only on attributes vcrpy never touches.

The replaying classes and methods the seam calls upstream are read with
:class:`Replaying`, under the lock that :func:`resets_announced` makes vcrpy hold for
each such moment: a read never sees the originals vcrpy put back for a moment.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

_RESETTING = threading.RLock()
_pause = time.sleep  # the real one: clauses replace time.sleep while they run
_LONGEST_RESET = 1.0  # seconds; a reset lasts as long as building one connection


def pristine(name: str) -> Any:
    """The original that ``vcr.patch`` saved under ``name``, or None when vcrpy is not loaded."""
    return getattr(sys.modules.get("vcr.patch"), name, None)


@contextlib.contextmanager
def resets_announced() -> Iterator[None]:
    """While the block runs, each of vcrpy's momentary resets holds ``_RESETTING``.

    vcrpy's stubs look ``vcr.patch.force_reset`` up each time they use it, so a wrapper
    placed there is used by every thread.
    """
    patch: Any = sys.modules.get("vcr.patch")
    real = getattr(patch, "force_reset", None)
    if patch is None or real is None:
        yield
        return

    @contextlib.contextmanager
    def force_reset() -> Iterator[None]:
        with _RESETTING, real():
            yield

    patch.force_reset = force_reset
    try:
        yield
    finally:
        patch.force_reset = real


def cassette_open() -> bool:
    """Whether a vcrpy cassette is open: its wrapper of urllib3's ``_get_conn``, never reset, is in place."""
    pool_module = sys.modules.get("urllib3.connectionpool")
    if pool_module is None:
        return False
    return hasattr(pool_module.HTTPConnectionPool.__dict__.get("_get_conn"), "__wrapped__")


class Replaying:
    """An attribute vcrpy patches, read as vcrpy has it while its cassette is open."""

    def __init__(self, owner: Any, name: str, original_name: str) -> None:
        self.owner, self.name = owner, name
        self.original = pristine(original_name)

    def _read(self) -> Any:
        with _RESETTING:
            return self.owner.__dict__[self.name] if isinstance(self.owner, type) else getattr(self.owner, self.name)

    def current(self) -> Any:
        value = self._read()
        if value is not self.original or self.original is None or not cassette_open():
            return value
        # A reset that began before resets_announced() was entered: wait for its end.
        deadline = time.monotonic() + _LONGEST_RESET
        while value is self.original and cassette_open() and time.monotonic() < deadline:
            _pause(0.0001)
            value = self._read()
        return value
