"""Writes: one module per area (ledger, consents, versions, contracts, deletions, imports)."""
