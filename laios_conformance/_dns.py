"""No host-name lookups while replaying.

pytest-recording's network block refuses a connection to any host it does not allow, but a
provider resolves the API's host name first, and that DNS query still leaves the machine
(or waits for its timeout where no DNS server answers, as on many CI runners). While the
block is on, a name it would refuse is not looked up either: the lookup raises at once, with
pytest-recording's words. Addresses (``203.0.113.7``, ``::1``) need no lookup and pass, so
their connection meets the block itself.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["dns_blocked"]


@contextlib.contextmanager
def dns_blocked(allowed_hosts: Sequence[str] | None) -> Iterator[None]:
    """``socket.getaddrinfo`` refuses every name that no pattern of ``allowed_hosts`` matches
    (pytest-recording's patterns: none at all blocks every name)."""
    from pytest_recording.network import is_host_in_allowed_hosts

    allowed = list(allowed_hosts) if allowed_hosts is not None else None
    resolve = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode("ascii", "replace") if isinstance(host, (bytes, bytearray)) else host
        if name is None or _is_address(name) or is_host_in_allowed_hosts(name, allowed):
            return resolve(host, *args, **kwargs)
        raise RuntimeError(f"Network is disabled: no DNS lookup of {name!r} while replaying cassettes")

    socket.getaddrinfo = guarded
    try:
        yield
    finally:
        socket.getaddrinfo = resolve


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])  # an IPv6 address may carry a zone: fe80::1%eth0
    except ValueError:
        return False
    return True
