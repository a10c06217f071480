"""Staying above vcrpy while it patches and unpatches, in any thread.

vcrpy replaces the stacks' connection classes and httpx's transport methods while a
cassette is open, and, each time it builds or connects a real ``http.client`` connection
(``vcr.patch.force_reset``), puts every original back for a moment, for the whole
process. A seam installed on any of those attributes vanishes for every other thread
during that moment. So the seam is installed only on attributes vcrpy never touches, and
the upstream it calls is the one vcrpy installed, remembered the first time it is seen:
a momentary reset in another thread cannot divert a request to the real network.
"""

from __future__ import annotations

import sys
from typing import Any


def pristine(name: str) -> Any:
    """The original that ``vcr.patch`` saved under ``name``, or None when vcrpy is not loaded."""
    return getattr(sys.modules.get("vcr.patch"), name, None)


class Remembered:
    """An attribute vcrpy may patch, read so that a momentary reset does not count.

    ``current()`` returns what is installed now, unless that is vcrpy's saved original
    while vcrpy's replacement has been seen since the seam was entered: then it returns
    the replacement (vcrpy is only resetting it for a moment, in some other thread).
    """

    def __init__(self, owner: Any, name: str, original_name: str) -> None:
        self.owner, self.name = owner, name
        self.original = pristine(original_name)
        self.known: Any = None
        self.current()

    def current(self) -> Any:
        value = self.owner.__dict__[self.name] if isinstance(self.owner, type) else getattr(self.owner, self.name)
        if value is self.original and self.known is not None:
            return self.known
        if self.original is not None and value is not self.original:
            self.known = value
        return value
