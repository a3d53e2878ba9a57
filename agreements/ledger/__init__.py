"""The consent ledger: one append-only hash chain per tenant (docs/ledger.md).

- `rows`: what a row holds and its hash (pure: the one definition, used by every writer);
- `heads`: the per-tenant chain heads, locked and moved by the appends, read by operations;
- `append`: `append_one` (one answer under its tenant's head lock) and `append_many` (a
  batch of tenants, heads locked together and saved in one statement);
- `verify`: `ledger_verify` and the export for the standalone verifier;
- `redact`: deleting the evidence behind the rows (R15).
"""
