"""Where a webhook may go: a public address on the internet, never back inside our network.

A partner chooses the URL, so without a check it could make the service POST to loopback, the
cloud metadata address (169.254.169.254), a private network or a multicast group. The URL is
checked when it is registered and again at every delivery; the delivery connects only to one
of the addresses this check resolved and approved, so a name that resolves elsewhere a moment
later (DNS rebinding) cannot redirect the connection (docs/security.md, webhooks).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Ranges `is_global` still lets through on some Python releases, or that lead back to IPv4
# addresses of their own (6to4, NAT64, Teredo): refused outright rather than decoded.
BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # carrier-grade NAT, often routes to internal workloads
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "240.0.0.0/4",  # reserved
        "255.255.255.255/32",  # broadcast
        "64:ff9b::/96",  # NAT64: the last 32 bits are an IPv4 address
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/32",  # Teredo
        "2002::/16",  # 6to4: bits 16–48 are an IPv4 address
        "5f00::/16",  # segment routing
        "3fff::/20",  # documentation
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated, still routed by some stacks)
    )
)


class DestinationRefused(Exception):
    """The URL may not be delivered to; `code` says why, `permanent` whether retrying helps."""

    def __init__(self, message: str, *, code: str, permanent: bool) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


@dataclass(frozen=True)
class Destination:
    """A checked URL: what to connect to (one of `addresses`) and what to call it there."""

    scheme: str
    host: str  # the name as sent in Host and SNI (IDNA-encoded), or the address literal
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # every resolved address, each one checked

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def address_is_public(address: IPAddress) -> bool:
    """True only for a globally routable unicast address (IPv4-mapped IPv6 judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if (
        not address.is_global
        or address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    ):
        return False
    return not any(address in net for net in BLOCKED_NETWORKS if net.version == address.version)


def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to for a TCP connection (tests replace this)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def local_receiver_allowed(host: str) -> bool:
    """Debug only: a host named in TERMS_WEBHOOK_ALLOW_HOSTS may be on a private address
    (a receiver on the developer's machine). Outside debug the list is ignored."""
    if not settings.DEBUG:
        return False
    allowed = {str(h).strip().lower() for h in settings.TERMS_WEBHOOK_ALLOW_HOSTS}
    return host.lower() in allowed


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").rstrip(".")
        ascii_host = host.encode("idna").decode("ascii") if host else ""
    except (ValueError, UnicodeError):
        raise DestinationRefused("malformed URL", code="url_invalid", permanent=True) from None
    scheme = parts.scheme.lower()
    if port == 0:  # no receiver listens there; `or 443` below would have read it as the default
        raise DestinationRefused("port 0", code="url_invalid", permanent=True)
    if scheme not in {"http", "https"} or not ascii_host:
        raise DestinationRefused("not an http(s) URL", code="url_invalid", permanent=True)
    if parts.username is not None or parts.password is not None:
        # user@host confuses what is shown with where the request goes.
        raise DestinationRefused("credentials in URL", code="url_invalid", permanent=True)
    if scheme != "https" and not local_receiver_allowed(ascii_host):
        # Signed payloads still carry tenant data: plain http only for a receiver on the
        # developer's machine, named in the debug-only allow-list (docs/api.md, webhooks). Debug
        # alone does not open it: a debug deployment answers as production does.
        raise DestinationRefused("https required", code="https_required", permanent=True)
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    return scheme, ascii_host, port or (443 if scheme == "https" else 80), target


def destination_check(url: str) -> Destination:
    """Resolve the URL's host and approve every address it resolves to, or refuse.

    Raises DestinationRefused: `url_invalid` / `https_required` (permanent), `unresolvable`
    (may resolve later), `address_forbidden` (a literal is permanent; a name may be moved back).
    """
    scheme, host, port, target = _split(url)
    literal = _literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError, ValueError):
            raise DestinationRefused(
                f"cannot resolve {host}", code="unresolvable", permanent=False
            ) from None
        if not addresses:
            raise DestinationRefused(f"cannot resolve {host}", code="unresolvable", permanent=False)
    if not local_receiver_allowed(host):
        # Every address must be public: a name answering one public and one private address
        # would otherwise reach inside whenever the private one is tried.
        for value in addresses:
            if not address_is_public(ipaddress.ip_address(value.split("%", 1)[0])):
                raise DestinationRefused(
                    f"{host} resolves to a non-public address",
                    code="address_forbidden",
                    permanent=literal is not None,
                )
    unique = tuple(dict.fromkeys(addresses))
    return Destination(scheme=scheme, host=host, port=port, target=target, addresses=unique)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
