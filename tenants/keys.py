"""API key material: shown once, stored as a SHA-256 hash, looked up by a visible prefix.

Keys carry 256 bits of randomness, so a fast hash is the right tool (no password stretching
needed); comparison happens by indexed lookup of the hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

PARTNER_KEY_TAG = "tpk"  # terms partner key
PRODUCT_KEY_TAG = "tprd"  # terms product key


@dataclass(frozen=True)
class IssuedKey:
    full: str  # shown to the caller once
    prefix: str
    hashed: str


def hash_key(full: str) -> str:
    return hashlib.sha256(full.encode()).hexdigest()


def issue_key(tag: str, *, secret: str | None = None) -> IssuedKey:
    """New key `<tag>_<prefix>_<secret>`; `secret` is only passed by the demo loader."""
    prefix = (
        secrets.token_hex(4) if secret is None else hashlib.sha256(secret.encode()).hexdigest()[:8]
    )
    body = secret or secrets.token_urlsafe(32)
    full = f"{tag}_{prefix}_{body}"
    return IssuedKey(full=full, prefix=prefix, hashed=hash_key(full))


def prefix_of(full: str) -> str | None:
    parts = full.split("_", 2)
    if len(parts) != 3 or not parts[1]:
        return None
    return parts[1]
