"""Former home of the ledger, now the package `agreements.ledger` (rows, heads, append,
verify, redact). Only re-exports what callers not yet moved still import from here; new
code imports from `agreements.ledger.*`, and this module goes once nothing names it.
"""

from __future__ import annotations

from agreements.ledger.append import ledger_append
from agreements.ledger.rows import EvidenceInput, chain_hash, record_payload
from agreements.ledger.verify import ledger_verify

__all__ = ["EvidenceInput", "chain_hash", "ledger_append", "ledger_verify", "record_payload"]
