"""The confirmation step before a request is recorded: a customer's (R13) or staff's (R14).

A non-renewal, a termination or a deletion request is first shown as what it would record —
its end date, the deadline to withdraw it, the deletion date, and what the product's terms
attach to the end — and filed only when the customer confirms that screen.

The preview runs the very service that files the request inside a savepoint that is always
rolled back: the rules (R11 deadlines, R13 ends, R15 dates) live in the service, so the
screen can neither promise a date the service would not record nor accept a request it
would refuse. Nothing survives the rollback: rows, audit entries and outbox rows go with
it, and Django discards `on_commit` callbacks registered inside a rolled-back savepoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import transaction

from agreements.models import Contract
from agreements.selectors.contracts import ContractFacts, contract_facts
from core import clock

T = TypeVar("T")


@dataclass(frozen=True)
class Preview(Generic[T]):
    """What filing would record (`made`, unsaved) and the contract's facts once it is filed."""

    made: T
    facts: ContractFacts


class _RollBack(Exception):
    def __init__(self, preview: Preview[object]) -> None:
        super().__init__("preview")
        self.preview = preview


def preview(file: Callable[[], T], *, contract: Contract) -> Preview[T]:
    """Run `file` and read the contract's facts after it, then undo both (see the docstring).

    A refusal raised by `file` (a DomainError) propagates unchanged, as it would on filing.
    """
    try:
        with transaction.atomic():
            made = file()
            after = Contract.objects.select_related("product").get(pk=contract.pk)
            raise _RollBack(Preview(made=made, facts=contract_facts(after, clock.today())))
    except _RollBack as rolled_back:
        return rolled_back.preview  # type: ignore[return-value]
