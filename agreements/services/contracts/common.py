"""What every contract transition shares: locking, the caller's checks, payloads, audit."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import BillingCycle, ContractStatus, TerminationReason, TermsSource
from agreements.models import Contract, Termination
from agreements.rulebook import article_en, article_ja, rulebook_for
from agreements.selectors.contracts import contracts_visible
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.scope import Scope

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Biz 13.1 (1)–(5), ID+ 14.2, and a discontinuation: staff may terminate without a prior
# demand to cure, never without notice (R14).
NOTICE_REQUIRED_REASONS = frozenset(
    {
        TerminationReason.SERVICE_DISCONTINUED,
        TerminationReason.NON_PAYMENT,
        TerminationReason.TERMS_VIOLATION,
        TerminationReason.STATUS_LOST,
        TerminationReason.ANTISOCIAL_FORCES,
        TerminationReason.OWNER_ANTISOCIAL_FORCES,
        TerminationReason.LISTED_GROUNDS,
    }
)


# --- Helpers --------------------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _contract_payload(contract: Contract) -> dict[str, Any]:
    return {
        "contract_id": contract.pk,
        "product_code": contract.product.code,
        "product_name": contract.product.name,
    }


def _end_facts_payload(
    contract: Contract, *, reason: str, end_date: date, note: str = ""
) -> dict[str, Any]:
    """What the product's own terms say follows an end on `end_date` for `reason`, for notices.

    Only what the product's rulebook contains: the claims window (R16), the deletion timetable
    (R15), whether accounts go on the end date (R13), the settlement (R12) and the reason's
    article (R14), in both languages so each e-mail template picks its own. Nothing is
    borrowed from another product's terms.
    """
    book = rulebook_for(contract.product.code)
    reason_entry = book.reason(reason)
    payload: dict[str, Any] = {
        "reason_article_ja": article_ja(reason_entry.article) if reason_entry else "",
        "reason_article_en": article_en(reason_entry.article) if reason_entry else "",
        "reason_grounds": reason_entry.grounds if reason_entry else "",
        # The ground staff stated where the terms' list is not in the text (R14).
        "stated_ground": note.strip() if reason_entry and reason_entry.stated_ground else "",
        "settlement_due": book.settles(reason=reason, billing_cycle=contract.billing_cycle),
        # An end that settles continuous fees, of a contract paid as a lump sum (Biz 7.2).
        "lump_sum_not_settled": reason in book.settlement_reasons
        and contract.billing_cycle == BillingCycle.LUMP_SUM,
        "billing_article_ja": book.entry("R12").article_ja,
        "billing_article_en": book.entry("R12").article_en,
        "no_proration": book.no_proration,
        "accounts_removed_on_end": book.accounts_removed_on_end,
        # Where the reason's own article removes the accounts (ID+ 14.2) it is cited for them.
        "end_article_ja": (
            article_ja(reason_entry.article)
            if reason_entry and reason_entry.removes_accounts
            else book.entry("R13").article_ja
        ),
        "end_article_en": (
            article_en(reason_entry.article)
            if reason_entry and reason_entry.removes_accounts
            else book.entry("R13").article_en
        ),
    }
    months = book.claims_window_months
    if months:
        payload["claims_window_closes"] = _iso(
            rules.claims_window_closes(end=end_date, months=months)
        )
        payload["claims_article_ja"] = book.entry("R16").article_ja
        payload["claims_article_en"] = book.entry("R16").article_en
    timetable = book.deletion_timetable
    if timetable and reason != TerminationReason.SUCCESSION:
        if settings.TERMS_DELETION_PRIMARY_ALLOWED:
            payload["primary_deletion_from"] = _iso(
                rules.primary_deletion_from(end=end_date, months=timetable[0])
            )
        payload["backup_purge_due"] = _iso(
            rules.backup_purge_due(end=end_date, months=timetable[1])
        )
        payload["deletion_article_ja"] = book.entry("R15").article_ja
        payload["deletion_article_en"] = book.entry("R15").article_en
    return payload


def _actor_fields(scope: Scope) -> dict[str, Any]:
    return {
        "actor_kind": scope.actor_kind,
        "actor_user": scope.acting_user,
        "actor_key": scope.acting_key,
        "channel": scope.channel,
    }


def _audit(scope: Scope, *, action: str, obj: Any, summary: str, data: dict[str, Any]) -> None:
    if scope.is_staff:
        user: AbstractBaseUser | None = scope.user
        audit_add(
            actor=user,
            action=action,
            obj=obj,
            summary=summary,
            data=data,
            tenant_id=getattr(obj, "tenant_id", None),
        )


def _reason(value: str) -> TerminationReason:
    try:
        return TerminationReason(value)
    except ValueError:
        raise ValidationFailed(
            _("終了事由「%(reason)s」は使えません。") % {"reason": value},
            code="invalid_reason",
            field="reason",
        ) from None


def _lock(contracts: QuerySet[Contract], contract: Contract | int) -> Contract:
    """Lock one contract of `contracts` with its product and tenant loaded, or NotFound.

    FOR NO KEY UPDATE: rows that reference the contract (cases, terminations, deletions)
    written by a concurrent answer check their foreign key at commit and must not wait for
    this lock while holding a chain head (see versions/effective.py).
    """
    pk = contract.pk if isinstance(contract, Contract) else contract
    locked = (
        contracts.select_for_update(of=("self",), no_key=True)
        .select_related("product", "tenant")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("契約が見つかりません。"), code="contract_not_found")
    return locked


def contract_for_write(scope: Scope, contract: Contract | int) -> Contract:
    """Lock a contract the caller may change: another caller's → NotFound, read-only → 403."""
    locked = _lock(contracts_visible(scope), contract)
    if not scope.can_write:
        raise PermissionDenied(_("この操作を行う権限がありません。"), code="read_only")
    return locked


