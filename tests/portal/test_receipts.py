"""Receipts: every ledger row of the tenant as a page and a PDF with embedded Japanese
fonts, and the public /verify/ page that reveals nothing but validity, time and seq."""

from __future__ import annotations

import re
import subprocess
import zlib

import pytest
from django.test import Client

from agreements.models import ConsentRecord
from tests.portal.conftest import signed_in
from web.receipts import record_is_intact

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def record(world, admin_client) -> ConsentRecord:
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    return ConsentRecord.objects.get(tenant=world.tenant)


def test_receipt_page_shows_who_when_which_version_and_the_chain(world, record) -> None:
    body = signed_in(world.viewer).get(f"/portal/receipts/{record.pk}/").content.decode()
    for text in (
        "管理 太郎",
        world.admin.user.email,
        "2025年3月10日（月） 09:00",
        "ポータル",
        "2025年4月1日改定",
        record.version_body_hash,
        record.prev_hash,
        record.hash,
        "記録は改ざんされていません",
    ):
        assert text in body, text


def test_receipt_list_has_every_ledger_row(world, record, admin_client) -> None:
    admin_client.post(
        f"/portal/changes/{world.v2.pk}/answer/", {"answer": "rejected", "confirm": "True"}
    )
    body = admin_client.get("/portal/receipts/").content.decode()
    rows = ConsentRecord.objects.filter(tenant=world.tenant).order_by("-seq")
    assert [r.seq for r in rows] == [2, 1]
    for row in rows:
        assert f"/portal/receipts/{row.pk}/pdf/" in body


def test_receipt_pdf_embeds_the_japanese_font(world, record) -> None:
    response = signed_in(world.viewer).get(f"/portal/receipts/{record.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="receipt-accepted-{world.contract.product.code}-2025-03-10-no{record.seq}.pdf"'
    )
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    objects = _pdf_objects(pdf)
    assert b"NotoSansCJK" in objects  # the font's name ...
    assert b"/FontFile" in objects  # ... and its program embedded, not only referenced


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF's objects with their Flate streams inflated (weasyprint packs the font
    descriptors into compressed object streams)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


def test_verify_confirms_a_receipt_and_reveals_nothing_else(world, record) -> None:
    body = Client().get("/verify/", {"hash": record.hash}).content.decode()
    assert "有効：この記録は台帳に変更されずに残っています" in body
    assert "台帳の番号: 1" in body
    assert "2025年3月10日（月） 09:00" in body
    for secret in (world.tenant.name, world.admin.user.email, record.version_body_hash, "2025-04"):
        assert secret not in body


def test_verify_unknown_or_malformed_hash_is_not_found(db) -> None:
    client = Client()
    for value in ("f" * 64, "not-a-hash"):
        body = client.get("/verify/", {"hash": value}).content.decode()
        assert "見つかりません" in body


def test_record_integrity_detects_a_changed_row(record) -> None:
    assert record_is_intact(record)
    record.answer = "rejected"  # in memory only: the database trigger refuses updates
    assert not record_is_intact(record)


def test_receipt_pages_are_named_by_kind_and_number(world, record, admin_client) -> None:
    """Title and breadcrumb say what the receipt is (not a bare 「#1」), and the list's links
    are told apart by their accessible names (each names its receipt)."""
    body = admin_client.get(f"/portal/receipts/{record.pk}/").content.decode()
    assert f"<title>改定への同意の受領証 第{record.seq}号" in body
    crumb = re.search(r'data-testid="receipt-crumb">([^<]*)<', body)
    assert crumb is not None
    assert crumb.group(1).strip() == f"改定への同意の受領証 第{record.seq}号"
    listing = admin_client.get("/portal/receipts/").content.decode()
    named = f'<span class="visually-hidden">：受領証 第{record.seq}号（同意）</span>'
    assert f"表示{named}</a>" in listing
    assert f"PDF{named}</a>" in listing


def test_receipt_pdf_prints_the_verify_address_with_its_hash(world, record, tmp_path) -> None:
    response = signed_in(world.viewer).get(f"/portal/receipts/{record.pk}/pdf/")
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f"/verify/?hash={record.hash}" in "".join(text.split())
    assert f"/verify/?hash={record.hash}".encode() in _pdf_objects(response.content)  # a link
