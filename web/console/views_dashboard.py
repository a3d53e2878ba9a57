"""The consent dashboard: counts and shares per document and version, a chart, drill-down
to the tenants behind each number, CSV export, and the "upcoming" panel."""

from __future__ import annotations

import io

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agreements.enums import ConsentStatus
from agreements.models import NoticeDelivery, ScheduledReminder, TermsVersion
from agreements.selectors.consents import (
    answer_by,
    binding_versions_for_tenants,
    consent_status_label,
)
from agreements.services.consents.reach import notice_delivery_record
from agreements.services.consents.reminder_schedule import (
    reminder_cancel,
    reminder_schedule,
    version_answer_deadline,
)
from agreements.services.consents.reminders import (
    REMIND_INTERVAL,
    consent_remind_now,
    remindable,
    reminder_counts,
)
from agreements.templatetags.jdates import jdate_wd
from core import clock
from core.errors import DomainError
from core.replica import reads_from_replica
from tenants.selectors import tenant_get
from web.console import csvfile
from web.console.access import (
    REFUSALS,
    ConsoleRequest,
    Need,
    call_service,
    console_view,
    flash_domain_error,
    raise_404,
)
from web.console.charts import stacked_bars
from web.console.forms_dashboard import (
    DashboardFilterForm,
    NoticeDeliveryForm,
    ReminderScheduleForm,
)
from web.console.selectors import (
    COLUMNS,
    dashboard_rows,
    dashboard_tenants,
    live_versions,
    reminder_history,
    scheduled_reminders,
    upcoming,
)


def _filters(request: HttpRequest) -> tuple[DashboardFilterForm, int | None, str | None]:
    """The filters asked for; a filter that names no product or sales channel of the service
    is the form's error, never "no filter" (the figures would pass for the filtered ones)."""
    form = DashboardFilterForm(_filter_query(request) or None)
    product_id = partner = None
    if form.is_valid():
        product = form.cleaned_data.get("product")
        product_id = product.pk if product else None
        partner = form.cleaned_data.get("partner") or None
    return form, product_id, partner


def _filter_query(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET[name] for name in ("product", "partner") if name in request.GET}


def _filter_suffix(product_id: int | None, partner: str | None) -> str:
    """`-product-2-partner-5` / `-partner-direct`: what a CSV was filtered by, for its name."""
    suffix = f"-product-{product_id}" if product_id else ""
    return suffix + (f"-partner-{partner}" if partner else "")


INVALID_FILTER = gettext_lazy(
    "絞り込みの条件が正しくないため、数値を表示していません。条件を選び直してください。"
)


def _invalid_filter(
    request: HttpRequest, template: str, context: dict[str, object]
) -> HttpResponse:
    """A 400 for a filter naming nothing of the service: the page with the message and no
    figures, or the message alone for a CSV."""
    if request.GET.get("format") == "csv":
        return HttpResponse(
            str(INVALID_FILTER), status=400, content_type="text/plain; charset=utf-8"
        )
    context = {"nav": "dashboard", "invalid_filter": INVALID_FILTER, **context}
    return render(request, template, context, status=400)


def _label(version: TermsVersion | None) -> str:
    return version.label if version is not None else ""


