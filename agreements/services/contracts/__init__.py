"""Contracts: creation, renewals and non-renewal, terminations, ends and succession (R9–R14, R18, R19).

One module per transition family. Every service is one transaction, takes the caller's Scope and
raises core.errors; the lifecycle services in `roll` commit one transaction per batch, with a
constant number of queries per batch. The names below are the package's public surface.
"""

from __future__ import annotations

from agreements.services.contracts.common import NOTICE_REQUIRED_REASONS, contract_for_write
from agreements.services.contracts.create import contract_create
from agreements.services.contracts.ends import contract_end
from agreements.services.contracts.non_renewal import non_renewal_request, non_renewal_withdraw
from agreements.services.contracts.roll import contracts_roll_due
from agreements.services.contracts.succession import succession
from agreements.services.contracts.terminations import termination_request, termination_schedule

__all__ = [
    "NOTICE_REQUIRED_REASONS",
    "contract_create",
    "contract_end",
    "contract_for_write",
    "contracts_roll_due",
    "non_renewal_request",
    "non_renewal_withdraw",
    "succession",
    "termination_request",
    "termination_schedule",
]
