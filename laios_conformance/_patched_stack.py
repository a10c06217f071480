"""Whether a provider's import or constructor replaced an HTTP stack's entry point below the seam.

The seam (and vcrpy's replay) sits above these methods, so a replay never reaches them: a
provider that patches one (a canned answer, a global ``respx``/``responses``-style mock
left active) would pass every clause while, in production, its patch answers instead of
the API. A wrapper that keeps ``__wrapped__`` (OpenTelemetry's and Sentry's
instrumentation) is taken to call through and is allowed, as are the known instrumentation
and cooperative-I/O packages (gevent, eventlet) that keep none.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

__all__ = ["EntryPoints", "replaced_entry_points", "snapshot"]

# (module, class, method): what a request passes through below the seam, in each stack.
_ENTRY_POINTS = (
    ("httpx", "HTTPTransport", "handle_request"),
    ("httpx", "AsyncHTTPTransport", "handle_async_request"),
    ("httpcore", "ConnectionPool", "handle_request"),
    ("httpcore", "AsyncConnectionPool", "handle_async_request"),
    ("urllib3.connectionpool", "HTTPConnectionPool", "urlopen"),
    ("urllib3.connection", "HTTPConnection", "request"),
    ("urllib3.connection", "HTTPConnection", "getresponse"),
    ("http.client", "HTTPConnection", "request"),
    ("http.client", "HTTPConnection", "getresponse"),
    ("http.client", "HTTPConnection", "send"),
    ("socket", "socket", "connect"),
    ("aiohttp.connector", "BaseConnector", "connect"),
    ("aiohttp.connector", "TCPConnector", "connect"),
    ("aiohttp.client", "ClientSession", "_request"),
)
# Patches these packages make are not the provider's: the kit's own, the recorder's, C methods.
_NOT_THE_PROVIDERS = ("laios_conformance", "vcr", "pytest_recording", "builtins")
# Patches that call through, though they keep no ``__wrapped__``: instrumentation (Sentry's
# stdlib integration replaced ``HTTPConnection.getresponse`` with a plain closure), and the
# cooperative-I/O libraries whose monkey-patching swaps ``socket.socket`` for a green one.
_CALLS_THROUGH = ("sentry_sdk", "opentelemetry", "ddtrace", "newrelic", "elasticapm", "gevent", "eventlet")

EntryPoints = dict[str, Any]


def snapshot() -> EntryPoints:
    """The entry points of the stacks imported so far, by their dotted name."""
    found: EntryPoints = {}
    for module_name, class_name, method in _ENTRY_POINTS:
        owner = getattr(sys.modules.get(module_name), class_name, None)
        if isinstance(owner, type):
            found[f"{module_name}.{class_name}.{method}"] = inspect.getattr_static(owner, method, None)
    return found


def replaced_entry_points(before: EntryPoints, provider_package: str) -> list[str]:
    """Each entry point replaced since ``before`` (or by ``provider_package`` earlier), as
    ``name (by module.function)``; an instrumentation wrapper that calls through is not."""
    found = []
    for name, value in snapshot().items():
        module, origin = _origin(value)
        package = module.split(".")[0]
        stack_package = name.split(".")[0]
        changed = name in before and before[name] is not value
        new_and_foreign = name not in before and package != stack_package
        if not (changed or new_and_foreign or package == provider_package):
            continue
        if package in (stack_package, *_NOT_THE_PROVIDERS, *_CALLS_THROUGH) or hasattr(value, "__wrapped__"):
            continue
        found.append(f"{name} (by {origin})")
    return found


def _origin(value: Any) -> tuple[str, str]:
    """The module defining the replacement, and ``module.qualname`` (its type's for an object: a mock)."""
    function = getattr(value, "__func__", value)  # a staticmethod or classmethod
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return module, f"{module}.{qualname}"
    kind = type(function)
    return kind.__module__, f"a {kind.__module__}.{kind.__qualname__} object"
