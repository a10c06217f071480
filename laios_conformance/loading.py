"""Resolve ``--laios-provider`` and ``--laios-provider-kwargs`` into something that builds providers.

Every user mistake becomes a :class:`ProviderLoadError` whose message is one line saying
what is wrong (with the offending value) and what to do; the plugin turns it into a pytest
usage error (exit code 4, no traceback).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ._offline import blocked_reach
from ._patched_stack import replaced_entry_points, snapshot
from ._redact import REDACTED, redact
from ._watchdog import CallTimedOut, guard_instance, run_with_timeout

__all__ = [
    "PLUGIN_FLAGS",
    "REDACTED",
    "Flags",
    "ModuleNotImportable",
    "ProviderLoadError",
    "ProviderSpec",
    "load_provider",
    "load_providers",
    "declared_secrets",
    "make_canary_key",
    "names_a_secret",
    "parse_secret_names",
    "provide_secret_env",
    "redact",
    "secret_values",
]

_ENV_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")
# The last word of a parameter name that says it holds a credential: api_key, apiKey,
# access_token, client_secret, password... (``max_tokens`` is not one: it ends in "tokens").
_SECRET_WORDS = frozenset(
    {
        "key",
        "apikey",
        "token",
        "bearer",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "credential",
        "credentials",
        "auth",
    }
)
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class ProviderLoadError(Exception):
    """A ``--laios-provider`` / ``--laios-provider-kwargs`` value the kit cannot use."""


class ModuleNotImportable(ProviderLoadError):
    """The target's module, or a module it imports, was not found on ``sys.path``."""


@dataclass(frozen=True)
class Flags:
    """How the user spelled the two settings, so that a message names what they typed."""

    target: str = "--laios-provider"
    kwargs: str = "--laios-provider-kwargs"
    secret_env: str = "--laios-secret-env"
    call_timeout: str = "--laios-call-timeout"
    secret_kwargs: str = "--laios-secret-kwargs"


PLUGIN_FLAGS = Flags()
INI_SUFFIX = " (ini)"  # how a Flags field names a setting the ini gave


@dataclass(frozen=True)
class ProviderSpec:
    """How to build one provider under test.

    ``kwargs`` may hold secrets (the values of parameters whose name says secret, or that
    ``--laios-secret-kwargs`` names, and the canary key): they are listed in ``secrets`` and
    never shown by ``repr``. Calls into instances from :meth:`build` are limited to
    ``call_timeout`` seconds (none when it is ``None``).
    """

    target: str
    factory: Callable[..., Any] = field(repr=False)
    kwargs: dict[str, Any] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)
    canary_key: str | None = field(repr=False)
    class_name: str = ""
    label: str = ""
    call_timeout: float | None = None

    @property
    def id(self) -> str:
        """How verdicts and test ids name this provider (unique within a run)."""
        return self.label or self.target

    def takes(self, name: str) -> bool:
        """Whether the constructor takes ``name``, itself or through ``**kwargs`` passed on to
        a base class that names it."""
        return takes_parameter(self.factory, name)

    def build(self, **overrides: Any) -> Any:
        """A fresh provider instance (each clause judges its own), its calls under the timeout;
        ``overrides`` replace constructor arguments (a clause that judges one of them)."""
        kwargs = {**self.kwargs, **overrides}
        instance = run_with_timeout("constructing the provider", self.call_timeout, self.factory, **kwargs)
        return guard_instance(instance, self.call_timeout)


def make_canary_key() -> str:
    """A fake key that looks real (``sk-...``): the secret clause hunts for it."""
    from faker import Faker

    body = Faker().password(length=48, special_chars=False, upper_case=True, digits=True)
    return f"sk-proj-{body}"


