"""Which folder a provider's cassettes are read from: the user's own, else the ones its package ships.

A package may ship recorded cassettes for its providers as package data: a ``cassettes/``
folder beside the provider's module, one subfolder per provider class (the reference
providers ship theirs in ``reference_providers/cassettes/``). That is how an installed kit
judges a reference provider from any directory, with no checkout around.

The user's folder always wins: it is used whenever a cassette dir was named
(``--laios-cassette-dir`` or the ini key), whenever it holds a subfolder for the provider
class, and whenever the run records (nothing is ever written into an installed package).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SHIPPED = "cassettes"


def shipped_cassette_dir(factory: Any, class_name: str) -> Path | None:
    """``<folder of the factory's module>/cassettes/<class_name>``, if that folder exists."""
    module = sys.modules.get(getattr(factory, "__module__", None) or "")
    module_file = getattr(module, "__file__", None)
    if not module_file:
        return None
    candidate = Path(module_file).resolve().parent / SHIPPED / class_name
    return candidate if candidate.is_dir() else None


def cassette_dir(root: Path, factory: Any, class_name: str, *, named: bool, recording: bool) -> Path:
    """Where the cassettes of the provider built by ``factory`` (class ``class_name``) are.

    ``root`` is the user's cassette root; ``named`` says the user chose it explicitly.
    """
    own = root / class_name
    if named or recording or own.is_dir():
        return own
    return shipped_cassette_dir(factory, class_name) or own
