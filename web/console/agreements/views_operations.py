"""Console pages for the products' API keys and for deliveries that failed."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agreements.models import Product, ProductKey
from agreements.services.product_keys import product_key_issue, product_key_revoke
from core.delivery import outbox_retry
from core.enums import OutboxStatus
from core.errors import DomainError
from core.models import Outbox
from web.console.agreements.forms import ProductKeyForm
from web.console.tenants.access import Need, call_service, console_view, flash_domain_error


def _products_page(request: HttpRequest, **extra: object) -> HttpResponse:
    products = Product.objects.prefetch_related("keys").order_by("code")
    forms = extra.pop("forms", {})
    context = {
        "nav": "products",
        "rows": [
            {"product": p, "form": forms.get(p.pk) or ProductKeyForm(prefix=f"p{p.pk}")}
            for p in products
        ],
        **extra,
    }
    status = 400 if any(f.errors for f in forms.values()) else 200  # type: ignore[union-attr]
    response = render(request, "agreements/console/products.html", context, status=status)
    if "issued_key" in extra:
        response["Cache-Control"] = "no-store"  # the plain key is in this response only
    return response


@console_view(Need.READ)
def products(request: HttpRequest) -> HttpResponse:
    return _products_page(request)


@console_view(Need.DECIDE, methods=("POST",))
def product_key_new(request: HttpRequest, pk: int) -> HttpResponse:
    product = Product.objects.filter(pk=pk).first()
    if product is None:
        raise Http404
    form = ProductKeyForm(request.POST, prefix=f"p{product.pk}")
    if form.is_valid():
        ok, result = call_service(
            request,
            form,
            product_key_issue,
            scope=request.scope,  # type: ignore[attr-defined]
            product=product,
            **form.cleaned_data,
        )
        if ok:
            key, plain = result
            return _products_page(request, issued_key=plain, issued=key)
    return _products_page(request, forms={product.pk: form})


@console_view(Need.DECIDE, methods=("POST",))
def product_key_delete(request: HttpRequest, pk: int) -> HttpResponse:
    key = ProductKey.objects.filter(pk=pk).first()
    if key is None:
        raise Http404
    try:
        product_key_revoke(scope=request.scope, key=key)  # type: ignore[attr-defined]
        messages.success(request, _("キー %(prefix)s… を失効させました。") % {"prefix": key.prefix})
    except DomainError as error:
        flash_domain_error(request, error)
    return redirect("console:products")


FAILED = (OutboxStatus.FAILED, OutboxStatus.DEAD)


@console_view(Need.READ, methods=("GET", "POST"))
def deliveries(request: HttpRequest) -> HttpResponse:
    """Messages that could not be delivered (e-mail, webhooks), and a retry for staff."""
    if request.method == "POST":
        if not request.console.can_operate:  # type: ignore[attr-defined]
            raise DjangoPermissionDenied
        ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()]
        try:
            count = outbox_retry(scope=request.scope, ids=ids)  # type: ignore[attr-defined]
            messages.success(request, _("%(count)s件を再送の対象にしました。") % {"count": count})
        except DomainError as error:
            flash_domain_error(request, error)
        return redirect("console:deliveries")
    rows = Outbox.objects.filter(status__in=FAILED).order_by("-updated_at", "-pk")[:500]
    return render(
        request, "agreements/console/deliveries.html", {"nav": "deliveries", "rows": rows}
    )
