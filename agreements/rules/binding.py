"""Which documents bind a tenant (R1, Biz 1.2, 19): base terms and the options' rules."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from agreements.enums import DocumentKind

# --- R1: which documents bind a tenant (Biz 1.2, 19) -----------------------------------


@dataclass(frozen=True)
class ActiveContract:
    """A tenant's active contract for a product, with the options it includes (R1)."""

    product_id: Hashable
    option_ids: frozenset[Hashable] = frozenset()


class BindableDocument(Protocol):
    """What binding_documents needs of a terms document (a TermsDocument model fits)."""

    @property
    def product_id(self) -> Hashable: ...

    @property
    def option_id(self) -> Hashable | None: ...

    @property
    def kind(self) -> str: ...


_D = TypeVar("_D", bound=BindableDocument)


def is_document_binding(
    *, product_id: Hashable, option_id: Hashable | None, active_contracts: Iterable[ActiveContract]
) -> bool:
    """Whether a document binds a tenant with these active contracts (R1).

    Base terms bind while a contract for the product is active; an option's individual
    rules bind while such a contract includes that option.
    """
    return any(
        contract.product_id == product_id
        and (option_id is None or option_id in contract.option_ids)
        for contract in active_contracts
    )


def binding_documents(
    *, documents: Iterable[_D], active_contracts: Iterable[ActiveContract]
) -> list[_D]:
    """The documents that bind a tenant, individual rules first because they prevail (R1)."""
    contracts = list(active_contracts)
    bound = [
        document
        for document in documents
        if is_document_binding(
            product_id=document.product_id,
            option_id=document.option_id,
            active_contracts=contracts,
        )
    ]
    # sorted() is stable, so the caller's order holds within each kind.
    return sorted(bound, key=lambda document: document.kind != DocumentKind.INDIVIDUAL)