def _csv_response(filename: str, header: list[str], rows: list[list[object]]) -> HttpResponse:
    buffer = io.StringIO()
    buffer.write(csvfile.BOM)
    writer = csvfile.Writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    response = HttpResponse(
        buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _labels() -> dict[str, str]:
    return {value: str(label) for value, label in ConsentStatus.choices}


@console_view(Need.READ)
@reads_from_replica()  # counts over every tenant: the replica's work (core/replica.py)
def dashboard(request: ConsoleRequest) -> HttpResponse:
    form, product_id, partner = _filters(request)
    if form.is_bound and not form.is_valid():
        return _invalid_filter(request, "agreements/console/dashboard.html", {"form": form})
    rows = dashboard_rows(product_id=product_id, partner=partner)
    if request.GET.get("format") == "csv":
        labels = _labels()
        header = [_("製品"), _("文書"), _("版"), _("効力発生日"), _("対象テナント")]
        for status in COLUMNS:
            header += [labels[status], f"{labels[status]} (%)"]
        data = []
        for row in rows:
            line: list[object] = [
                row.document.product.name,
                row.document.title,
                row.version.label,
                row.version.effective_on.isoformat() if row.version.effective_on else "",
                row.bound,
            ]
            for cell in row.cells:
                line += [cell["count"], cell["percent"]]
            data.append(line)
        # The file's name says its filter: two downloads are told apart without opening them.
        name = f"consent-dashboard-{clock.today().isoformat()}{_filter_suffix(product_id, partner)}"
        return _csv_response(f"{name}.csv", header, data)
    today = clock.today()
    reminders = scheduled_reminders([row.version.pk for row in rows])
    for row in rows:
        row.reminders = reminders[row.version.pk]
    return render(
        request,
        "agreements/console/dashboard.html",
        {
            "nav": "dashboard",
            "form": form,
            "rows": rows,
            "chart": stacked_bars(rows),
            "columns": [(s, _labels()[s]) for s in COLUMNS],
            "upcoming": upcoming(today=today, product_id=product_id, partner=partner),
            "today": today,
            "query": request.GET.urlencode(),
        },
    )


@console_view(Need.READ)
@reads_from_replica()
def dashboard_drill(request: ConsoleRequest, pk: int) -> HttpResponse:
    """The tenants behind one number (status "bound" or one of the columns)."""
    version = live_versions().filter(pk=pk).first()
    if version is None:
        raise Http404
    status = request.GET.get("status") or "bound"
    partner = request.GET.get("partner") or None
    channel = DashboardFilterForm({"partner": partner or ""})
    if (status != "bound" and status not in ConsentStatus.values) or not channel.is_valid():
        # No status or sales channel of the service: said, never "every tenant" instead.
        return _invalid_filter(
            request,
            "agreements/console/dashboard_drill.html",
            {"version": version, "document": version.document, "status_label": _("対象テナント")},
        )
    tenants = dashboard_tenants(
        version=version, status=None if status == "bound" else status, partner=partner
    )
    if request.GET.get("format") == "csv":
        everyone = list(tenants)
        bound = binding_versions_for_tenants(
            document=version.document, tenant_ids=[t.pk for t in everyone]
        )
        data = [
            [
                t.pk,
                t.name,
                t.corporate_number or "",
                t.partner.name if t.partner else _("当社直販"),
                _label(bound[t.pk]),
            ]
            for t in everyone
        ]
        return _csv_response(
            f"consent-{version.pk}-{status}{_filter_suffix(None, partner)}.csv",
            [_("テナントID"), _("名称"), _("法人番号"), _("販売経路"), _("適用されている版")],
            data,
        )
    shown = list(tenants[:1000])
    # R4: the version binding each tenant (the previous one until it accepts an explicit
    # revision); three queries for the page.
    bound = binding_versions_for_tenants(
        document=version.document, tenant_ids=[t.pk for t in shown]
    )
    return render(
        request,
        "agreements/console/dashboard_drill.html",
        {
            "nav": "dashboard",
            "version": version,
            "document": version.document,
            "status": status,
            "status_label": (
                consent_status_label(status, legal_basis=version.legal_basis)
                if status in ConsentStatus.values
                else _("対象テナント")
            ),
            "tenants": [(t, bound[t.pk]) for t in shown],
            "count": tenants.count(),
            "partner": partner or "",
            "chosen": channel.chosen(),
        },
    )


# The action notice_delivery_record requires (tenants.authz decides who holds it).
@console_view(Need.DECIDE, methods=("GET", "POST"))
def notice_delivery(request: ConsoleRequest, pk: int, tenant_pk: int) -> HttpResponse:
    """Record that a posted notice reached one tenant out of band (R3: post, phone, a
    partner's confirmed relay), so an `unnotified` tenant can be deemed once the lead time
    has run from that day; the deliveries already known are listed beside the form."""
    version = live_versions().filter(pk=pk, posted_at__isnull=False).first()
    if version is None:
        raise Http404
    try:
        tenant = tenant_get(scope=request.scope, pk=tenant_pk)
    except DomainError as error:
        raise_404(error)
    form = NoticeDeliveryForm(
        request.POST or None, initial={"reached_on": clock.today().isoformat()}
    )
    if request.method == "POST" and form.is_valid():
        ok, _row = call_service(
            request,
            form,
            notice_delivery_record,
            success=_("お知らせの到達を記録しました。"),
            fields_by_code={
                "route_invalid": "route",
                "reached_on_invalid": "reached_on",
                "note_required": "note",
            },
            scope=request.scope,
            tenant=tenant,
            version=version,
            route=form.route_value(),
            reached_on=form.cleaned_data["reached_on"],
            note=form.cleaned_data["note"],
        )
        if ok:
            return HttpResponseRedirect(reverse("console:tenant-detail", args=[tenant.pk]))
    deliveries = (
        NoticeDelivery.objects.filter(tenant=tenant, version=version)
        .select_related("recorded_by")
        .order_by("reached_at")
    )
    return render(
        request,
        "agreements/console/notice_delivery.html",
        {
            "nav": "dashboard",
            "version": version,
            "document": version.document,
            "tenant": tenant,
            "form": form,
            "deliveries": deliveries,
        },
        status=400 if form.errors else 200,
    )


# Reminding is a write towards customers: the staff who keep customer records (editor,
# publisher; tenants.authz), the same action as in every other interface.
@console_view(Need.READ, methods=("GET", "POST"), post=Need.OPERATE)
def dashboard_remind(request: ConsoleRequest, pk: int) -> HttpResponse:
    """Remind the tenants that have not answered a posted revision, now: the page says how
    many will be reminded and how many were reminded within the last 24 hours (skipped)."""
    version = live_versions().filter(pk=pk).first()
    if version is None:
        raise Http404
    if request.method == "POST":
        try:
            done = consent_remind_now(scope=request.scope, version=version)
        except REFUSALS as error:
            flash_domain_error(request, error)
        else:
            messages.success(
                request,
                _(
                    "%(sent)s社に再通知しました（24時間以内に通知済みのため送らなかった: %(skipped)s社）。"
                )
                % {"sent": done.sent, "skipped": done.skipped_recent},
            )
        return redirect("console:dashboard-remind", pk=version.pk)
    return _remind_page(
        request,
        version,
        ReminderScheduleForm(has_deadline=version_answer_deadline(version) is not None),
    )


def _remind_page(
    request: ConsoleRequest, version: TermsVersion, form: ReminderScheduleForm
) -> HttpResponse:
    return render(
        request,
        "agreements/console/dashboard_remind.html",
        {
            "nav": "dashboard",
            "version": version,
            "document": version.document,
            "counts": reminder_counts(scope=request.scope, version=version),
            "remindable": remindable(version),
            "interval_hours": int(REMIND_INTERVAL.total_seconds() // 3600),
            "form": form,
            # The deadline the portal and the e-mails give the customer (one selector), and
            # the day the gating policy may limit use, if the version has one (R4).
            "answer_by": answer_by(version, today=clock.today()),
            "gate_deadline": version_answer_deadline(version),
            "history": reminder_history(version),
        },
        status=400 if form.errors else 200,
    )


# Scheduling a reminder commits the company to write to customers on a day: publishers
# (tenants.authz: Action.PUBLISH), like scheduling the revision itself.
@console_view(Need.READ, methods=("POST",), post=Need.PUBLISH)
def dashboard_remind_schedule(request: ConsoleRequest, pk: int) -> HttpResponse:
    """Schedule a reminder of a posted revision to its non-responders (R4)."""
    version = live_versions().filter(pk=pk).first()
    if version is None:
        raise Http404
    form = ReminderScheduleForm(
        request.POST, has_deadline=version_answer_deadline(version) is not None
    )
    if form.is_valid():
        ok, reminder = call_service(
            request,
            form,
            reminder_schedule,
            scope=request.scope,
            version=version,
            basis=form.cleaned_data["basis"],
            on=form.cleaned_data.get("on"),
            days_before=form.cleaned_data.get("days_before"),
            fields_by_code={"reminder_in_past": "on", "reminder_too_far": "on"},
        )
        if ok:
            messages.success(
                request,
                _("%(day)sに再通知する予定を登録しました。") % {"day": jdate_wd(reminder.send_on)},
            )
            return redirect("console:dashboard-remind", pk=version.pk)
    return _remind_page(request, version, form)


@console_view(Need.READ, methods=("POST",), post=Need.PUBLISH)
def dashboard_remind_cancel(request: ConsoleRequest, pk: int, reminder_pk: int) -> HttpResponse:
    """Cancel a scheduled reminder that has not gone out."""
    reminder = ScheduledReminder.objects.filter(pk=reminder_pk, version_id=pk).first()
    if reminder is None:
        raise Http404
    try:
        reminder_cancel(scope=request.scope, reminder=reminder)
    except REFUSALS as error:
        flash_domain_error(request, error)
    else:
        messages.success(
            request,
            _("%(day)sの再通知の予定を取り消しました。") % {"day": jdate_wd(reminder.send_on)},
        )
    return redirect("console:dashboard-remind", pk=pk)
