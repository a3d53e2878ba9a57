"""The checkpoint signing key: Ed25519, never in the database (docs/ledger.md, docs/operations.md).

Where it comes from, first match wins:

1. `TERMS_CHECKPOINT_KEY` — base64 of the 32 raw private bytes, or a PEM (PKCS#8) block;
2. `TERMS_CHECKPOINT_KEY_FILE` — a file holding either form;
3. in debug only, `<TERMS_VAR_DIR>/checkpoint-ed25519.pem`, made on first use (and logged), so
   `make run` signs checkpoints without setup; such a key proves nothing to anyone else.

In production without 1 or 2, signing raises `CheckpointKeyMissing`: the checkpoint job fails
loudly instead of writing unsigned checkpoints. Verifying needs only public keys: the signing
key's own and `TERMS_CHECKPOINT_PUBLIC_KEYS` (earlier keys, kept after a rotation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

logger = logging.getLogger("terms.ledger")

DEBUG_KEY_NAME = "checkpoint-ed25519.pem"


class CheckpointKeyMissing(Exception):
    """No signing key is configured (production): no checkpoint can be signed."""


class CheckpointKeyInvalid(Exception):
    """A configured key cannot be read as an Ed25519 key."""


# --- Reading keys ----------------------------------------------------------------------------


def private_key_from_text(text: str | bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM block or from base64 of its 32 raw bytes."""
    data = text.encode("ascii") if isinstance(text, str) else text
    data = data.strip()
    if data.startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointKeyInvalid("the PEM key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointKeyInvalid("the key is neither PEM nor base64") from None
    if len(raw) != 32:
        raise CheckpointKeyInvalid(f"an Ed25519 private key has 32 bytes, not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from base64 of its 32 raw bytes (as the public page shows it)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CheckpointKeyInvalid("a public key must be base64 of 32 bytes") from None
    if len(raw) != 32:
        raise CheckpointKeyInvalid(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_raw(key)).decode("ascii")


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 over the 32 raw public bytes."""
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


def private_b64(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode("ascii")


# --- The configured keys ---------------------------------------------------------------------


def _debug_key_path() -> Path:
    return Path(settings.VAR_DIR) / DEBUG_KEY_NAME


def _configured_private_key() -> Ed25519PrivateKey | None:
    inline = str(getattr(settings, "TERMS_CHECKPOINT_KEY", "") or "")
    if inline.strip():
        return private_key_from_text(inline)
    path = str(getattr(settings, "TERMS_CHECKPOINT_KEY_FILE", "") or "")
    if path:
        try:
            return private_key_from_text(Path(path).read_bytes())
        except OSError as exc:
            raise CheckpointKeyMissing(f"TERMS_CHECKPOINT_KEY_FILE cannot be read: {exc}") from exc
    return None


def signing_key() -> Ed25519PrivateKey:
    """The key checkpoints are signed with; raises CheckpointKeyMissing in production when
    none is configured. In debug, makes (once) and reuses a key file under the var dir."""
    key = _configured_private_key()
    if key is not None:
        return key
    if not settings.DEBUG:
        raise CheckpointKeyMissing(
            "no checkpoint signing key: set TERMS_CHECKPOINT_KEY or TERMS_CHECKPOINT_KEY_FILE "
            "(docs/operations.md, 'Ledger checkpoint key')"
        )
    path = _debug_key_path()
    if path.is_file():
        return private_key_from_text(path.read_bytes())
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return private_key_from_text(path.read_bytes())
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    logger.warning(
        "ledger.checkpoint_key_ephemeral",
        extra={"path": str(path), "key_id": key_id(key.public_key())},
    )
    return key


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """Public keys checkpoints are verified with, by key id: the signing key's (if this process
    has it; in debug, the local key file if it exists) and TERMS_CHECKPOINT_PUBLIC_KEYS."""
    keys: dict[str, Ed25519PublicKey] = {}
    for text in getattr(settings, "TERMS_CHECKPOINT_PUBLIC_KEYS", []) or []:
        if text.strip():
            public = public_key_from_text(text)
            keys[key_id(public)] = public
    private = _configured_private_key()
    if private is None and settings.DEBUG and _debug_key_path().is_file():
        private = private_key_from_text(_debug_key_path().read_bytes())
    if private is not None:
        public = private.public_key()
        keys[key_id(public)] = public
    return keys


def signature_is_valid(public: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True