def _require_active(contract: Contract) -> None:
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(
            _("この契約は%(ended_on)sに終了しています。") % {"ended_on": _iso(contract.ended_on)},
            code="contract_not_active",
            ended_on=contract.ended_on,
        )


def _require_not_before_start(end_date: date, contract: Contract) -> None:
    if end_date < contract.start_date:
        raise ValidationFailed(
            _("終了日 %(end)s が利用開始日 %(start)s より前です。")
            % {"end": _iso(end_date), "start": _iso(contract.start_date)},
            code="end_before_start",
            field="end_date",
        )


def _lock_active(contract: Contract | int) -> Contract:
    locked = _lock(Contract.objects.all(), contract)
    _require_active(locked)
    return locked


def _require_notice(termination: Termination) -> None:
    if termination.reason in NOTICE_REQUIRED_REASONS and termination.notice_outbox_id is None:
        # R14: no prior demand to cure is needed, but a notice is; refuse rather than end silently.
        raise Conflict(
            _("解約の通知先（管理者のメールアドレス、連絡先、Webhook）がないため解約できません。"),
            code="no_notice_recipient",
        )


def renewal_basis(contract: Contract) -> dict[str, str]:
    """Where the renewal and its deadline come from, as the notice cites them (R11, R13): the
    order, or the product's renewal article; and, where the terms say the customer notifies
    the end of use in the prescribed way (Biz 5.3), that article, so the notice says what a
    non-renewal application is under those terms."""
    book = rulebook_for(contract.product.code)
    renewal = book.entry("R11")
    from_terms = contract.auto_renew_source == TermsSource.TERMS and renewal.contained
    return {
        "auto_renew_source": contract.auto_renew_source,
        "renewal_article_ja": renewal.article_ja if from_terms else "",
        "renewal_article_en": renewal.article_en if from_terms else "",
        "end_notice_article_ja": article_ja(book.end_notice_article or None),
        "end_notice_article_en": article_en(book.end_notice_article or None),
    }
