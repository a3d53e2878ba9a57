"""What follows a contract's end: its status (R14), a rejection's end date (R6), data
deletion dates (R15), the claims window (R16) and the liability cap (R17).
"""

from __future__ import annotations

from datetime import date, timedelta

from agreements.enums import ENDED_REASONS, BillingCycle, ContractStatus, TerminationReason
from agreements.rules.periods import ONE_DAY, period_end

# --- R15: data deletion (Biz 10.3) -----------------------------------------------------


def primary_deletion_from(*, end: date, months: int = 1) -> date:
    """First day primary data may be deleted: the day after the `months` following `end` (R15).

    end 2025-03-31 → 2025-05-01 (Biz 10.3: one month). `months` comes from the rulebook.
    """
    return period_end(start=end + ONE_DAY, months=months) + ONE_DAY


def requested_deletion_due(*, end: date, requested_on: date, grace_days: int = 14) -> date:
    """Due date of a customer's deletion request (R15, Biz 10.3).

    The later of the day after the end and `requested_on` + `grace_days` (a setting): a
    request made at cancellation never deletes data the contract still uses.
    """
    if grace_days < 0:
        raise ValueError(f"grace_days cannot be negative, got {grace_days}")
    return max(end + ONE_DAY, requested_on + timedelta(days=grace_days))


def backup_purge_due(*, end: date, months: int = 12) -> date:
    """Day backups and derived data are due for purging: after `months` from the end (R15).

    end 2025-03-31 → 2026-04-01 (Biz 10.3: held one year, 2025-04-01…2026-03-31, then
    deleted). `months` comes from the rulebook.
    """
    return period_end(start=end + ONE_DAY, months=months) + ONE_DAY


# --- R16: claims window (Biz 12.3) -----------------------------------------------------


def claims_window_closes(*, end: date, months: int = 3) -> date:
    """Outer limit (inclusive) for a written claim for damages: `months` after the end (R16).

    end 2025-03-31 → 2025-06-30 (Biz 12.3: three months). Only the "after the contract ends"
    limb: the "from the damage" limb depends on facts the service does not know, so this is
    the latest possible day, never the deadline of every claim.
    """
    return period_end(start=end + ONE_DAY, months=months)


# --- R17: liability cap (Biz 12.4) -----------------------------------------------------


def liability_cap(
    *,
    billing_cycle: str,
    amount_jpy: int | None,
    lump_sum_jpy: int | None,
    cycle_months: int | None = None,
    right_of_use_months: int | None = None,
) -> int | None:
    """Cap on cumulative damages in yen (R17, Biz 12.4), rounded down; None if nothing is known.

    Biz 12.4 caps liability at the lower of (a) three months of fees — a quarter of the
    annual-equivalent fee where fees are set per year or for several years — and (b) the
    consideration paid in one sum for the right of use, where one was paid. Read as:

    - monthly: 3 × `amount_jpy`;
    - annual: `amount_jpy` / 4;
    - multi-year: the annual equivalent of `amount_jpy` (the fee per cycle of
      `cycle_months` months) / 4, i.e. `amount_jpy` × 3 / `cycle_months`;
    - lump sum billing: the one payment (`lump_sum_jpy`, or `amount_jpy` when only that was
      recorded) is the fee for the whole right of use, so limb (a) converts it to its annual
      equivalent over `right_of_use_months` (a 36-month right for 360,000 → 120,000 a year →
      30,000); limb (b) is the payment itself. Without a known length only (b) is known;
    - a lump sum of None or 0 means none was paid, so limb (b) does not apply.

    The result is the lower of the limbs that are known. Rounding happens once, at the end.
    """
    cycle = BillingCycle(billing_cycle)
    for value in (amount_jpy, lump_sum_jpy):
        if value is not None and value < 0:
            raise ValueError("fees cannot be negative")
    if right_of_use_months is not None and right_of_use_months < 1:
        raise ValueError("a right of use lasts at least one month")
    lump = lump_sum_jpy or None
    fee_limb: int | None = None
    if cycle == BillingCycle.LUMP_SUM:
        paid = lump if lump is not None else amount_jpy
        if paid is None:
            return None
        lump = paid
        if right_of_use_months:
            # paid / (months / 12) / 4, floored once
            fee_limb = paid * 3 // right_of_use_months
    elif amount_jpy is not None:
        if cycle == BillingCycle.MONTHLY:
            fee_limb = 3 * amount_jpy
        elif cycle == BillingCycle.ANNUAL:
            fee_limb = amount_jpy // 4
        else:
            if not cycle_months or cycle_months < 1:
                raise ValueError("a multi-year cycle needs cycle_months")
            # amount / (cycle_months / 12) / 4, floored once
            fee_limb = amount_jpy * 3 // cycle_months
    limbs = [limb for limb in (fee_limb, lump) if limb is not None]
    return min(limbs) if limbs else None


def liability_cap_other_reading(
    *,
    billing_cycle: str,
    amount_jpy: int | None,
    lump_sum_jpy: int | None,
    cycle_months: int | None = None,
    right_of_use_months: int | None = None,
) -> int | None:
    """The cap under the other literal reading of Biz 12.4 where it differs, else None (R17).

    On lump-sum billing 12.4 can also be read as: no 「利用料」 was set, so only the
    「一括で対価を支出した場合のその対価」 limb applies and the cap is the payment itself
    (360,000 for 36 months → 360,000, not 30,000). The terms are the company's own, and
    作成者不利の原則 favours the customer's (higher) reading, so staff must see both figures,
    not one stated as settled. Monthly, annual and multi-year billing are not in dispute.
    """
    if BillingCycle(billing_cycle) != BillingCycle.LUMP_SUM:
        return None
    service = liability_cap(
        billing_cycle=billing_cycle,
        amount_jpy=amount_jpy,
        lump_sum_jpy=lump_sum_jpy,
        cycle_months=cycle_months,
        right_of_use_months=right_of_use_months,
    )
    paid = lump_sum_jpy or amount_jpy
    if service is None or paid is None or paid == service:
        return None
    return paid


# --- R14: end status (Biz 13.1; ID+ 14.2) ----------------------------------------------


def end_status_for_reason(reason: str) -> ContractStatus:
    """Contract status after an end for `reason` (R14): `ended` for period ends, else `terminated`."""
    reason = TerminationReason(reason)
    return ContractStatus.ENDED if reason in ENDED_REASONS else ContractStatus.TERMINATED


# --- R6: end date of a confirmed rejection case (Biz 2.4) ------------------------------


def rejection_end_date(*, effective_on: date, confirmed_on: date, notice_days: int = 30) -> date:
    """End date of a contract whose terms_rejected case was confirmed (R6, Biz 2.4).

    The later of the version's effective date and confirmation + the termination notice
    period (a setting): prospective only, never before the confirmation.
    """
    if notice_days < 0:
        raise ValueError(f"notice_days cannot be negative, got {notice_days}")
    return max(effective_on, confirmed_on + timedelta(days=notice_days))
