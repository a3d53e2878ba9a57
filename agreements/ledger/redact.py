"""Redaction (R15 backup purge): the personal data behind the rows goes, the chain stays.

The rows hold only salted digests of the evidence (rows.evidence_digests); deleting the
evidence rows, salts included, leaves every hash verifiable and the digests unguessable.
"""

from __future__ import annotations

from django.db import transaction

from agreements.models import ConsentEvidence


@transaction.atomic
def evidence_redact(*, tenant_id: int) -> int:
    """Delete the tenant's consent evidence; returns the number of rows deleted."""
    deleted, _per_model = ConsentEvidence.objects.filter(tenant_id=tenant_id).delete()
    return deleted
