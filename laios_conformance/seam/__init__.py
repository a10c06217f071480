"""The one place the kit touches a provider's HTTP traffic: the transport seam of each stack.

Providers build their own clients (often inside ``generate()``), so the kit cannot hand
them a transport. Instead, for the span of a clause, :func:`interpose` takes over one
method of each HTTP stack it watches, and always restores it:

========================  ==========================================  =======================
stack                     where the seam sits                         carries
========================  ==========================================  =======================
httpx, httpx2             ``Client._transport_for_url`` (sync, async)  official SDKs
urllib3                   ``HTTPConnectionPool._make_request``         ``requests``
http.client               ``HTTPConnection.request``/``getresponse``   ``urllib.request``
aiohttp                   ``ClientSession._request`` (above vcrpy's)   async providers
========================  ==========================================  =======================

Each request is handed to a *handler* with a lazy ``upstream()`` that fetches the real
(or replayed) response. The handler returns ``None`` (pass through untouched), a
:class:`Reply` (a synthetic or reshaped response: cut into pieces, paced, dropped
mid-body) or a :class:`Fault` (a transport error raised instead of any response), and
every adapter turns these into the stack's own responses and errors.

vcrpy patches these stacks when a cassette opens and, on replay, never calls below
itself. :func:`interpose` is therefore entered *after* the cassette, so that the real
response it fetches is vcrpy's replay: a clause enters it inside the test body, after
every fixture has run. The seam sits only on attributes vcrpy never patches, so vcrpy
resetting its own patches for a moment in another thread cannot make it vanish (see
``_vcr_aware``).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType

from . import _aiohttp, _http_client, _httpx, _urllib3
from ._model import STAND_IN_TOKEN, Fault, Handler, Reply, Seen, Traffic, adopting_new_threads
from ._sleep import SleepLog, virtual_sleep
from ._stacks import WATCHED, provider_modules, stack_hint
from ._vcr_aware import resets_serialised

__all__ = [
    "STAND_IN_TOKEN",
    "WATCHED",
    "Fault",
    "Handler",
    "Reply",
    "Seen",
    "SleepLog",
    "Traffic",
    "adopting_new_threads",
    "interpose",
    "provider_modules",
    "resets_serialised",
    "stack_hint",
    "virtual_sleep",
]


@contextlib.contextmanager
def interpose(handler: Handler | None = None) -> Iterator[Traffic]:
    """Route every request of every watched stack through ``handler`` until the block ends."""
    traffic = Traffic(handler)
    with contextlib.ExitStack() as stack:
        stack.enter_context(adopting_new_threads())
        stack.enter_context(resets_serialised())
        for name in _httpx.MODULES:
            module = _importable(name)
            if module is not None:
                stack.enter_context(_httpx.interposed(module, traffic))
        if _importable("urllib3") is not None:
            stack.enter_context(_urllib3.interposed(traffic))
        stack.enter_context(_http_client.interposed(traffic))
        if _importable("aiohttp") is not None:
            stack.enter_context(_aiohttp.interposed(traffic))
        yield traffic


def _importable(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
