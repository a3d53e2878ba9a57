"""Customer portal pages for receipts: every ledger row of the tenant and every request it
filed, one receipt as a page and as a PDF (R13: every answer and request gets one)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import translation

from agreements.models import ConsentRecord
from core.errors import DomainError
from web import receipts as receipt_pdf
from web.portal import selectors, selectors_requests
from web.portal.access import GATE_EXEMPT, member_scope, portal_view
from web.requests import PortalRequest


@portal_view()
def receipt_list(request: PortalRequest) -> HttpResponse:
    scope, tenant = member_scope(request)
    return render(
        request,
        "agreements/portal/receipt_list.html",
        {
            "nav": "receipts",
            "receipts": selectors.receipt_list(scope=scope, tenant=tenant),
            "requests": selectors_requests.request_list(scope=scope, tenant=tenant),
        },
    )


def _receipt(request: PortalRequest, pk: int) -> ConsentRecord:
    scope, tenant = member_scope(request)
    try:
        return selectors.receipt_get(scope=scope, tenant=tenant, pk=pk)
    except DomainError:
        raise Http404 from None


@portal_view(gate=GATE_EXEMPT)
def receipt_detail(request: PortalRequest, pk: int) -> HttpResponse:
    record = _receipt(request, pk)
    return render(
        request,
        "agreements/portal/receipt_detail.html",
        {
            "nav": "receipts",
            **receipt_pdf.receipt_context(record),
        },
    )


@portal_view(gate=GATE_EXEMPT)
def receipt_download(request: PortalRequest, pk: int) -> HttpResponse:
    record = _receipt(request, pk)
    pdf = receipt_pdf.render_receipt_pdf(
        record,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{receipt_pdf.receipt_file_name(record)}"'
    )
    return response


# --- Receipts of customer requests (R13) -------------------------------------------------------


def _request(request: PortalRequest, kind: str, pk: int) -> Any:
    scope, tenant = member_scope(request)
    try:
        return selectors_requests.request_get(scope=scope, tenant=tenant, kind=kind, pk=pk)
    except DomainError:
        raise Http404 from None


@portal_view(gate=GATE_EXEMPT)
def request_receipt(request: PortalRequest, kind: str, pk: int) -> HttpResponse:
    obj = _request(request, kind, pk)
    return render(
        request,
        "agreements/portal/request_receipt.html",
        {"nav": "receipts", **receipt_pdf.request_receipt_context(kind, obj)},
    )


@portal_view(gate=GATE_EXEMPT)
def request_receipt_download(request: PortalRequest, kind: str, pk: int) -> HttpResponse:
    obj = _request(request, kind, pk)
    pdf = receipt_pdf.render_request_receipt_pdf(
        kind,
        obj,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{receipt_pdf.request_receipt_file_name(kind, obj)}"'
    )
    return response
