"""An audit row as staff read it: a sentence in the page's language made from its action and
data (the stored summary is a record in English for machines and stays shown as recorded).

Only the rows whose data says enough get a sentence; `audit_text` answers "" for the others,
and the page then shows the recorded text alone. Dates go through core.dates (one style).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import translation
from django.utils.translation import gettext, ngettext

from agreements.enums import TerminationReason
from agreements.models import TermsVersion
from agreements.services.version_drafts import EDITABLE_FIELDS
from core.dates import date_text
from core.enums import AuditAction
from core.models import AuditEntry


def _day(value: Any) -> str:
    """An ISO date from the row's data, in the page's style with its weekday (ValueError when
    it is not one): 2026年11月27日（金） / Fri, 27 Nov 2026."""
    return date_text(
        date.fromisoformat(str(value)), language=translation.get_language(), weekday=True
    )


def _reason(code: Any) -> str:
    if code in TerminationReason.values:
        return str(TerminationReason(code).label)
    return str(code)


def _version_fields(names: list[str]) -> str:
    """The labels of a draft's edited fields in the form's order; a name that is not one of
    the fields staff edit (EDITABLE_FIELDS) is internal and left out ("" when none is left)."""
    order = [field.name for field in TermsVersion._meta.get_fields()]
    labels = []
    for name in sorted(set(names) & EDITABLE_FIELDS, key=order.index):
        try:
            field = TermsVersion._meta.get_field(name)
        except FieldDoesNotExist:  # pragma: no cover - EDITABLE_FIELDS are model fields
            continue
        labels.append(str(getattr(field, "verbose_name", name)))
    return gettext("、").join(labels)


def _count(value: Any) -> int:
    """A count from the row's data: a number, or a list of what was counted."""
    return len(value) if isinstance(value, list | tuple | dict) else int(value or 0)


def _version_update(data: dict[str, Any]) -> str:
    """An UPDATE of a version: staff's edits of a draft, or what the jobs did to a version
    at its date (never called "the draft": it was scheduled or in force by then)."""
    if "onto" in data:
        if data.get("from_withdrawn"):
            return gettext("撤回された元の版から、別の版に付け替えました。")
        return gettext("予定登録済みの版を元に付け替えました。")
    if "article" in data:
        number = data["article"]
        title = str(data.get("title") or "").strip()
        if data.get("added"):
            if title:
                return gettext("第%(number)s条（%(title)s）を追加しました。") % {
                    "number": number,
                    "title": title,
                }
            return gettext("第%(number)s条を追加しました。") % {"number": number}
        if title:
            return gettext("第%(number)s条（%(title)s）を編集しました。") % {
                "number": number,
                "title": title,
            }
        return gettext("第%(number)s条を編集しました。") % {"number": number}
    if "renumbered" in data:
        count = _count(data["renumbered"])
        return ngettext(
            "条番号を付け直しました（%(count)d条）。",
            "条番号を付け直しました（%(count)d条）。",
            count,
        ) % {"count": count}
    if "replaced" in data:
        return gettext("条文を貼り付けました（置き換え %(replaced)d条、追加 %(added)d条）。") % {
            "replaced": _count(data["replaced"]),
            "added": _count(data.get("added")),
        }
    if set(data) == {"articles"}:
        count = _count(data["articles"])
        return ngettext(
            "本文全体を置き換えました（%(count)d条）。",
            "本文全体を置き換えました（%(count)d条）。",
            count,
        ) % {"count": count}
    if "superseded" in data:
        if data["superseded"]:
            return gettext("効力を生じました。それまでの版は効力を失いました。")
        return gettext("効力を生じました。")
    if "consents" in data:
        counts = data["consents"]
        return gettext(
            "効力の発生に伴い、同意の状況を記録しました（みなし同意 %(deemed)d件、未回答 %(outstanding)d件、未通知 %(unnotified)d件）。"
        ) % {
            "deemed": int(counts.get("deemed") or 0),
            "outstanding": int(counts.get("outstanding") or 0),
            "unnotified": int(counts.get("unnotified") or 0),
        }
    if set(data) == {"posted_at"}:
        return gettext("掲示の期間が足りず、効力を生じませんでした（失効）。")
    fields = _version_fields(list(data))
    if fields:
        return gettext("改定案の項目を変更しました: %(fields)s") % {"fields": fields}
    return ""


