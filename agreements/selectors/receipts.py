"""Reads of single ledger rows by what a receipt shows (its chain hash)."""

from __future__ import annotations

from agreements.models import ConsentRecord


def record_by_hash(value: str) -> ConsentRecord | None:
    """The ledger row with this chain hash (a unique index), for the public verify page."""
    digest = (value or "").strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return ConsentRecord.objects.filter(hash=digest).first()
