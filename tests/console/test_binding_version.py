"""The console shows which version binds each tenant (R4): on the tenant's page and in the
dashboard's drill-down (and its CSV), the previous version for a tenant that has not accepted a
revision put to explicit consent."""

from __future__ import annotations

import re
from datetime import date

import pytest

from agreements.enums import Answer, ConsentMode, LegalBasis
from agreements.services.consents import consent_answer, consent_states_open
from agreements.services.versions.effective import version_apply_effective
from core import clock
from tests.factories.agreements import DocumentFactory, VersionFactory
from tests.factories.consents import admin_scope, bound_tenant, posted_version
from tests.factories.contracts import biz_product, idplus_product

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BEFORE = date(2025, 3, 10)
EFFECTIVE_ON = date(2025, 4, 1)
AFTER = date(2025, 4, 10)


def _world(code: str):
    product = biz_product() if code == "optimal-biz" else idplus_product()
    document = DocumentFactory(product=product)
    v1 = VersionFactory(document=document, label="2024-01")
    accepting = bound_tenant(document).tenant
    silent = bound_tenant(document).tenant
    v2 = posted_version(
        document,
        mode=ConsentMode.EXPLICIT,
        legal_basis=LegalBasis.EXPLICIT_CONSENT,
        label="2025-04",
    )
    consent_states_open(version=v2)
    with clock.frozen_at(BEFORE):
        consent_answer(
            scope=admin_scope(accepting), tenant=accepting, version=v2, answer=Answer.ACCEPTED
        )
    with clock.frozen_at(EFFECTIVE_ON):
        version_apply_effective(version_id=v2.pk, today=EFFECTIVE_ON)
    return v1, v2, accepting, silent


def _cells(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", " ", cell)
        for cell in re.findall(r'<td data-testid="binding-version">(.*?)</td>', html, re.S)
    ]


@pytest.mark.parametrize("code", ["optimal-biz", "optim-id-plus"])
def test_console_tenant_detail_r4_shows_the_version_binding_the_tenant(
    client, viewer, code: str
) -> None:
    _v1, _v2, accepting, silent = _world(code)
    client.force_login(viewer)
    with clock.frozen_at(AFTER):
        silent_page = client.get(f"/console/tenants/{silent.pk}/").content.decode()
        accepting_page = client.get(f"/console/tenants/{accepting.pk}/").content.decode()
    (cell,) = _cells(silent_page)
    # Bound by v1; v2, the version in force, not accepted.
    assert "2024-01" in cell
    assert "2025-04" in cell
    assert "未同意" in cell
    (cell,) = _cells(accepting_page)
    assert "2025-04" in cell
    assert "2024-01" not in cell


def test_console_dashboard_drill_r4_lists_each_tenants_binding_version(client, viewer) -> None:
    _v1, v2, accepting, silent = _world("optimal-biz")
    client.force_login(viewer)
    with clock.frozen_at(AFTER):
        page = client.get(f"/console/dashboard/versions/{v2.pk}/?status=bound").content.decode()
        csv = client.get(f"/console/dashboard/versions/{v2.pk}/?status=bound&format=csv")
    rows = {
        name: label
        for name, label in re.findall(
            r'>([^<>]+)</a></td>.*?<td data-testid="binding-version">([^<]*)</td>', page, re.S
        )
    }
    assert rows == {accepting.name: "2025-04", silent.name: "2024-01"}
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].endswith("適用されている版")
    assert {line.split(",")[-1] for line in lines[1:]} == {"2025-04", "2024-01"}
    assert any(line.startswith(f"{silent.pk},") and line.endswith(",2024-01") for line in lines)
