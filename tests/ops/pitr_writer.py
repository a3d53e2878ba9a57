"""Writes consent answers into the point-in-time recovery test's own cluster (test_pitr.py).

Run as a separate process (`python -m tests.ops.pitr_writer seed|answer …`) with DATABASE_URL
pointing at that cluster, so the rows go through the service exactly as in production — the
ledger's append, the projection, the outbox — and nothing touches the test run's database.

    seed TENANTS ROWS   a posted explicit-consent version, TENANTS bound tenants with ROWS
                        ledger rows each, and the tenant that answers below (no rows yet)
    answer ANSWER       that tenant answers the version (accepted / rejected) through
                        consent_answer; prints the new row as JSON
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

import django

TENANT_NAME = "PITR answering tenant"
VERSION_LABEL = "pitr-1"


def _seed(tenants: int, rows: int) -> dict[str, int]:
    from agreements.enums import ConsentMode
    from core import clock
    from tests.factories.agreements import DocumentFactory, ProductFactory
    from tests.factories.consents import bound_tenant, chain_rows, posted_version
    from tests.factories.tenants import TenantFactory

    today = clock.today()
    version = posted_version(
        DocumentFactory(product=ProductFactory(code="optimal-biz")),
        label=VERSION_LABEL,
        mode=ConsentMode.EXPLICIT,
        notice_on=today - timedelta(days=1),
        effective_on=today + timedelta(days=30),
    )
    for _ in range(tenants):
        contract = bound_tenant(version.document)
        chain_rows(contract.tenant, version, rows)
    bound_tenant(version.document, TenantFactory(name=TENANT_NAME))
    return {"version_id": version.pk, "rows": tenants * rows}


def _answer(answer: str) -> dict[str, object]:
    from agreements.ledger.rows import EvidenceInput
    from agreements.models import TermsVersion
    from agreements.services.consents.answers import consent_answer
    from tenants.models import Membership, Tenant
    from tenants.scope import Scope
    from tests.factories.consents import admin_scope

    tenant = Tenant.objects.get(name=TENANT_NAME)
    version = TermsVersion.objects.get(label=VERSION_LABEL)
    # The same customer administrator answers both times (one process per answer).
    membership = Membership.objects.filter(tenant=tenant).first()
    scope = Scope.tenant_user(membership) if membership else admin_scope(tenant)
    record, created = consent_answer(
        scope=scope,
        tenant=tenant,
        version=version,
        answer=answer,
        evidence=EvidenceInput(person_name="山田太郎", person_email="taro@customer.example"),
    )
    assert created, "the answer must add a ledger row"
    return {
        "id": record.pk,
        "tenant_id": tenant.pk,
        "seq": record.seq,
        "hash": record.hash,
        "answer": record.answer,
        "recorded_at": record.recorded_at.isoformat(),
    }


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")
    django.setup()
    command, *args = argv
    if command == "seed":
        result: dict[str, object] = dict(_seed(int(args[0]), int(args[1])))
    elif command == "answer":
        result = _answer(args[0])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
