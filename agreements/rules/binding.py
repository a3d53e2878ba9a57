"""Which documents bind a tenant (R1, Biz 1.2, 19): base terms and the options' rules; and
which version of a document binds it (R4, CC 548-4)."""

from __future__ import annotations

from collections.abc import Container, Hashable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar

from agreements.enums import ConsentMode, DocumentKind, LegalBasis
from agreements.rules.consents import answer_owed

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


# --- R4: which version of a document binds a tenant (CC 548-4) ------------------------


def on_548_4_ground(legal_basis: str) -> bool:
    """Whether a revision rests on a CC 548-4(1) ground, (i) general interest or (ii)
    reasonable: it binds from its effective date even a tenant that objected (R2, R6)."""
    return legal_basis in (LegalBasis.GENERAL_INTEREST, LegalBasis.REASONABLE)


def needs_individual_consent(*, legal_basis: str, consent_mode: str, historical: bool) -> bool:
    """Whether a version binds a tenant only once the tenant accepts it (R4).

    A revision on a CC 548-4(1) ground, (i) in the customers' general interest or (ii)
    reasonable, binds every bound tenant from its effective date whatever it answered: its
    remedy is ending the contract. A revision put to explicit consent because it is neither
    binds only a tenant that accepts it. A version with no recorded basis needs consent when it
    was put to explicit consent (no 548-4 ground can be cited for it); versions imported as
    history bind as they stood.
    """
    if historical:
        return False
    if legal_basis:
        return LegalBasis(legal_basis) == LegalBasis.EXPLICIT_CONSENT
    return ConsentMode(consent_mode) == ConsentMode.EXPLICIT


@dataclass(frozen=True)
class VersionInEffect:
    """A version that has taken effect, as binding_version weighs it."""

    key: Hashable
    effective_on: date
    needs_consent: bool  # needs_individual_consent


def binding_version(
    *,
    versions: Iterable[VersionInEffect],
    accepted: Container[Hashable],
    spans: Iterable[tuple[date, date | None]],
) -> Hashable | None:
    """The key of the version of one document that binds a tenant (R4), None when none does.

    Of the versions that have taken effect (the caller's order breaks ties of one date: newest
    first), the latest that binds the tenant: one on a 548-4(1) ground binds from its
    effective date; one put to explicit consent binds a tenant whose last answer to it is
    `accepted` (`accepted` holds those versions' keys), and a tenant that was not bound by the
    document on its effective date (`spans` as for answer_owed: a contract made later was made
    on that version). A tenant that rejected or stayed silent stays bound by the version before.
    """
    contracts = list(spans)
    for version in sorted(versions, key=lambda v: v.effective_on, reverse=True):
        if (
            not version.needs_consent
            or version.key in accepted
            or not answer_owed(effective_on=version.effective_on, spans=contracts)
        ):
            return version.key
    return None
