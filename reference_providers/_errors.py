"""The errors every reference provider raises, and how an HTTP failure maps onto them.

::

    ProviderError(Exception)          every failure of a provider call
    ├── AuthenticationError           401, 403; also a missing API key at construction
    ├── NotFoundError                 404 (unknown model, wrong base URL)
    ├── RateLimitError                429                              retryable
    ├── BadRequestError               400, 413, 422
    ├── ServerError                   5xx, 529 (Anthropic "overloaded")  retryable
    ├── ProviderTimeout               wraps httpx.TimeoutException     retryable
    ├── ProviderConnectionError       wraps httpx.TransportError       retryable
    ├── ResponseFormatError           200 body that is not the protocol: malformed JSON,
    │                                 empty, HTML, wrong shape, or no text content
    ├── StreamError                   error reported inside a stream; truncated stream
    └── ProviderRefusal               the model declined (OpenAI ``refusal``,
                                      Anthropic ``stop_reason: "refusal"``)

Every error carries ``provider``, ``status_code`` (the HTTP status; for an error
reported inside a 200 body, the numeric code the server put there, if any),
``error_type`` (the provider's own error code or type, e.g. ``model_not_found``,
``overloaded_error``), ``message``, ``retryable`` and ``retry_after`` (seconds, from
``retry-after-ms`` or ``retry-after``). Other statuses (e.g. 408, 409) raise the base
class with ``retryable`` set from the status.

The providers never retry: ``retryable`` and ``retry_after`` are facts for the caller
(a LAIOS router or circuit breaker) to act on. Messages never contain the API key: the
providers redact it from anything a server echoes back.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "NotFoundError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderRefusal",
    "ProviderTimeout",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "StreamError",
    "class_for_status",
    "is_retryable_status",
]

_RETRYABLE_STATUSES = frozenset({408, 409, 429})


def is_retryable_status(status: int | None) -> bool:
    """True for statuses another attempt may cure: 408, 409, 429 and every 5xx (incl. 529)."""
    return status is not None and (status in _RETRYABLE_STATUSES or status >= 500)


class ProviderError(Exception):
    """Base of every error a reference provider raises."""

    default_retryable: bool | None = None  # None: decide from status_code

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        error_type: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.error_type = error_type
        self.retry_after = retry_after
        if retryable is None:
            retryable = self.default_retryable
        if retryable is None:
            retryable = is_retryable_status(status_code)
        self.retryable = retryable

    def __str__(self) -> str:
        where = f"{self.provider}"
        if self.status_code is not None:
            where += f" {self.status_code}"
        if self.error_type:
            where += f" {self.error_type}"
        return f"[{where}] {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, status_code={self.status_code!r}, "
            f"error_type={self.error_type!r}, message={self.message!r}, "
            f"retryable={self.retryable!r}, retry_after={self.retry_after!r})"
        )


class AuthenticationError(ProviderError):
    """The key is missing, wrong, or lacks permission (401/403)."""


class NotFoundError(ProviderError):
    """The model or endpoint does not exist (404)."""


class RateLimitError(ProviderError):
    """Too many requests (429); see ``retry_after``."""


class BadRequestError(ProviderError):
    """The server rejected the request as invalid (400/413/422)."""


class ServerError(ProviderError):
    """The server failed or is overloaded (5xx, Anthropic 529)."""


class ProviderTimeout(ProviderError):
    """The request exceeded its timeout; chained from the httpx exception."""

    default_retryable = True


class ProviderConnectionError(ProviderError):
    """The connection failed or dropped, also mid-stream; chained from the httpx exception."""

    default_retryable = True


class ResponseFormatError(ProviderError):
    """A successful status with a body the protocol does not allow, or with no text."""

    default_retryable = False


class StreamError(ProviderError):
    """The stream reported an error, or ended before its protocol's end marker."""


class ProviderRefusal(ProviderError):
    """The model declined to answer; ``message`` is its refusal text."""

    default_retryable = False


_BY_STATUS: dict[int, type[ProviderError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


def class_for_status(status: int | None) -> type[ProviderError]:
    """The exception class for an HTTP (or HTTP-like in-body) status code."""
    if status is None:
        return ProviderError
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ProviderError)
