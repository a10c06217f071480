"""What pytest-recording's network block leaves open while replaying: name lookups and datagrams.

pytest-recording refuses a connection (``socket.connect``) to any host it does not allow.
Two ways out of the machine connect nothing:

- a lookup of a host name: the DNS query leaves the machine (or waits for its timeout where
  no DNS server answers, as on many CI runners) before the connection is refused;
- a datagram sent with ``sendto`` or ``sendmsg`` on an unconnected socket: a resolver
  library such as dnspython, a statsd or syslog client.

While the block is on, both are refused at once for any host it would refuse, with
pytest-recording's words and its exception class (``RuntimeError``, which an HTTP library
does not mistake for a connection error to retry). Addresses (``203.0.113.7``, ``::1``) need
no lookup and pass, so their connection meets the block itself. A datagram is refused by
its destination, address or name; datagrams on local (``AF_UNIX``) sockets are not network
traffic and pass.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["blocked_reach", "offline"]

_BLOCKED = "Network is disabled"  # how pytest-recording's refusals begin, and so do these
_LOOKUPS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex")
# Where each sending method takes its destination: sendto(data[, flags], address) and
# sendmsg(buffers[, ancdata[, flags[, address]]]) (neither takes keyword arguments).
_DATAGRAMS: dict[str, Callable[[tuple[Any, ...]], Any]] = {
    "sendto": lambda args: args[-1] if len(args) >= 2 else None,
    "sendmsg": lambda args: args[3] if len(args) >= 4 else None,
}


@contextlib.contextmanager
def offline(allowed_hosts: Sequence[str] | None) -> Iterator[None]:
    """No lookup of a name, and no datagram to a host, that no pattern of ``allowed_hosts``
    matches (pytest-recording's patterns: none at all blocks every name and host)."""
    from pytest_recording.network import is_host_in_allowed_hosts

    allowed = list(allowed_hosts) if allowed_hosts is not None else None

    def refused(host: Any) -> str | None:
        """``host`` as text when the block refuses it; None when it allows it."""
        name = _as_text(host)
        return None if name is None or is_host_in_allowed_hosts(name, allowed) else name

    lookups = {name: vars(socket)[name] for name in _LOOKUPS}
    # socket.socket inherits sendto and sendmsg from _socket.socket: None marks a method that
    # was not its own attribute, and is deleted again afterwards rather than set.
    sends = {name: vars(socket.socket).get(name) for name in _DATAGRAMS}
    try:
        for name, resolve in lookups.items():
            setattr(socket, name, _lookup_guard(resolve, refused))
        for name, destination in _DATAGRAMS.items():
            setattr(socket.socket, name, _datagram_guard(getattr(socket.socket, name), refused, destination))
        yield
    finally:
        for name, resolve in lookups.items():
            setattr(socket, name, resolve)
        for name, send in sends.items():
            if send is None:
                delattr(socket.socket, name)
            else:
                setattr(socket.socket, name, send)


def blocked_reach(exc: BaseException) -> str | None:
    """The network block's own words, if ``exc`` or an exception in its chain is the block
    refusing a connection, a lookup or a datagram (pytest-recording's or this module's)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen or len(seen) > 32:
            continue
        seen.add(id(current))
        if isinstance(current, RuntimeError) and str(current).startswith(_BLOCKED):
            return str(current)
        pending += [current.__cause__, current.__context__]
    return None


def _lookup_guard(resolve: Callable[..., Any], refused: Callable[[Any], str | None]) -> Callable[..., Any]:
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = None if _is_address(host) else refused(host)
        if name is None:
            return resolve(host, *args, **kwargs)
        raise RuntimeError(f"{_BLOCKED}: no DNS lookup of {name!r} while replaying cassettes")

    return guarded


def _datagram_guard(
    send: Callable[..., Any], refused: Callable[[Any], str | None], destination: Callable[[tuple[Any, ...]], Any]
) -> Callable[..., Any]:
    def guarded(sock: socket.socket, *args: Any) -> Any:
        address = destination(args)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and address:
            host = refused(address[0])
            if host is not None:
                raise RuntimeError(f"{_BLOCKED}: no datagram to {host!r} while replaying cassettes")
        return send(sock, *args)

    return guarded


def _as_text(host: Any) -> str | None:
    """A host name or address as given to a lookup or in a destination (str or bytes), as text."""
    if isinstance(host, (bytes, bytearray)):
        return host.decode("ascii", "replace")
    return host if isinstance(host, str) else None


def _is_address(host: Any) -> bool:
    text = _as_text(host)
    if text is None:
        return False
    try:
        ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 address may carry a zone: fe80::1%eth0
    except ValueError:
        return False
    return True
