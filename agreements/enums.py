from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentKind(models.TextChoices):
    BASE = "base", _("利用規約")  # R1 base terms
    INDIVIDUAL = "individual", _("個別規程")  # R1 individual rules, prevail over the base terms


class ConsentMode(models.TextChoices):
    DEEMED = "deemed", _("みなし同意")  # R3, Biz 2.1
    EXPLICIT = "explicit", _("明示の同意")  # R4, Biz 2.2


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("下書き")
    SCHEDULED = "scheduled", _("予定")
    EFFECTIVE = "effective", _("有効")
    SUPERSEDED = "superseded", _("旧版")
    WITHDRAWN = "withdrawn", _("撤回")
    LAPSED = "lapsed", _("失効")


class AuthorRole(models.TextChoices):
    """How someone shaped a version before scheduling; none of them may schedule it (four eyes)."""

    CREATED = "created", _("作成")
    EDITED = "edited", _("編集")
    CLASSIFIED = "classified", _("分類")


class LegalBasis(models.TextChoices):
    """CC 548-4(1) grounds for changing standard terms without individual consent (R2)."""

    GENERAL_INTEREST = "general_interest", _("相手方の一般の利益に適合する（548条の4第1項1号）")
    REASONABLE = "reasonable", _("契約の目的に反せず合理的である（548条の4第1項2号）")
    EXPLICIT_CONSENT = "explicit_consent", _("個別の同意による")


class ChangeCategory(models.TextChoices):
    SUBSTANTIVE = "substantive", _("内容の変更")
    EDITORIAL = "editorial", _("誤字・表記の修正")


class Answer(models.TextChoices):
    """Ledger entry kinds."""

    ACCEPTED = "accepted", _("同意")
    REJECTED = "rejected", _("拒否")
    DEEMED = "deemed", _("みなし同意")


class ConsentStatus(models.TextChoices):
    """Projection status per tenant × document (docs/rules.md, consent truth table)."""

    NO_ANSWER = "no_answer", _("未回答")
    ACCEPTED = "accepted", _("同意済み")
    REJECTED = "rejected", _("拒否")
    DEEMED = "deemed", _("みなし同意")
    OUTSTANDING = "outstanding", _("未同意（期限超過）")
    # R3: deemed mode, effective, but the notice never reached the tenant: not deemed.
    UNNOTIFIED = "unnotified", _("未通知（お知らせ未到達）")


class ReminderBasis(models.TextChoices):
    """How a publisher chose the day of a scheduled reminder (shown back on the dashboard)."""

    ON_DATE = "on_date", _("指定日")
    BEFORE_EFFECTIVE = "before_effective", _("効力発生日の前")
    BEFORE_DEADLINE = "before_deadline", _("回答期限の前")


class ReminderStatus(models.TextChoices):
    """A scheduled reminder: waiting, sent by the job, skipped (nothing left to remind of, or a
    later reminder of the same revision superseded a missed one), or cancelled by staff."""

    SCHEDULED = "scheduled", _("予定")
    SENT = "sent", _("送信済み")
    SKIPPED = "skipped", _("送信不要")
    CANCELLED = "cancelled", _("取消済み")


class NoticeRoute(models.TextChoices):
    """How a revision notice reached a tenant (R3); the posting alone is not one of them."""

    EMAIL = "email", _("メール（送信済み）")
    PORTAL = "portal", _("ポータルでの閲覧")
    POST = "post", _("郵送")
    PHONE = "phone", _("電話")
    PARTNER_RELAY = "partner_relay", _("パートナーによる伝達（確認済み）")


class Channel(models.TextChoices):
    PORTAL = "portal", _("ポータル")
    API = "api", _("API")
    CONSOLE = "console", _("管理コンソール")
    SYSTEM = "system", _("システム")


class ActorKind(models.TextChoices):
    USER = "user", _("お客様ユーザー")
    PARTNER_KEY = "partner_key", _("パートナーAPIキー")
    STAFF = "staff", _("当社スタッフ")
    SYSTEM = "system", _("システム")


class ContractStatus(models.TextChoices):
    ACTIVE = "active", _("有効")
    ENDED = "ended", _("終了")  # non_renewal or expired
    TERMINATED = "terminated", _("解約")  # every other end (R14)


class BillingCycle(models.TextChoices):
    MONTHLY = "monthly", _("月額")
    ANNUAL = "annual", _("年額")
    MULTI_YEAR = "multi_year", _("複数年")
    LUMP_SUM = "lump_sum", _("一括")


