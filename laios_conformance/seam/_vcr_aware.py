"""Staying above vcrpy while it patches and unpatches, in any thread.

vcrpy replaces the stacks' connection classes and httpx's transport methods while a
cassette is open, and each time it builds or connects a real ``http.client`` connection
(``vcr.patch.force_reset``) it puts every original back for a moment, for the whole
process. With another thread sending ``urllib`` requests inside a cassette, those
moments cover most of the time. A seam installed on any of those attributes would vanish
for every other thread meanwhile, so the seam sits only on attributes vcrpy never touches.

The replaying classes and methods the seam calls upstream are read with
:class:`Replaying`, under the lock that :func:`resets_serialised` makes vcrpy hold for
each such moment: a read never sees the originals vcrpy put back for a moment.

A cassette opened or closed during one of those moments leaves vcrpy's patches wrong:
closed, and the moment's end puts the closed cassette's classes back, so the next
cassette's requests are answered from the closed one's recordings (and its own are
"not replayed"). Under :func:`resets_serialised` a cassette opens and closes only
between such moments.
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
def resets_serialised() -> Iterator[None]:
    """While the block runs, each of vcrpy's momentary resets holds ``_RESETTING``, and so
    does each opening and closing of a cassette (each waiting ``_LONGEST_RESET`` at most).
    Nested blocks add nothing."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(wrapped_once(sys.modules.get("vcr.patch"), "force_reset", _resetting_force_reset))
        decorator = getattr(sys.modules.get("vcr.cassette"), "CassetteContextDecorator", None)
        for name in ("__enter__", "__exit__"):
            stack.enter_context(wrapped_once(decorator, name, _serialised_method))
        yield


@contextlib.contextmanager
def wrapped_once(owner: Any, name: str, wrap: Any) -> Iterator[None]:
    """``owner.name`` replaced by ``wrap(original)`` until the block ends; an inner block
    finding it already wrapped leaves it (as does a missing owner or attribute)."""
    original = None if owner is None else vars(owner).get(name)
    if original is None or getattr(original, "_laios_wrapped", False):
        yield
        return
    wrapper = wrap(original)
    wrapper._laios_wrapped = True
    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _resetting_force_reset(real: Any) -> Any:
    """vcrpy's stubs look ``vcr.patch.force_reset`` up each time they use it, so this
    wrapper placed there is used by every thread."""

    @contextlib.contextmanager
    def force_reset() -> Iterator[None]:
        with _between_resets(), real():
            yield

    return force_reset


def _serialised_method(method: Any) -> Any:
    def serialised(self: Any, *args: Any) -> Any:
        with _between_resets():
            return method(self, *args)

    return serialised


@contextlib.contextmanager
def _between_resets() -> Iterator[None]:
    """Holds ``_RESETTING``, once no other thread's reset is under way; after waiting
    ``_LONGEST_RESET`` goes on without it. While recording, a reset lasts as long as a real
    connect, and a provider's connect without a timeout must not hang the run."""
    acquired = _RESETTING.acquire(timeout=_LONGEST_RESET)
    try:
        yield
    finally:
        if acquired:
            _RESETTING.release()


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
        with _between_resets():
            return self.owner.__dict__[self.name] if isinstance(self.owner, type) else getattr(self.owner, self.name)

    def current(self) -> Any:
        value = self._read()
        if value is not self.original or self.original is None or not cassette_open():
            return value
        # A reset that began before resets_serialised() was entered: wait for its end.
        deadline = time.monotonic() + _LONGEST_RESET
        while value is self.original and cassette_open() and time.monotonic() < deadline:
            _pause(0.0001)
            value = self._read()
        return value
