"""One POST to a checked destination, under one deadline, never following a redirect.

Why not urllib or requests: both resolve the name again when they connect (a second answer
may point inside), follow redirects unless told otherwise, and apply their timeout to each
read, so an endpoint that trickles a byte every few seconds holds the delivery for as long as
it likes. Here the connection goes to an address `destinations.destination_check` approved,
TLS verifies the certificate for the URL's name (sent as SNI), and a watchdog closes the
socket when the deadline passes, whatever phase the exchange is in.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time

from tenants.delivery.destinations import Destination, DestinationRefused


class DeadlineExceeded(TimeoutError):
    """The whole exchange (connect, TLS, send, response head) took longer than allowed."""


class _Watchdog:
    """Shuts the current socket down at the deadline, unblocking any read or write on it."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sock = sock
            if self.fired:
                _shut(sock)

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                _shut(self._sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed or never connected
        sock.shutdown(socket.SHUT_RDWR)


def _same_address(a: str, b: str) -> bool:
    return ipaddress.ip_address(a.split("%", 1)[0]) == ipaddress.ip_address(b.split("%", 1)[0])


def _connect(destination: Destination, deadline: float) -> socket.socket:
    """A TCP connection to the first approved address that answers, within the deadline."""
    last: OSError | None = None
    for address in destination.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("deadline passed while connecting")
        try:
            sock = socket.create_connection((address, destination.port), timeout=remaining)
        except OSError as exc:
            last = exc
            continue
        # The peer is what the kernel actually connected to: it must be the approved address.
        if not _same_address(str(sock.getpeername()[0]), address):
            sock.close()
            raise DestinationRefused(
                "connected to an unapproved address", code="address_forbidden", permanent=False
            )
        return sock
    raise last or OSError("no address to connect to")


def post(destination: Destination, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` and return the response's status code; the body of the response is not read.

    Raises DeadlineExceeded, DestinationRefused, ssl.SSLError or OSError. A 3xx is returned as
    it is: the caller treats it as a failed attempt.
    """
    deadline = time.monotonic() + timeout
    watchdog = _Watchdog(timeout)
    watchdog.start()
    sock: socket.socket | None = None
    try:
        sock = _connect(destination, deadline)
        watchdog.watch(sock)
        if destination.scheme == "https":
            context = ssl.create_default_context()
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock = context.wrap_socket(sock, server_hostname=destination.host)
            watchdog.watch(sock)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        connection = http.client.HTTPConnection(destination.host, destination.port)
        connection.sock = sock  # already connected: http.client must not resolve the name again
        connection.request(
            "POST",
            destination.target,
            body=body,
            headers={**headers, "Host": destination.host_header, "Connection": "close"},
        )
        response = connection.getresponse()
        status = int(response.status)
        response.close()
        return status
    except (OSError, http.client.HTTPException) as exc:
        # Each blocking call is given only the time left, so its own timeout is the deadline.
        if watchdog.fired or isinstance(exc, TimeoutError):
            raise DeadlineExceeded(f"no complete answer within {timeout:g} s") from exc
        if isinstance(exc, http.client.HTTPException):
            raise OSError(f"bad HTTP response: {type(exc).__name__}") from exc
        raise
    finally:
        watchdog.cancel()
        if sock is not None:
            sock.close()
