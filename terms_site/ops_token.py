"""The operator's token (TERMS_METRICS_TOKEN) for /metrics and the /readyz detail.

Compared in constant time, and outside debug accepted over HTTPS only: TLS to gunicorn, or
the TLS proxy's X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER). Over plain HTTP the token would
cross the network in clear text on every scrape (docs/security.md, docs/operations.md).
"""

from __future__ import annotations

import enum
import hmac
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)


class OpsAccess(enum.Enum):
    """What a caller's credentials for the operator endpoints (/metrics, /readyz detail) are."""

    CLOSED = "closed"  # no TERMS_METRICS_TOKEN configured: the detail does not exist
    INSECURE = "insecure"  # a credential over plain HTTP outside debug: refused, whatever it is
    DENIED = "denied"  # missing or wrong token
    GRANTED = "granted"


def ops_access(request: HttpRequest) -> OpsAccess:
    """Check the bearer token (TERMS_METRICS_TOKEN) in constant time, over HTTPS only outside
    debug. HTTPS is the connection's own or, behind the TLS proxy, SECURE_PROXY_SSL_HEADER."""
    token = settings.TERMS_METRICS_TOKEN
    if not token:
        return OpsAccess.CLOSED
    header = request.headers.get("Authorization", "")
    if header and settings.TERMS_METRICS_REQUIRE_HTTPS and not request.is_secure():
        # Refused even when right, so a scraper configured for plain HTTP fails on its first
        # scrape instead of sending the token in clear text every 15 seconds.
        logger.warning("ops.token_over_plain_http", extra={"path": request.path})
        return OpsAccess.INSECURE
    scheme, _sep, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return OpsAccess.DENIED
    if hmac.compare_digest(presented.strip().encode(), token.encode()):
        return OpsAccess.GRANTED
    return OpsAccess.DENIED
