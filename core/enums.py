from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core import apiversions


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("送信待ち")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("再試行待ち")
    DEAD = "dead", _("送信不能")
    # Never sent because its recipient's data was purged (R15): the row proves it was queued.
    CANCELLED = "cancelled", _("取消済み")
    # Handed to a development mail backend (console, dummy, file) that shows or keeps the
    # message but delivers it to nobody: never evidence that a notice reached anyone.
    LOGGED = "logged", _("記録のみ（未配信）")


class OutboxChannel(models.TextChoices):
    EMAIL = "email", _("メール")
    WEBHOOK = "webhook", _("Webhook")


class ActionStatus(models.TextChoices):
    PENDING = "pending", _("待機")
    RUNNING = "running", _("実行中")
    DONE = "done", _("完了")
    FAILED = "failed", _("失敗")


class JobRunStatus(models.TextChoices):
    RUNNING = "running", _("実行中")
    OK = "ok", _("正常終了")
    ERROR = "error", _("エラー")


class IdempotencyStatus(models.TextChoices):
    IN_FLIGHT = "in_flight", _("処理中")
    DONE = "done", _("完了")


class EventKind(models.TextChoices):
    VERSION_SCHEDULED = "version.scheduled", _("改定の予定")
    NOTICE_POSTED = "notice.posted", _("改定のお知らせ掲示")
    VERSION_WITHDRAWN = "version.withdrawn", _("改定の撤回")
    VERSION_LAPSED = "version.lapsed", _("改定の失効")
    VERSION_EFFECTIVE = "version.effective", _("改定の発効")
    ANSWER_RECORDED = "consent.answer_recorded", _("回答の記録")
    CONSENT_REMINDER = "consent.reminder", _("同意のお願い")
    CONSENT_OUTSTANDING = "consent.outstanding", _("未同意")
    CASE_OPENED = "case.opened", _("解約案件の開始")
    CASE_CONFIRMED = "case.confirmed", _("解約案件の確定")
    CASE_DROPPED = "case.dropped", _("解約案件の取り下げ")
    RENEWAL_NOTICE = "contract.renewal_notice", _("更新のお知らせ")
    NON_RENEWAL_RECEIVED = "contract.non_renewal_received", _("更新しない旨の申込受付")
    NON_RENEWAL_WITHDRAWN = "contract.non_renewal_withdrawn", _("更新しない旨の申込取り下げ")
    RENEWED = "contract.renewed", _("契約の更新")
    ENDED = "contract.ended", _("契約の終了")
    TERMINATION = "contract.termination", _("契約の解約")
    DELETION_REQUESTED = "deletion.requested", _("データ削除の依頼の受付")
    DELETION_ORDERED = "deletion.ordered", _("データ削除の指示")
    DELETION_DONE = "deletion.done", _("データ削除の完了")
    DELETION_REMINDER = "deletion.reminder", _("データ削除の予告")
    DELETION_WITHDRAWN = "deletion.withdrawn", _("データ削除の依頼の取り下げ")
    OPTION_PREREQUISITE_LOST = "option.prerequisite_lost", _("オプションの前提契約の終了")
    # The invitation e-mail to the invited address (carries the accept link): no event.
    INVITATION = "tenant.invitation", _("ユーザー招待")
    TENANT_CREATED = "tenant.created", _("テナントの登録")
    TENANT_UPDATED = "tenant.updated", _("テナントの変更")
    CONTRACT_CREATED = "contract.created", _("契約の登録")
    INVITATION_CREATED = "invitation.created", _("招待の作成")
    INVITATION_ACCEPTED = "invitation.accepted", _("招待の承諾")
    INVITATION_REVOKED = "invitation.revoked", _("招待の取り消し")
    INVITATION_EXPIRED = "invitation.expired", _("招待の期限切れ")
    MEMBERSHIP_ADDED = "membership.added", _("ユーザーの追加")
    MEMBERSHIP_ROLE_CHANGED = "membership.role_changed", _("ユーザーの権限の変更")
    MEMBERSHIP_REMOVED = "membership.removed", _("ユーザーの削除")
    WEBHOOK_TEST = "webhook.test", _("Webhookのテスト")


# What a partner's webhook can subscribe to: the kinds written as tenant notes
# (tenants.notify.Note), which reach the tenant's partner. The others never reach a partner:
# version.scheduled and version.effective are staff feed events (tenants are told when the
# notice is posted), deletion.reminder is a staff e-mail, tenant.invitation the e-mail to the
# invited address (its event is invitation.created), webhook.test goes to one endpoint when
# asked. tests/tenants/test_event_kinds.py checks that each of these has an emitter.
SUBSCRIBABLE_EVENT_KINDS: tuple[str, ...] = tuple(
    kind.value
    for kind in EventKind
    if kind
    not in (
        EventKind.VERSION_SCHEDULED,
        EventKind.VERSION_EFFECTIVE,
        EventKind.DELETION_REMINDER,
        EventKind.INVITATION,
        EventKind.WEBHOOK_TEST,
    )
)

# The dated API version (core.apiversions) that introduced the event envelope (id, kind,
# occurred_at, api_version, tenant, subject, data) the feed, GET /events/{id} and webhook
# deliveries share; a later version that changes the envelope changes this.
EVENT_API_VERSION = apiversions.VERSIONS[0].name


class AuditAction(models.TextChoices):
    """What a staff (or privileged) action did, as the audit log shows it to people (the
    value is the stored code; the label, in the context "audit action", is what staff read)."""

    CREATE = "create", pgettext_lazy("audit action", "作成")
    UPDATE = "update", pgettext_lazy("audit action", "更新")
    SCHEDULE = "schedule", pgettext_lazy("audit action", "予定登録")
    WITHDRAW = "withdraw", pgettext_lazy("audit action", "撤回")
    CONFIRM = "confirm", pgettext_lazy("audit action", "確定")
    DROP = "drop", pgettext_lazy("audit action", "取り下げ")
    TERMINATE = "terminate", pgettext_lazy("audit action", "解約")
    SUCCESSION = "succession", pgettext_lazy("audit action", "承継")
    ISSUE_KEY = "issue_key", pgettext_lazy("audit action", "キー発行")
    REVOKE_KEY = "revoke_key", pgettext_lazy("audit action", "キー失効")
    RETRY = "retry", pgettext_lazy("audit action", "再送")
    REMIND = "remind", pgettext_lazy("audit action", "再通知")
    REMINDER_SCHEDULE = "reminder_schedule", pgettext_lazy("audit action", "再通知の予定登録")
    REMINDER_CANCEL = "reminder_cancel", pgettext_lazy("audit action", "再通知の予定取消")
    EXPORT = "export", pgettext_lazy("audit action", "エクスポート")
    SEND_BACK = "send_back", pgettext_lazy("audit action", "差し戻し")
    REDACT = "redact", pgettext_lazy("audit action", "個人データ削除")
    INVITE = "invite", pgettext_lazy("audit action", "招待")
    REMOVE = "remove", pgettext_lazy("audit action", "削除")
    IMPORT = "import", pgettext_lazy("audit action", "取込")
