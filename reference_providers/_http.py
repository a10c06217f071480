"""The HTTP plumbing the three providers share: one pooled httpx.Client, error mapping, keys.

``HTTPProvider`` owns the transport side of every provider:

* one ``httpx.Client`` per instance, created lazily under a lock, safe to share between
  threads (httpx's pool is thread-safe); ``close()`` and ``with`` release it; every
  client verifies TLS with one shared context, because building a context loads the whole
  CA bundle (about 15 ms, more than a replayed call), which an application that creates
  a client per request or per agent would pay each time;
* every request carries the finite ``httpx.Timeout(timeout)`` given at construction;
* in normal use the client uses httpx's default transport, so anything that patches
  ``httpx.HTTPTransport`` (the conformance kit's recorder) sees every request; the
  keyword-only ``transport=`` exists for tests (``httpx.MockTransport``);
* a non-2xx status raises the mapped ProviderError before any chunk is read; httpx
  timeouts and transport failures, also mid-stream, are re-raised as ProviderTimeout /
  ProviderConnectionError chained with ``from``;
* exactly one attempt per call: retrying is the caller's (router's) decision;
* the API key is held in a ``Secret`` whose repr hides it, sent only as a per-request
  header, and redacted from any message a server echoes back.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import os
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from laios_conformance.base.client import LLMClient, LLMMessage, LLMResponse

from ._errors import AuthenticationError, ProviderConnectionError, ProviderTimeout, ResponseFormatError
from ._wire import error_from_http, error_in_body, iter_lines, load_json

__all__ = ["HTTPProvider", "Secret", "is_loopback_url"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CA bundle, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` as set when the first client is made), built once per process."""
    return httpx.create_ssl_context()


class Secret:
    """An API key that never shows itself in repr/str (so not in ``vars(client)`` dumps)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself, for the one header that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


def is_loopback_url(url: str) -> bool:
    """True if ``url`` points at this machine: ``localhost``, 127.0.0.0/8 or ``::1``."""
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, TypeError):
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_api_key(api_key: str | None, env_var: str, base_url: str, provider: str) -> Secret | None:
    """The key from ``api_key`` or ``env_var``; required unless ``base_url`` is loopback."""
    key = api_key if api_key is not None else os.environ.get(env_var)
    if key:
        return Secret(key)
    if is_loopback_url(base_url):
        return None
    raise AuthenticationError(
        f"no API key for {base_url}: pass api_key= or set {env_var} "
        "(only loopback servers such as localhost may run without one)",
        provider=provider,
        retryable=False,
    )


def _check_timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, got {timeout!r}")
    if not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be finite and positive, got {timeout!r}")
    return float(timeout)


class HTTPProvider(LLMClient):
    """Base of the reference providers: transport, pooling, error mapping, ``with`` support."""

    provider_name = "http"

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        timeout: float,
        api_key: Secret | None = None,
        transport: httpx.BaseTransport | None = None,
        **config: Any,
    ) -> None:
        timeout = _check_timeout(timeout)
        base_url = str(base_url).rstrip("/")
        super().__init__(model, base_url=base_url, timeout=timeout, **config)
        self.base_url = base_url
        self.timeout = timeout
        self._api_key = api_key
        self._transport = transport
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    # --- LLMClient surface ----------------------------------------------------------

    @property
    def conformance_profile(self) -> dict[str, Any]:
        """What this provider deliberately leaves out for its model (see each subclass)."""
        return {"omits_params": {}}

    def generate_with_system(
        self,
        system_prompt: str,
        user_message: str,
        temperature: float = 0.7,
        max_tokens: int = 2048,
        **kwargs: Any,
    ) -> LLMResponse:
        """``generate`` with a system message followed by one user message."""
        messages = [LLMMessage(role="system", content=system_prompt), LLMMessage(role="user", content=user_message)]
        return self.generate(messages, temperature=temperature, max_tokens=max_tokens, **kwargs)

    # --- lifecycle ------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        """The instance's pooled client, created on first use (thread-safe)."""
        client = self._client
        if client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = httpx.Client(
                        timeout=httpx.Timeout(self.timeout), transport=self._transport, verify=tls_context()
                    )
                client = self._client
        return client

    def close(self) -> None:
        """Close the pooled connections; a later call opens a fresh pool."""
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> HTTPProvider:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    # --- requests -------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        """Per-request headers; subclasses add their auth header."""
        return {"accept": "application/json"}

    def _redact(self, text: str) -> str:
        key = self._api_key.reveal() if self._api_key else ""
        return text.replace(key, "[REDACTED]") if len(key) >= 8 else text

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        """Re-raise httpx failures (also those raised while streaming) as ProviderErrors."""
        try:
            yield
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(
                self._redact(f"no answer within {self.timeout:g}s ({type(exc).__name__}: {exc})"),
                provider=self.provider_name,
            ) from exc
        except httpx.TransportError as exc:
            raise ProviderConnectionError(
                self._redact(f"connection failed ({type(exc).__name__}: {exc})"), provider=self.provider_name
            ) from exc
        except httpx.DecodingError as exc:
            raise ResponseFormatError(
                self._redact(f"body could not be decoded: {exc}"), provider=self.provider_name
            ) from exc

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        raise error_from_http(
            self.provider_name,
            response.status_code,
            response.headers,
            response.read(),
            self._redact,
            response.reason_phrase,
        )

    def _post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``body``, check the status, and return the response's JSON object."""
        with self._translated_errors():
            response = self._http().post(self.base_url + path, json=body, headers=self._headers())
            self._raise_for_status(response)
        payload = load_json(response.content, self.provider_name, redact=self._redact)
        if not isinstance(payload, dict):
            raise ResponseFormatError(
                f"expected a JSON object, got {type(payload).__name__}", provider=self.provider_name
            )
        if payload.get("error"):
            raise error_in_body(self.provider_name, payload, in_stream=False, redact=self._redact)
        return payload

    @contextmanager
    def _stream_lines(self, path: str, body: Mapping[str, Any]) -> Iterator[Iterator[str]]:
        """POST ``body`` and yield an iterator over the response's lines.

        The response is closed when the ``with`` block ends, including when the caller
        stops iterating early (GeneratorExit passes through here).
        """
        with (
            self._translated_errors(),
            self._http().stream("POST", self.base_url + path, json=body, headers=self._headers()) as response,
        ):
            self._raise_for_status(response)
            yield iter_lines(response.iter_bytes(), self.provider_name)

    def _json_line(self, line: str, what: str) -> dict[str, Any]:
        """One JSON object from a stream line or SSE data field."""
        payload = load_json(line, self.provider_name, what=what, redact=self._redact)
        if not isinstance(payload, dict):
            raise ResponseFormatError(f"{what} is not a JSON object: {line[:80]!r}", provider=self.provider_name)
        return payload
