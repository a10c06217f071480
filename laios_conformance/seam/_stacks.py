"""Which HTTP stack a provider seems to speak, for the message when none of its traffic was seen."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

WATCHED = (
    "httpx, httpx2, requests (through urllib3), urllib3, urllib.request (through http.client), http.client and aiohttp"
)

# Module (or package) name -> (the stack's name, whether the seam watches it).
_KNOWN: dict[str, tuple[str, bool]] = {
    "httpx": ("httpx", True),
    "httpx2": ("httpx2", True),
    "openai": ("httpx (through the openai SDK)", True),
    "anthropic": ("httpx (through the anthropic SDK)", True),
    "ollama": ("httpx (through the ollama SDK)", True),
    "requests": ("requests", True),
    "urllib3": ("urllib3", True),
    "urllib.request": ("urllib.request", True),
    "http.client": ("http.client", True),
    "socket": ("bare sockets", False),
    "aiohttp": ("aiohttp", True),
    "niquests": ("niquests", False),
    "pycurl": ("pycurl", False),
    "httplib2": ("httplib2", False),
    "tornado": ("tornado", False),
    "grpc": ("gRPC", False),
    "websockets": ("websockets", False),
    "boto3": ("boto3", False),
    "botocore": ("botocore", False),
}


# The seam sits on HTTPConnection.request: a request built piece by piece never crosses it.
_BYPASSES_HTTP_CLIENT = (
    "; http.client's putrequest(), putheader(), endheaders() and send() bypass the seam: send with request()"
)


# Client middlewares run inside ClientSession._request, below the seam.
_BYPASSES_AIOHTTP = (
    "; aiohttp requests sent through client middlewares (ClientSession(middlewares=...)) bypass the seam"
)


def stack_hint(provider: Any) -> str:
    """What the modules of the provider's packages (its class's and every base class's)
    import, in one clause of a sentence ('' if unknown)."""
    packages = _packages_of(type(provider))
    if not packages:
        return ""
    named = " and ".join(repr(package) for package in packages) + (" package" if len(packages) == 1 else " packages")
    imports = "imports" if len(packages) == 1 else "import"
    found: dict[str, bool] = {}
    for package in packages:
        for module in _package_modules(package):
            for value in vars(module).values():
                for stack in _known_stacks(value):
                    found.setdefault(*stack)
    if not found:
        return f"no HTTP library the kit knows is imported by the {named}"
    unwatched = [name for name, watched in found.items() if not watched]
    if unwatched:
        return f"the {named} {imports} {', '.join(unwatched)}, which the kit does not watch"
    return (
        f"the {named} {imports} {', '.join(found)}, which the kit watches: its requests did not "
        "cross the seam (sent from a thread the provider did not start while the kit built or called it, "
        "from another process, or through a mock or a transport of its own?)"
        + (_BYPASSES_HTTP_CLIENT if "http.client" in found else "")
        + (_BYPASSES_AIOHTTP if "aiohttp" in found else "")
    )


def provider_modules(provider: Any) -> list[ModuleType]:
    """The loaded modules of the packages the provider's class and its bases come from."""
    return [module for package in _packages_of(type(provider)) for module in _package_modules(package)]


def _packages_of(cls: type) -> list[str]:
    """The top-level packages the class and its bases are defined in, the kit's and Python's left out."""
    packages = [(klass.__module__ or "").split(".")[0] for klass in cls.__mro__]
    return [p for p in dict.fromkeys(packages) if p and p not in ("builtins", "abc", "typing", "laios_conformance")]


# package -> (len(sys.modules) when scanned, its modules then). Failure-injecting clauses ask
# once per block, and a scan of sys.modules costs milliseconds in a process of thousands of
# modules; it is done again whenever a module was imported or dropped since.
_scanned: dict[str, tuple[int, list[ModuleType]]] = {}


def _package_modules(package: str) -> list[ModuleType]:
    size = len(sys.modules)
    if (cached := _scanned.get(package)) is not None and cached[0] == size:
        return cached[1]
    modules = [
        module
        for name, module in list(sys.modules.items())
        if isinstance(module, ModuleType) and (name == package or name.startswith(package + "."))
    ]
    _scanned[package] = (size, modules)
    return modules


def _known_stacks(value: Any) -> list[tuple[str, bool]]:
    """The stacks a module, or a class or function imported from one, belongs to.

    ``import http.client`` binds the package ``http``: a package stands for those of its
    known submodules that are loaded as well.
    """
    name: Any = None
    if isinstance(value, ModuleType):
        name = value.__name__
    elif isinstance(value, type) or callable(value):
        name = getattr(value, "__module__", None)
    if not isinstance(name, str):
        return []
    parts = name.split(".")
    stack = next((_KNOWN[key] for key in (".".join(parts[:2]), parts[0]) if key in _KNOWN), None)
    if stack is not None:
        return [stack]
    if isinstance(value, ModuleType) and hasattr(value, "__path__"):
        return [_KNOWN[key] for key in _KNOWN if key.startswith(name + ".") and key in sys.modules]
    return []
