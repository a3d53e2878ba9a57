"""Reads, always built from the caller's Scope: one module per area."""
