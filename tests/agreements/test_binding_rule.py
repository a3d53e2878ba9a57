"""Which version of a document binds a tenant (R4, CC 548-4): the pure rule, no database."""

from __future__ import annotations

from datetime import date

import pytest

from agreements.enums import ConsentMode, LegalBasis
from agreements.rules import VersionInEffect, binding_version, needs_individual_consent

V1 = VersionInEffect(key="v1", effective_on=date(2024, 1, 1), needs_consent=False)
V2 = VersionInEffect(key="v2", effective_on=date(2025, 4, 1), needs_consent=True)
V3 = VersionInEffect(key="v3", effective_on=date(2026, 4, 1), needs_consent=True)
OPEN = [(date(2024, 4, 1), None)]  # a contract since 2024-04-01, no end filed


@pytest.mark.parametrize(
    ("legal_basis", "mode", "historical", "needs"),
    [
        (LegalBasis.EXPLICIT_CONSENT, ConsentMode.EXPLICIT, False, True),
        # CC 548-4(1)(i)/(ii): binds every bound tenant at the effective date, even when the
        # company also asked for consent.
        (LegalBasis.GENERAL_INTEREST, ConsentMode.DEEMED, False, False),
        (LegalBasis.GENERAL_INTEREST, ConsentMode.EXPLICIT, False, False),
        (LegalBasis.REASONABLE, ConsentMode.DEEMED, False, False),
        (LegalBasis.REASONABLE, ConsentMode.EXPLICIT, False, False),
        # No basis recorded: no 548-4 ground to cite for a revision put to explicit consent.
        ("", ConsentMode.EXPLICIT, False, True),
        ("", ConsentMode.DEEMED, False, False),
        # Imported as history: binds as it stood.
        (LegalBasis.EXPLICIT_CONSENT, ConsentMode.EXPLICIT, True, False),
        ("", ConsentMode.EXPLICIT, True, False),
    ],
)
def test_needs_individual_consent_r4_only_revisions_without_a_548_4_ground(
    legal_basis: str, mode: str, historical: bool, needs: bool
) -> None:
    assert (
        needs_individual_consent(legal_basis=legal_basis, consent_mode=mode, historical=historical)
        is needs
    )


@pytest.mark.parametrize(
    ("versions", "accepted", "spans", "bound"),
    [
        # Silent or rejecting on an explicit revision: the version before binds.
        ([V2, V1], set(), OPEN, "v1"),
        # Accepted: the revision binds.
        ([V2, V1], {"v2"}, OPEN, "v2"),
        # A 548-4 revision binds everyone from its effective date.
        ([VersionInEffect("v2", date(2025, 4, 1), False), V1], set(), OPEN, "v2"),
        # Two explicit revisions: accepted the first only, silent on the second.
        ([V3, V2, V1], {"v2"}, OPEN, "v2"),
        ([V3, V2, V1], {"v3"}, OPEN, "v3"),
        ([V3, V2, V1], set(), OPEN, "v1"),
        # A contract made after the revision took effect was made on it (R1).
        ([V2, V1], set(), [(date(2025, 5, 1), None)], "v2"),
        # ... on the effective date itself the contract was bound by the change: it owes it.
        ([V2, V1], set(), [(date(2025, 4, 1), None)], "v1"),
        # An earlier contract ended before the revision, a new one began after it.
        ([V2, V1], set(), [(date(2024, 4, 1), date(2025, 3, 31)), (date(2025, 6, 1), None)], "v2"),
        # The caller's order is any order: newest effective date wins.
        ([V1, V2], {"v2"}, OPEN, "v2"),
        # Nothing binds without consent and the tenant never accepted: none recorded.
        ([V2], set(), OPEN, None),
        ([], set(), OPEN, None),
    ],
)
def test_binding_version_r4_previous_version_binds_until_accepted(
    versions: list[VersionInEffect], accepted: set[str], spans: list, bound: str | None
) -> None:
    assert binding_version(versions=versions, accepted=accepted, spans=spans) == bound


def test_binding_version_r4_same_effective_date_keeps_the_callers_order() -> None:
    a = VersionInEffect("a", date(2025, 4, 1), False)
    b = VersionInEffect("b", date(2025, 4, 1), False)
    assert binding_version(versions=[b, a], accepted=set(), spans=OPEN) == "b"


def test_binding_version_r4_accepts_generators() -> None:
    assert binding_version(versions=iter([V2, V1]), accepted={"v2"}, spans=iter(OPEN)) == "v2"
