"""What the message of each event kind is: its e-mail template and the types of its payload.

One table, so that a new EventKind cannot silently fall back to the generic message: the test
suite checks that every kind has its templates (ja and en, text and HTML) or is listed here as
deliberately generic, with the reason.

Payloads are stored as JSON (dates as ISO strings). Each kind declares which of its fields
are business dates and which are instants, and only those are read back as `date` /
`datetime` when a message is rendered; any other string stays a string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from core import clock
from core.enums import EventKind

GENERIC = "generic"


@dataclass(frozen=True)
class MessageKind:
    """The e-mail of one event kind and the typed fields of its payload."""

    template: str  # templates/emails/<locale>/<template>.{txt,html}
    dates: frozenset[str] = frozenset()  # business dates (inclusive days, JST)
    instants: frozenset[str] = frozenset()  # aware datetimes, shown in JST
    generic_reason: str = ""  # why the generic message is enough (template == GENERIC)

    def parse(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload with its declared date and instant fields as `date` / `datetime`."""
        parsed = dict(payload)
        for field in self.dates & parsed.keys():
            parsed[field] = _as_date(parsed[field])
        for field in self.instants & parsed.keys():
            parsed[field] = _as_instant(parsed[field])
        return parsed


def _as_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value  # not a date after all: shown as written
    return value


def _as_instant(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(clock.TOKYO)
        except ValueError:
            return value
    return value


def _kind(template: str, *dates: str, instants: tuple[str, ...] = ()) -> MessageKind:
    return MessageKind(template=template, dates=frozenset(dates), instants=frozenset(instants))


def _generic(reason: str, *dates: str, instants: tuple[str, ...] = ()) -> MessageKind:
    return MessageKind(
        template=GENERIC,
        dates=frozenset(dates),
        instants=frozenset(instants),
        generic_reason=reason,
    )


_FEED_ONLY = "an event for the partner feed and webhooks only: no e-mail is queued for it"
_VERSION_DATES = ("notice_on", "effective_on")
_END_DATES = ("end_date", "claims_window_closes", "primary_deletion_from", "backup_purge_due")
_DELETION_DATES = ("due_on", "contract_ended_on")

MESSAGES: dict[str, MessageKind] = {
    EventKind.VERSION_SCHEDULED: _generic(
        "an event for the partner feed only: tenants are told when the notice is posted",
        *_VERSION_DATES,
    ),
    EventKind.NOTICE_POSTED: _kind(
        "notice_posted",
        *_VERSION_DATES,
        "binding_version_effective_on",
        "gate_from",
        instants=("posted_at",),
    ),
    EventKind.VERSION_WITHDRAWN: _kind("version_withdrawn", *_VERSION_DATES),
    EventKind.VERSION_LAPSED: _kind("version_lapsed", *_VERSION_DATES),
    EventKind.VERSION_EFFECTIVE: _generic(
        "an event for the partner feed only: the notice already told tenants the date",
        *_VERSION_DATES,
    ),
    EventKind.ANSWER_RECORDED: _kind(
        "answer_recorded",
        "effective_on",
        "binding_version_effective_on",
        instants=("recorded_at",),
    ),
    EventKind.CONSENT_REMINDER: _kind("consent_reminder", "effective_on", "gate_from"),
    EventKind.CONSENT_OUTSTANDING: _kind("consent_outstanding", "effective_on", "gate_from"),
    EventKind.CASE_OPENED: _kind(
        "case_opened", "effective_on", "earliest_end", instants=("rejected_at",)
    ),
    EventKind.CASE_CONFIRMED: _kind(
        "case_confirmed", "effective_on", "end_date", instants=("rejected_at",)
    ),
    EventKind.CASE_DROPPED: _kind("case_dropped", "effective_on", instants=("rejected_at",)),
    EventKind.RENEWAL_NOTICE: _kind(
        "contract_renewal_notice", "period_end", "deadline", "next_period_start", "next_period_end"
    ),
    EventKind.NON_RENEWAL_RECEIVED: _kind(
        "contract_non_renewal_received",
        "requested_on",
        "end_date",
        "deadline",
        "withdrawable_until",
    ),
    EventKind.NON_RENEWAL_WITHDRAWN: _kind(
        "contract_non_renewal_withdrawn",
        "withdrawn_on",
        "cancelled_end_date",
        "period_end",
        "renews_on",
    ),
    EventKind.RENEWED: _kind(
        "contract_renewed", "previous_end", "period_start", "period_end", "non_renewal_deadline"
    ),
    EventKind.ENDED: _kind("contract_ended", "ended_on", *_END_DATES),
    EventKind.TERMINATION: _kind("contract_termination", "requested_on", *_END_DATES),
    EventKind.DELETION_REQUESTED: _kind(
        "deletion_requested", "requested_on", "contract_ends_on", *_DELETION_DATES
    ),
    EventKind.DELETION_ORDERED: _kind("deletion_ordered", "ordered_on", *_DELETION_DATES),
    EventKind.DELETION_DONE: _kind("deletion_done", "acknowledged_on", *_DELETION_DATES),
    EventKind.DELETION_REMINDER: _kind("deletion_reminder", *_DELETION_DATES),
    EventKind.DELETION_WITHDRAWN: _kind("deletion_withdrawn", "withdrawn_on", *_DELETION_DATES),
    EventKind.OPTION_PREREQUISITE_LOST: _kind("option_prerequisite_lost", "prerequisite_ended_on"),
    EventKind.INVITATION: _kind("tenant_invitation", instants=("expires_at",)),
    # Lifecycle events (tenants.lifecycle, contract creation) and the test event: written for
    # the partner's feed and webhooks with email=False, so no e-mail is ever rendered for them.
    EventKind.TENANT_CREATED: _generic(_FEED_ONLY),
    EventKind.TENANT_UPDATED: _generic(_FEED_ONLY),
    EventKind.CONTRACT_CREATED: _generic(_FEED_ONLY, "start_date", "period_end"),
    EventKind.INVITATION_CREATED: _generic(
        _FEED_ONLY + " (the invitee gets tenant.invitation)", instants=("expires_at",)
    ),
    EventKind.INVITATION_ACCEPTED: _generic(_FEED_ONLY, instants=("expires_at", "accepted_at")),
    EventKind.INVITATION_REVOKED: _generic(_FEED_ONLY, instants=("expires_at",)),
    EventKind.INVITATION_EXPIRED: _generic(_FEED_ONLY, instants=("expires_at",)),
    EventKind.MEMBERSHIP_ADDED: _generic(_FEED_ONLY),
    EventKind.MEMBERSHIP_ROLE_CHANGED: _generic(_FEED_ONLY),
    EventKind.MEMBERSHIP_REMOVED: _generic(_FEED_ONLY),
    EventKind.WEBHOOK_TEST: _generic("a test delivery to one partner endpoint; never e-mailed"),
}

# A kind that is not an EventKind (none is written today) gets the generic message, untyped.
UNKNOWN = MessageKind(template=GENERIC, generic_reason="not an EventKind")


def message_kind(kind: str) -> MessageKind:
    return MESSAGES.get(kind, UNKNOWN)
