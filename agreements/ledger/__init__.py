"""The ledger: one chain per tenant, its rows, appends, heads and verification (DESIGN: Ledger)."""
