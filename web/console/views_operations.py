"""Console pages for operations: termination cases (R6), data deletions (R15), the audit
log, the products' API keys and deliveries that failed."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agreements.enums import CaseStatus, DeletionStatus
from agreements.models import DataDeletion, Product, ProductKey, TerminationCase
from agreements.services import consents as consent_services
from agreements.services.product_keys import product_key_issue, product_key_revoke
from agreements.templatetags.jdates import jdate_wd
from core import clock
from core.enums import OutboxStatus
from core.errors import DomainError
from core.masking import holds_masked_secret
from core.models import AuditEntry, Outbox
from tenants import partition
from tenants.delivery.outbox import outbox_retry
from web.console.access import (
    REFUSALS,
    ConsoleRequest,
    Need,
    call_service,
    console_view,
    flash_domain_error,
)
from web.console.audit_text import audit_rows
from web.console.forms_operations import CaseDecisionForm, ProductKeyForm
from web.console.selectors import case_rows

# --- cases ------------------------------------------------------------------------------------


@console_view(Need.READ)
def case_list(request: ConsoleRequest) -> HttpResponse:
    status = request.GET.get("status", CaseStatus.OPEN)
    rows = case_rows(
        status=status, today=clock.today(), notice_days=settings.TERMS_TERMINATION_NOTICE_DAYS
    )
    return render(
        request,
        "agreements/console/case_list.html",
        {
            "nav": "cases",
            "rows": rows,
            "status": status,
            "statuses": CaseStatus.choices,
            "form": CaseDecisionForm(),
            "notice_days": settings.TERMS_TERMINATION_NOTICE_DAYS,
        },
    )


@console_view(Need.DECIDE, methods=("POST",))
def case_decide(request: ConsoleRequest, pk: int, decision: str) -> HttpResponse:
    case = TerminationCase.objects.filter(pk=pk).first()
    if case is None or decision not in ("confirm", "drop"):
        raise Http404
    form = CaseDecisionForm(request.POST)
    note = form.data.get("note", "") if form.is_valid() else ""
    service = consent_services.case_confirm if decision == "confirm" else consent_services.case_drop
    try:
        decided = service(scope=request.scope, case=case, note=note)
        if decision == "confirm":
            messages.success(
                request,
                _("解約案件を確定しました。契約は %(date)s に終了します。")
                % {"date": jdate_wd(decided.end_date)},
            )
        else:
            messages.success(request, _("解約案件を取り下げました。"))
    except REFUSALS as error:
        flash_domain_error(request, error)
    return redirect("console:case-list")


# --- deletions --------------------------------------------------------------------------------


@console_view(Need.READ)
def deletion_list(request: ConsoleRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    # Live tenants only: a partner's sandbox is not the service's (docs/api.md, Sandbox).
    deletions = (
        DataDeletion.objects.filter(partition.tenant_q("tenant__"))
        .select_related("contract", "contract__product", "tenant")
        .order_by("due_on", "pk")
    )
    if status in DeletionStatus.values:
        deletions = deletions.filter(status=status)
    page = Paginator(deletions, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "agreements/console/deletion_list.html",
        {
            "nav": "deletions",
            "page_obj": page,
            "deletions": page.object_list,
            "status": status,
            "statuses": DeletionStatus.choices,
            "today": clock.today(),
        },
    )


# --- audit ------------------------------------------------------------------------------------


@console_view(Need.READ)
def audit_list(request: ConsoleRequest) -> HttpResponse:
    entries = AuditEntry.objects.select_related("actor").order_by("-at", "-pk")
    object_type = request.GET.get("type", "")
    object_id = request.GET.get("id", "")
    tenant_id = request.GET.get("tenant", "")
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id.isdigit():
        entries = entries.filter(object_id=int(object_id))
    if tenant_id.isdigit():
        entries = entries.filter(tenant_id=int(tenant_id))
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    types = sorted(AuditEntry.objects.order_by().values_list("object_type", flat=True).distinct())
    return render(
        request,
        "agreements/console/audit_list.html",
        {
            "nav": "audit",
            "page_obj": page,
            "entries": [
                (entry, _audit_type_label(entry.object_type), entry.action_label, text)
                for entry, text in audit_rows(page.object_list)
            ],
            "types": [(value, _audit_type_label(value)) for value in types],
            "object_type": object_type,
            "object_id": object_id,
            "tenant_id": tenant_id,
        },
    )


def _audit_type_label(object_type: str) -> str:
    """What an audited object is, as people call it (the model's verbose name), else its code."""
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


# --- products' API keys -----------------------------------------------------------------------


def _products_page(
    request: ConsoleRequest, *, forms: dict[int, ProductKeyForm] | None = None, **extra: object
) -> HttpResponse:
    products = (
        Product.objects.filter(sandbox__isnull=True).prefetch_related("keys").order_by("code")
    )
    forms = forms or {}
    context = {
        "nav": "products",
        "rows": [
            {"product": p, "form": forms.get(p.pk) or ProductKeyForm(prefix=f"p{p.pk}")}
            for p in products
        ],
        **extra,
    }
    status = 400 if any(f.errors for f in forms.values()) else 200
    response = render(request, "agreements/console/products.html", context, status=status)
    if "issued_key" in extra:
        response["Cache-Control"] = "no-store"  # the plain key is in this response only
    return response


@console_view(Need.READ)
def products(request: ConsoleRequest) -> HttpResponse:
    return _products_page(request)


@console_view(Need.DECIDE, methods=("POST",))
def product_key_new(request: ConsoleRequest, pk: int) -> HttpResponse:
    product = Product.objects.filter(pk=pk).first()
    if product is None:
        raise Http404
    form = ProductKeyForm(request.POST, prefix=f"p{product.pk}")
    if form.is_valid():
        ok, result = call_service(
            request,
            form,
            product_key_issue,
            scope=request.scope,
            product=product,
            **form.cleaned_data,
        )
        if ok:
            key, plain = result
            return _products_page(request, issued_key=plain, issued=key)
    return _products_page(request, forms={product.pk: form})


@console_view(Need.DECIDE, methods=("POST",))
def product_key_delete(request: ConsoleRequest, pk: int) -> HttpResponse:
    key = ProductKey.objects.filter(pk=pk).first()
    if key is None:
        raise Http404
    try:
        product_key_revoke(scope=request.scope, key=key)
        messages.success(request, _("キー %(prefix)s… を失効させました。") % {"prefix": key.prefix})
    except DomainError as error:
        flash_domain_error(request, error)
    return redirect("console:products")


# --- failed deliveries ------------------------------------------------------------------------


FAILED = (OutboxStatus.FAILED, OutboxStatus.DEAD)


@console_view(Need.READ, methods=("GET", "POST"), post=Need.OPERATE)
def deliveries(request: ConsoleRequest) -> HttpResponse:
    """Messages that could not be delivered (e-mail, webhooks), and a retry for staff."""
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()]
        try:
            count = outbox_retry(scope=request.scope, ids=ids)
            messages.success(request, _("%(count)s件を再送の対象にしました。") % {"count": count})
        except DomainError as error:
            flash_domain_error(request, error)
        return redirect("console:deliveries")
    # Messages a development mail backend only logged were delivered to nobody either; they
    # are listed so that nobody mistakes them for sent, but sending them again changes nothing.
    shown = (*FAILED, OutboxStatus.LOGGED)
    # Live messages only, as the dashboard counts them: a sandbox's are its partner's tests.
    rows = list(
        Outbox.objects.filter(partition.partner_ids_q(), status__in=shown).order_by(
            "-updated_at", "-pk"
        )[:500]
    )
    for row in rows:
        # A dead invitation lost its link when it was given up on: it is invited again, not
        # sent again (tenants.delivery.outbox.outbox_retry). The payload is never shown here.
        row.logged_only = row.status == OutboxStatus.LOGGED  # type: ignore[attr-defined]
        row.resendable = not row.logged_only and not holds_masked_secret(row.payload)  # type: ignore[attr-defined]
    return render(
        request, "agreements/console/deliveries.html", {"nav": "deliveries", "rows": rows}
    )