def _version(action: str, data: dict[str, Any]) -> str:
    if action == AuditAction.CREATE:
        return ngettext(
            "改定案を作成しました（元の版から%(count)d条を複写）。",
            "改定案を作成しました（元の版から%(count)d条を複写）。",
            int(data.get("articles") or 0),
        ) % {"count": int(data.get("articles") or 0)}
    if action == AuditAction.UPDATE:
        return _version_update(data)
    if action == AuditAction.REMOVE and "article" in data:
        return gettext("第%(number)s条を削除しました。") % {"number": data["article"]}
    if action == AuditAction.SCHEDULE:
        return gettext("予定登録しました（掲示日 %(notice)s、効力発生日 %(effective)s）。") % {
            "notice": _day(data["notice_on"]),
            "effective": _day(data["effective_on"]),
        }
    if action == AuditAction.WITHDRAW:
        reason = str(data.get("reason") or "").strip()
        if reason:
            return gettext("撤回しました。理由: %(reason)s") % {"reason": reason}
        return gettext("撤回しました（理由の記録なし）。")
    if action == AuditAction.REMIND:
        sent = int(data["sent"])
        text = ngettext(
            "%(count)d社に回答をお願いする再通知を送りました。",
            "%(count)d社に回答をお願いする再通知を送りました。",
            sent,
        ) % {"count": sent}
        skipped = int(data.get("skipped_recent") or 0)
        if skipped:
            text += " " + ngettext(
                "24時間以内に再通知済みの%(count)d社には送っていません。",
                "24時間以内に再通知済みの%(count)d社には送っていません。",
                skipped,
            ) % {"count": skipped}
        return text
    if action == AuditAction.SEND_BACK:
        return gettext("編集担当者に差し戻しました。")
    return ""


def _termination(action: str, data: dict[str, Any]) -> str:
    if action == AuditAction.TERMINATE:
        return gettext("解約: %(reason)s（終了日 %(end)s）") % {
            "reason": _reason(data["reason"]),
            "end": _day(data["end_date"]),
        }
    return ""


def _case(action: str, data: dict[str, Any]) -> str:
    if action == AuditAction.CONFIRM:
        return gettext(
            "変更後の規約に同意しなかったことによる解約を確定しました（契約の終了日 %(end)s）。"
        ) % {"end": _day(data["end_date"])}
    if action == AuditAction.DROP:
        return gettext("変更後の規約に同意しなかったことによる解約案件を取り下げました。")
    return ""


def _non_renewal(action: str, data: dict[str, Any]) -> str:
    if action == AuditAction.CREATE:
        return gettext("更新しない旨の申込（終了日 %(end)s、申込期限 %(deadline)s）") % {
            "end": _day(data["end_date"]),
            "deadline": _day(data["deadline"]),
        }
    if action == AuditAction.WITHDRAW:
        return gettext("更新しない旨の申込を取り下げました（終了日 %(end)s）。") % {
            "end": _day(data["end_date"])
        }
    return ""


def _deletion(action: str, data: dict[str, Any]) -> str:
    if action == AuditAction.CREATE:
        return gettext("データ削除の依頼（削除期日 %(due)s、契約の終了日 %(end)s）") % {
            "due": _day(data["due_on"]),
            "end": _day(data["end"]),
        }
    if action == AuditAction.WITHDRAW:
        return gettext("データ削除の依頼を取り下げました（削除期日 %(due)s）。") % {
            "due": _day(data["due_on"])
        }
    return ""


def _contract(action: str, data: dict[str, Any]) -> str:
    if action == AuditAction.CREATE:
        return gettext("契約を登録しました（利用期間 %(start)s〜%(end)s）。") % {
            "start": _day(data["start_date"]),
            "end": _day(data["period_end"]),
        }
    if action == AuditAction.TERMINATE:
        return _termination(action, data)
    return ""


def _tenant(action: str, data: dict[str, Any]) -> str:
    if action != AuditAction.UPDATE or not isinstance(data.get("changes"), dict):
        return ""
    changes = data["changes"]
    if set(changes) == {"consent_reminders"}:
        # The portal's reminder setting (its admins): old → new.
        if changes["consent_reminders"][1]:
            return gettext("同意のリマインドを受け取る設定にしました。")
        return gettext("同意のリマインドを受け取らない設定にしました。")
    return ""


READERS = {
    "agreements.termsversion": _version,
    "agreements.termination": _termination,
    "agreements.terminationcase": _case,
    "agreements.nonrenewalrequest": _non_renewal,
    "agreements.datadeletion": _deletion,
    "agreements.contract": _contract,
    "tenants.tenant": _tenant,
}


def audit_rows(entries: Any) -> list[tuple[AuditEntry, str]]:
    """Each entry with what it says (audit_text), for the audit tables."""
    return [(entry, audit_text(entry)) for entry in entries]


def audit_text(entry: AuditEntry) -> str:
    """What the row says, in the active language; "" when its data does not say enough (an
    older row, or a kind not read here)."""
    reader = READERS.get(entry.object_type)
    if reader is None or not isinstance(entry.data, dict):
        return ""
    try:
        return reader(entry.action, entry.data)
    except (KeyError, TypeError, ValueError):
        return ""