class TermsSource(models.TextChoices):
    """Where a contract's renewal and notice terms come from (R11)."""

    TERMS = "terms", _("利用規約")
    ORDER = "order", _("注文書")


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("現在の期間")
    CLOSED = "closed", _("終了した期間")


class NonRenewalStatus(models.TextChoices):
    ACTIVE = "active", _("受付済み")
    WITHDRAWN = "withdrawn", _("取り下げ")
    APPLIED = "applied", _("適用済み")


class TerminationReason(models.TextChoices):
    """Why a contract ended (R14). Labels state the grounds as the terms word them, without
    article numbers: the article depends on the product and comes from its rulebook."""

    NON_PAYMENT = "non_payment", _("利用料金を支払わないとき")
    TERMS_VIOLATION = "terms_violation", _("利用規約に違反したとき")
    STATUS_LOST = "status_lost", _("お客様としての地位が失われたとき、又は不明となったとき")
    ANTISOCIAL_FORCES = "antisocial_forces", _("お客様が反社会的勢力であることが判明したとき")
    OWNER_ANTISOCIAL_FORCES = (
        "owner_antisocial_forces",
        _(
            "管理端末の所有者が反社会的勢力に該当し、お客様がその所有者との関係を直ちに解消しないとき"
        ),
    )
    # A ground the product's termination article lists where the list itself is not in the
    # available text (OPTiM ID+ 14.2): cited by article, never by another product's grounds.
    LISTED_GROUNDS = "listed_grounds", _("利用規約に定める解約事由に該当したとき")
    TERMS_REJECTED = "terms_rejected", _("変更後の規約への不同意")
    SERVICE_DISCONTINUED = "service_discontinued", _("当社によるサービス提供の中止")
    CUSTOMER_REQUEST = "customer_request", _("お客様による解約")
    SUCCESSION = "succession", _("地位の承継")
    NON_RENEWAL = "non_renewal", _("更新しない旨の申込")
    EXPIRED = "expired", _("期間満了")


STAFF_ONLY_REASONS = frozenset(
    {
        TerminationReason.NON_PAYMENT,
        TerminationReason.TERMS_VIOLATION,
        TerminationReason.STATUS_LOST,
        TerminationReason.ANTISOCIAL_FORCES,
        TerminationReason.OWNER_ANTISOCIAL_FORCES,
        TerminationReason.LISTED_GROUNDS,
        TerminationReason.TERMS_REJECTED,
        TerminationReason.SERVICE_DISCONTINUED,
        TerminationReason.SUCCESSION,
    }
)
# Ends that leave the contract `ended`; every other reason leaves it `terminated` (R14).
ENDED_REASONS = frozenset({TerminationReason.NON_RENEWAL, TerminationReason.EXPIRED})


class TerminationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("予定")
    EFFECTIVE = "effective", _("実施済み")
    CANCELLED = "cancelled", _("取消")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("対応待ち")
    CONFIRMED = "confirmed", _("確定")
    DROPPED = "dropped", _("取り下げ")
    EFFECTIVE = "effective", _("実施済み")


class DeletionKind(models.TextChoices):
    PRIMARY = "primary", _("主データ")  # Biz 10.3, from the day after the month after the end
    REQUESTED = "requested", _("お客様の依頼による削除")
    BACKUP = "backup", _("バックアップ・派生データ")  # one year after the end


class DeletionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("予定")
    ORDERED = "ordered", _("指示済み")
    ACKNOWLEDGED = "acknowledged", _("完了確認済み")
    CANCELLED = "cancelled", _("取消")


class RequestKind(models.TextChoices):
    """A customer request that gets a receipt (R13); the values are the portal's URL slugs."""

    NON_RENEWAL = "non-renewal", _("更新しない旨の申込")
    TERMINATION = "termination", _("解約の申込")
    DELETION = "deletion", _("データ削除の依頼")


class ProductKeyScope(models.TextChoices):
    """Scopes of product keys (docs/security.md)."""

    STATUS_READ = "status:read", _("利用可否の参照")
    DELETION_ACK = "deletion:ack", _("データ削除の完了報告")


class CheckpointKind(models.TextChoices):
    """Why a ledger checkpoint was signed (docs/ledger.md, "Checkpoints")."""

    DAILY = "daily", _("日次")
    BACKUP = "backup", _("バックアップ")
    MANUAL = "manual", _("手動")
