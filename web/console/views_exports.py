"""The auditor's export of one revision: every tenant with its answer, time, channel,
answerer and ledger hash, as CSV (UTF-8 with a BOM, for Excel) and as the JSON the ledger's
reference verifier reads (with the newest signed checkpoint), plus the ledger rows it checks
(docs/ledger.md, "Auditor export"). Read-only, so every staff role may export; each export
is written to the audit log."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _

from agreements.enums import Answer, Channel
from agreements.ledger.rows import format_instant
from agreements.ledger.verify import ledger_export_rows
from agreements.selectors.auditor import auditor_document, auditor_rows
from agreements.selectors.consents import consent_status_label
from core import clock
from core.enums import AuditAction
from core.services import audit_add
from web.console import csvfile
from web.console.access import ConsoleRequest, Need, console_view
from web.console.views_versions import version_or_404

FORMATS = ("csv", "json", "jsonl")


def _attachment(response: HttpResponse | StreamingHttpResponse, filename: str) -> None:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'


@console_view(Need.READ)
def version_export(request: ConsoleRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    version = version_or_404(request, pk)
    kind = request.GET.get("format", "csv")
    if kind not in FORMATS:
        raise Http404
    audit_add(
        actor=request.user,
        action=AuditAction.EXPORT,
        obj=version,
        summary=f"auditor export ({kind}) of {version.label}",
        data={"format": kind},
    )
    stem = f"answers-{version.document.slug}-{version.pk}"
    if kind == "jsonl":
        # Every chain, so the checkpoint's heads can all be found (docs/ledger.md).
        def lines() -> Iterator[str]:
            for row in ledger_export_rows():
                yield json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"

        streamed = StreamingHttpResponse(lines(), content_type="application/x-ndjson")
        _attachment(streamed, f"ledger-rows-{version.pk}.jsonl")
        return streamed
    if kind == "json":
        document = auditor_document(scope=request.scope, version=version)
        response = HttpResponse(
            json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"),
            content_type="application/json; charset=utf-8",
        )
        _attachment(response, f"{stem}.json")
        return response
    buffer = io.StringIO()
    buffer.write(csvfile.BOM)
    writer = csvfile.Writer(buffer)
    writer.writerow(
        [
            _("テナントID"),
            _("名称"),
            _("法人番号"),
            _("同意状況"),
            _("回答"),
            _("回答日時（UTC）"),
            _("回答日時（日本時間）"),
            _("経路"),
            _("回答者名"),
            _("役職"),
            _("回答者の種類"),
            _("回答者"),
            _("台帳番号"),
            _("ハッシュ"),
        ]
    )
    for row in auditor_rows(scope=request.scope, version=version):
        writer.writerow(
            [
                row.tenant_id,
                row.tenant_name,
                row.corporate_number,
                consent_status_label(row.status, legal_basis=version.legal_basis)
                if row.status
                else "",
                Answer(row.answer).label if row.answer else "",
                format_instant(row.recorded_at) if row.recorded_at else "",
                clock.api_instant(row.recorded_at) or "",
                Channel(row.channel).label if row.channel else "",
                row.person_name,
                row.person_title,
                row.actor_kind,
                row.actor_ref,
                row.seq or "",
                row.hash,
            ]
        )
    response = HttpResponse(
        buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    _attachment(response, f"{stem}.csv")
    return response