def names_a_secret(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a constructor parameter called ``name`` holds a secret: its name says so
    (``api_key``, ``token``, ``*_key``, ``*_token``, ``*_secret``, ``*_key_id``, ``password``...), or the user
    named it with ``--laios-secret-kwargs`` (``extra``; a dotted path names a nested key)."""
    if name in extra or name.rpartition(".")[2] in extra:
        return True
    last = name.rpartition(".")[2]
    words = [w for w in re.split(r"[^a-z0-9]+", _CAMEL_HUMP.sub("_", last).lower()) if w]
    # ``aws_access_key_id`` too: SigV4 sends the key id (in Authorization), never the secret key.
    return bool(words) and (words[-1] in _SECRET_WORDS or words[-2:] == ["key", "id"])


def parse_secret_names(text: str | None) -> tuple[str, ...]:
    """``--laios-secret-kwargs`` / ``laios_secret_kwargs``: names separated by commas or spaces."""
    return tuple(name for name in re.split(r"[\s,]+", text or "") if name)


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def provide_secret_env(names: Iterable[str], option: str = "--laios-secret-env") -> tuple[list[str], list[str]]:
    """The values of the environment variables ``names`` (secrets a provider reads itself),
    and the names the kit set: one that is unset or empty gets a fake key, as an
    ``api_key`` argument does, so that replay needs no real key."""
    values, set_now = [], []
    for name in names:
        if not _ENV_NAME.match(name):
            raise ProviderLoadError(f"{option} {name!r} is not an environment variable name; e.g. {option}=MY_API_KEY")
        if not os.environ.get(name):
            os.environ[name] = make_canary_key()
            set_now.append(name)
        values.append(os.environ[name])
    return values, set_now


def secret_values(kwargs: dict[str, Any], extra: Iterable[str] = (), prefix: str = "") -> list[str]:
    """The string values of ``kwargs`` that are secrets (everything under a secret-named key)."""
    found: list[str] = []
    for key, value in kwargs.items():
        path = f"{prefix}{key}"
        if names_a_secret(path, extra):
            found.extend(_strings_in(value))
        elif isinstance(value, dict):
            found.extend(secret_values(value, extra, f"{path}."))
    return found


def declared_secrets(kwargs_texts: Iterable[str | None], secret_names: Iterable[str] = ()) -> list[str]:
    """The secrets in ``--laios-provider-kwargs`` texts, for a caller that only redacts (the
    ``check`` command): texts that cannot be resolved give none, the run will report them."""
    found: list[str] = []
    for text in kwargs_texts:
        try:
            found.extend(secret_values(_parse_kwargs(text), tuple(secret_names)))
        except ProviderLoadError:
            continue
    return found


def _strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_in(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings_in(v)]
    return []


def load_providers(
    targets: Sequence[str],
    kwargs_list: Sequence[str | None],
    flags: Flags = PLUGIN_FLAGS,
    secret_names: Iterable[str] = (),
    call_timeout: float | None = None,
    env_secrets: Sequence[str] = (),
) -> list[ProviderSpec]:
    """Every target with its kwargs (given once for all, or once per target), validated and
    labelled uniquely (``mod:Cls``, then ``mod:Cls#2`` for the same target given again).
    ``env_secrets`` are the values of the secrets providers read from the environment.

    The one validator of providers: the pytest plugin and ``laios-conformance check`` both use it.
    """
    kwargs_list = list(kwargs_list) or [None]
    if len(kwargs_list) not in (1, len(targets)):
        raise ProviderLoadError(
            f"{flags.kwargs} was given {len(kwargs_list)} times for {len(targets)} providers; "
            f"give it once (for all providers) or once per {flags.target}, in the same order"
        )
    if len(kwargs_list) == 1:
        kwargs_list = kwargs_list * len(targets)
    canary = make_canary_key()
    specs = [
        load_provider(t, k, canary, flags, secret_names, call_timeout, env_secrets)
        for t, k in zip(targets, kwargs_list, strict=True)
    ]
    _check_secret_names(specs, secret_names, flags)
    return [replace(spec, label=label) for spec, label in zip(specs, _unique_ids(specs), strict=True)]


def _check_secret_names(specs: Sequence[ProviderSpec], secret_names: Iterable[str], flags: Flags) -> None:
    """A name in ``--laios-secret-kwargs`` that no provider takes is a typo, and the argument
    meant is then not treated as a secret (its value would reach cassettes): say so. Names
    from the ini are not checked: a shared configuration may name other providers' arguments."""
    if flags.secret_kwargs.endswith(INI_SUFFIX):
        return
    for name in secret_names:
        if not any(_names_an_argument(spec, name) for spec in specs):
            given = sorted({key for spec in specs for key in spec.kwargs if not (spec.canary_key and key == "api_key")})
            raise ProviderLoadError(
                f"{flags.secret_kwargs} names {name!r}, which is no argument given in {flags.kwargs} "
                f"(given: {', '.join(given) or 'none'}) nor a parameter of "
                f"{', '.join(sorted({spec.target for spec in specs}))}; check its spelling"
            )


def _names_an_argument(spec: ProviderSpec, name: str) -> bool:
    """Whether ``name`` (a dotted path for a key inside a JSON object) is an argument of ``spec``."""
    head, *rest = name.split(".")
    if not rest and spec.takes(head):
        return True
    value: Any = spec.kwargs
    for part in (head, *rest):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def _unique_ids(specs: list[ProviderSpec]) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for spec in specs:
        seen[spec.target] = seen.get(spec.target, 0) + 1
        ids.append(spec.target if seen[spec.target] == 1 else f"{spec.target}#{seen[spec.target]}")
    return ids


def load_provider(
    target: str,
    kwargs_json: str | None,
    canary_key: str,
    flags: Flags = PLUGIN_FLAGS,
    secret_names: Iterable[str] = (),
    call_timeout: float | None = None,
    env_secrets: Sequence[str] = (),
) -> ProviderSpec:
    """Validate ``target`` and its kwargs, build one instance to prove they work, return the spec."""
    entry_points = snapshot()
    factory = _import_target(target, flags, call_timeout)
    kwargs = _parse_kwargs(kwargs_json, flags)
    secrets = secret_values(kwargs, tuple(secret_names))
    signature = _signature_of(factory)
    injected = None
    if signature is not None and takes_parameter(factory, "api_key") and "api_key" not in kwargs:
        kwargs["api_key"] = injected = canary_key
    if signature is not None:
        _check_arguments(target, signature, kwargs, flags)
    all_secrets = tuple(dict.fromkeys(s for s in (*secrets, injected, *env_secrets) if s))
    instance = _construct(target, factory, kwargs, all_secrets, flags, call_timeout, fake_key=injected is not None)
    if not callable(getattr(instance, "generate", None)):
        raise ProviderLoadError(
            f"{flags.target} {target!r} built a {type(instance).__name__} object, which has no "
            "generate() method; point it at an LLMClient-like class or a factory returning one"
        )
    class_name = type(instance).__name__
    _close_quietly(instance, call_timeout)
    _refuse_async_methods(target, instance, flags)
    held = [instance]
    del instance
    _release(target, held, flags, call_timeout)
    _refuse_patched_stack(target, entry_points, flags)
    return ProviderSpec(
        target=target,
        factory=factory,
        kwargs=kwargs,
        secrets=all_secrets,
        canary_key=injected,
        class_name=class_name,
        call_timeout=call_timeout,
    )


def _release(target: str, held: list[Any], flags: Flags, timeout: float | None) -> None:
    """Drop the last reference to the instance built to check the target, in a helper thread
    under the timeout: a ``__del__`` that blocks would otherwise hang the run right here, in
    the main thread, with nothing said."""
    try:
        run_with_timeout("releasing it", timeout, held.clear)
    except CallTimedOut:
        raise _overran(
            target,
            flags,
            timeout,
            "releasing the instance the kit built (its __del__) did not finish",
            "a finalizer must not block (LAIOS drops a client from any thread)",
        ) from None


def _overran(target: str, flags: Flags, timeout: float | None, what: str, rule: str) -> ProviderLoadError:
    """The one line for provider code that loading ran under the call timeout and that overran it."""
    return ProviderLoadError(
        f"{flags.target} {target!r}: {what} within {timeout:g} s; {rule}, or raise {flags.call_timeout}"
    )


def _refuse_async_methods(target: str, instance: Any, flags: Flags) -> None:
    """LAIOS calls its providers synchronously: an ``async def`` method would hand it a
    coroutine that never runs (and send no request), so say so now, in one line."""
    for name in ("generate", "generate_with_system", "generate_stream"):
        method = getattr(instance, name, None)
        if inspect.isasyncgenfunction(method):
            raise ProviderLoadError(
                f"{flags.target} {target!r}: {type(instance).__name__}.{name}() is an async generator "
                "(async def with yield), which LAIOS cannot iterate; make it a plain generator (def with "
                "yield), running any async client inside it on an event loop of its own"
            )
        if inspect.iscoroutinefunction(method):
            raise ProviderLoadError(
                f"{flags.target} {target!r}: {type(instance).__name__}.{name}() is async (async def), but "
                "LAIOS calls it synchronously and would get a coroutine that never runs; make it a plain "
                "def, and run an async client inside it with asyncio.run()"
            )


def _refuse_patched_stack(target: str, before: dict[str, Any], flags: Flags) -> None:
    """Replay sits above the HTTP stack's lower layers: a patch the provider put there would
    never be judged, and in production it would answer instead of the API."""
    replaced = replaced_entry_points(before, target.partition(":")[0].split(".")[0])
    if replaced:
        raise ProviderLoadError(
            f"{flags.target} {target!r}: importing or building it replaced {', '.join(replaced)}, below the "
            "kit's seam, where replay never reaches, so no clause could judge what answers in production; "
            "remove the patch (a mock must not outlive its test), or wrap the original and call through, "
            "keeping it as __wrapped__ (functools.wraps), as instrumentation does"
        )


def _import_target(target: str, flags: Flags, timeout: float | None = None) -> Callable[..., Any]:
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        lacks = "no ':'" if not sep else ("no module before ':'" if not module_name else "no class after ':'")
        raise ProviderLoadError(f"{flags.target} {target!r} has {lacks}; use module:Class, e.g. my_pkg.client:MyClient")
    module = _import_module(target, module_name, flags, timeout)
    obj: Any = module
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise ProviderLoadError(
                f"{flags.target} {target!r}: module {module_name!r} has no attribute {attr_path!r}; "
                "check the name after ':' (case matters)"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise ProviderLoadError(
            f"{flags.target} {target!r} is a {type(obj).__name__}, not a class or callable; "
            "name a provider class or a factory function that returns a provider"
        )
    if isinstance(obj, type) and issubclass(obj, BaseException):
        raise ProviderLoadError(
            f"{flags.target} {target!r} is an exception class, not a provider; name the class that has "
            "generate() (or a factory function that returns one)"
        )
    factory: Callable[..., Any] = obj
    return factory


def _import_module(target: str, module_name: str, flags: Flags, timeout: float | None = None) -> Any:
    # Like ``python -m``: the current directory is importable.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return _imported(module_name, timeout)
    except CallTimedOut:
        raise _overran(
            target,
            flags,
            timeout,
            f"importing {module_name!r} did not finish",
            "a module must not block at import (connect lazily, on the first call)",
        ) from None
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise ModuleNotImportable(
                f"{flags.target} {target!r}: no module named {module_name!r}; run from the folder that contains "
                "it, list its folder in pytest's pythonpath ini setting (a src layout: pythonpath = src), or "
                "install the package that provides it"
            ) from None
        raise ModuleNotImportable(
            f"{flags.target} {target!r}: importing {module_name!r} failed because module "
            f"{exc.name!r} is not installed; install it in this environment"
        ) from None
    except Exception as exc:  # the user's module raised while importing
        raise ProviderLoadError(
            f"{flags.target} {target!r}: importing {module_name!r} raised "
            f"{type(exc).__name__}: {exc}; fix the module so that it imports cleanly"
        ) from None


def _parse_kwargs(kwargs_json: str | None, flags: Flags = PLUGIN_FLAGS) -> dict[str, Any]:
    if not kwargs_json:
        return {}
    try:
        raw = json.loads(kwargs_json)
    except json.JSONDecodeError as exc:
        raise ProviderLoadError(
            f"{flags.kwargs} is not valid JSON ({exc.msg} at position {exc.pos}); "
            'pass a JSON object, e.g. \'{"model": "gpt-4o-mini"}\''
        ) from None
    if not isinstance(raw, dict):
        raise ProviderLoadError(
            f'{flags.kwargs} must be a JSON object, got {type(raw).__name__}; pass e.g. \'{{"model": "gpt-4o-mini"}}\''
        )
    return {key: _resolve_env(key, value, flags) for key, value in raw.items()}


def _resolve_env(key: str, value: Any, flags: Flags) -> Any:
    if isinstance(value, dict):
        return {k: _resolve_env(f"{key}.{k}", v, flags) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(key, v, flags) for v in value]
    match = _ENV_REF.match(value) if isinstance(value, str) else None
    if not match:
        return value
    name = match.group(1)
    if name not in os.environ:
        raise ProviderLoadError(
            f"{flags.kwargs}: {key!r} reads ${name}, which is not set; export {name}=... or pass the value directly"
        )
    return os.environ[name]


def _signature_of(factory: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(factory)
    except (TypeError, ValueError):  # some builtins and C types have none
        return None


def takes_parameter(factory: Callable[..., Any], name: str) -> bool:
    """Whether ``name`` is a constructor argument: named in the signature, or, for a class
    whose ``__init__`` takes ``**kwargs`` (a subclass passing them on), in a base class's."""
    signature = _signature_of(factory)
    if signature is None:
        return False
    if name in signature.parameters:
        return True
    if not isinstance(factory, type) or not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return False
    for base in factory.__mro__[1:]:
        init = vars(base).get("__init__")
        base_signature = _signature_of(init) if init is not None and base is not object else None
        if base_signature is None:
            continue
        if name in base_signature.parameters:
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in base_signature.parameters.values()):
            return False
    return False


def _check_arguments(target: str, signature: inspect.Signature, kwargs: dict[str, Any], flags: Flags) -> None:
    params = signature.parameters.values()
    takes_var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    missing = [
        p.name
        for p in params
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in kwargs
    ]
    if missing:
        example = json.dumps(dict.fromkeys(missing, "..."))
        raise ProviderLoadError(
            f"{flags.target} {target!r} needs argument(s) {', '.join(missing)}; "
            f"pass them with {flags.kwargs}='{example}'"
        )
    known = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unknown = sorted(set(kwargs) - known)
    if unknown and not takes_var_kw:
        raise ProviderLoadError(
            f"{flags.target} {target!r} takes no argument(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(known)) or 'none'}"
        )


def _imported(module_name: str, timeout: float | None) -> Any:
    """The module, imported in a helper thread under ``timeout`` so that a module that blocks
    at import cannot hang the run; imported again in this thread when it failed only for
    want of the main thread (a signal handler, or an event loop, set up at import)."""
    try:
        return run_with_timeout(f"importing {module_name}", timeout, importlib.import_module, module_name)
    except (ValueError, RuntimeError) as exc:
        if not (_needs_main_thread(exc) or _NO_LOOP_IN_THREAD in str(exc)):
            raise
    return importlib.import_module(module_name)


# asyncio.get_event_loop() outside the main thread, with no loop set there.
_NO_LOOP_IN_THREAD = "There is no current event loop in thread"


def _needs_main_thread(exc: Exception) -> bool:
    """``signal.signal`` (and what calls it) outside the main thread raises this ValueError."""
    return isinstance(exc, ValueError) and "main thread" in str(exc)


def _construct(
    target: str,
    factory: Callable[..., Any],
    kwargs: dict[str, Any],
    secrets: tuple[str, ...],
    flags: Flags,
    timeout: float | None = None,
    *,
    fake_key: bool = False,
) -> Any:
    try:
        return run_with_timeout("constructing it", timeout, factory, **kwargs)
    except CallTimedOut:
        raise _overran(
            target,
            flags,
            timeout,
            "constructing it did not return",
            "a constructor must not block (connect lazily, on the first call)",
        ) from None
    except SystemExit as exc:
        raise ProviderLoadError(
            f"{flags.target} {target!r}: constructing it called "
            f"sys.exit({redact(repr(exc.code), secrets)}); a provider must "
            "raise an exception instead of ending the process"
        ) from None
    except Exception as exc:
        message = redact(f"{type(exc).__name__}: {exc}", secrets)
        blocked = blocked_reach(exc)
        if blocked is not None:
            raise ProviderLoadError(
                f"{flags.target} {target!r}: constructing it made a network request, which replay refuses "
                f"({redact(blocked, secrets)}); the kit builds the provider before any cassette is open, so a "
                "constructor must not reach the API: connect lazily, on the first call"
            ) from None
        if timeout and _needs_main_thread(exc):
            raise ProviderLoadError(
                f"{flags.target} {target!r}: constructing it raised {message}; the kit builds and calls the "
                f"provider in a helper thread, so that {flags.call_timeout} can stop a call that hangs (LAIOS "
                "may call it from any thread too): install signal handlers outside the provider, or pass "
                f"{flags.call_timeout}=0 to build and call it in the main thread"
            ) from None
        unset = _unset_key_variables(message)
        if unset:
            names = ",".join(unset)
            raise ProviderLoadError(
                f"{flags.target} {target!r}: constructing it raised {message}; it reads its key from "
                f"${' or $'.join(unset)}, which is not set: pass {flags.secret_env} {names} (the kit then gives "
                "it a fake key for the run, enough to replay; set the real one to record)"
            ) from None
        fake = (
            f" (the kit passed its own fake api_key, as none was given: pass yours with {flags.kwargs} "
            """'{"api_key": "$MY_API_KEY"}', or check the key's format only when a call is made)"""
            if fake_key
            else ""
        )
        raise ProviderLoadError(
            f"{flags.target} {target!r}: constructing it raised {message}; "
            f"fix the constructor arguments with {flags.kwargs}{fake}"
        ) from None


# An environment variable named for a credential, as a constructor's error names it
# (KeyError: 'OPENAI_API_KEY', "set the ANTHROPIC_API_KEY environment variable").
_KEY_VARIABLE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:API_?KEY|KEY|TOKEN|SECRET)\b")


def _unset_key_variables(message: str) -> list[str]:
    """The credential-named environment variables a constructor's error names that are not set."""
    found = dict.fromkeys(_KEY_VARIABLE.findall(message))
    return [name for name in found if not os.environ.get(name)]


def _close_quietly(instance: Any, timeout: float | None) -> None:
    close = getattr(instance, "close", None)
    if callable(close):
        with contextlib.suppress(Exception, CallTimedOut):
            run_with_timeout("close()", timeout, close)
