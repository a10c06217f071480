"""laios_conformance._offline: while replaying, no name lookup and no datagram leaves the
machine for a host the network block refuses; loopback, addresses and local sockets pass."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from laios_conformance._offline import offline

LOOPBACK = ["^localhost$", r"^127\.", r"^::1$"]  # the kit's replay patterns off CI
NAME = "api.laios-offline.invalid"
REFUSED_LOOKUP = f"Network is disabled: no DNS lookup of '{NAME}' while replaying cassettes"


@pytest.fixture
def receiver() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2)
        yield sock


@pytest.mark.parametrize(
    "lookup",
    [
        lambda: socket.getaddrinfo(NAME, 443),
        lambda: socket.gethostbyname(NAME),
        lambda: socket.gethostbyname_ex(NAME),
        lambda: socket.getaddrinfo(NAME.encode(), 443),
    ],
    ids=["getaddrinfo", "gethostbyname", "gethostbyname_ex", "getaddrinfo-bytes"],
)
def test_a_name_the_block_refuses_is_not_looked_up(lookup) -> None:
    with offline(LOOPBACK), pytest.raises(RuntimeError, match="^" + REFUSED_LOOKUP.replace(".", r"\.") + "$"):
        lookup()


def test_allowed_names_and_addresses_are_looked_up() -> None:
    with offline(LOOPBACK):
        assert socket.gethostbyname("localhost").startswith("127.")
        assert socket.gethostbyname("203.0.113.7") == "203.0.113.7"  # an address needs no lookup
        assert socket.getaddrinfo("::1", 80, socket.AF_INET6)[0][4][0] == "::1"


@pytest.mark.parametrize(
    ("send", "host"),
    [
        (lambda sock: sock.sendto(b"x", ("203.0.113.7", 9)), "203.0.113.7"),
        (lambda sock: sock.sendto(b"x", 0, ("203.0.113.7", 9)), "203.0.113.7"),
        (lambda sock: sock.sendmsg([b"x"], [], 0, ("203.0.113.7", 9)), "203.0.113.7"),
        (lambda sock: sock.sendto(b"x", (NAME, 53)), NAME),
    ],
    ids=["sendto", "sendto-with-flags", "sendmsg", "sendto-a-name"],
)
def test_a_datagram_to_a_host_the_block_refuses_is_not_sent(send, host: str) -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        offline(LOOPBACK),
        pytest.raises(RuntimeError) as raised,
    ):
        send(sock)
    assert str(raised.value) == f"Network is disabled: no datagram to {host!r} while replaying cassettes"


def test_a_datagram_to_loopback_arrives(receiver: socket.socket) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, offline(LOOPBACK):
        sock.sendto(b"to-self", receiver.getsockname())
        sock.sendmsg([b"by-", b"msg"], [], 0, receiver.getsockname())
    assert [receiver.recv(64), receiver.recv(64)] == [b"to-self", b"by-msg"]


def test_with_no_allowed_host_loopback_is_refused_too(receiver: socket.socket) -> None:
    """On CI the block allows no host at all, loopback included."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, offline(None):
        with pytest.raises(RuntimeError, match="no datagram to '127.0.0.1'"):
            sock.sendto(b"x", receiver.getsockname())
        with pytest.raises(RuntimeError, match="no DNS lookup of 'localhost'"):
            socket.gethostbyname("localhost")


def test_a_datagram_on_a_local_socket_is_not_network_traffic(tmp_path: Path) -> None:
    path = str(tmp_path / "sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server, offline(None):
        server.bind(path)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
            client.sendto(b"local", path)
        assert server.recv(64) == b"local"


def test_everything_is_put_back() -> None:
    originals = [socket.getaddrinfo, socket.gethostbyname, socket.gethostbyname_ex]
    methods = [socket.socket.sendto, socket.socket.sendmsg]
    with pytest.raises(KeyError), offline(None), offline(LOOPBACK):  # nested, as session and test
        assert socket.gethostbyname is not originals[1]
        raise KeyError("the block ends with an error")
    assert [socket.getaddrinfo, socket.gethostbyname, socket.gethostbyname_ex] == originals
    assert [socket.socket.sendto, socket.socket.sendmsg] == methods
    assert "sendto" not in vars(socket.socket)  # inherited again, as before
