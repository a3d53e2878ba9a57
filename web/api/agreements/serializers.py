"""Output shapes of the agreements API, shared by several operations (inputs live on each view).

Dates (`*_on`, `*_date`, deadlines) are business dates in Asia/Tokyo (YYYY-MM-DD, inclusive);
instants (`*_at`) are ISO 8601 with an offset.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agreements.enums import (
    ActorKind,
    Answer,
    BillingCycle,
    CaseStatus,
    ChangeCategory,
    Channel,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    DeletionKind,
    DeletionStatus,
    DocumentKind,
    NonRenewalStatus,
    PeriodStatus,
    TerminationReason,
    TerminationStatus,
    TermsSource,
    VersionStatus,
)
from agreements.selectors.consents import (
    FLAG_CASE_CONFIRMED,
    FLAG_CONTRACT_INACTIVE,
    FLAG_OUTSTANDING,
    FLAG_REJECTED,
)
from agreements.selectors.contracts import contract_facts
from core import clock

# The answers a caller may record (DESIGN: truth table); `deemed` is written by the job only.
CALLER_ANSWER_CHOICES = [
    (Answer.ACCEPTED.value, Answer.ACCEPTED.label),
    (Answer.REJECTED.value, Answer.REJECTED.label),
]
STATUS_FLAG_CHOICES = [
    (FLAG_CONTRACT_INACTIVE, _("有効な契約がない")),
    (FLAG_OUTSTANDING, _("明示の同意が未了（効力発生日後）")),
    (FLAG_REJECTED, _("改定を拒否している（解約案件の対象）")),
    (FLAG_CASE_CONFIRMED, _("拒否による解約が確定している（case_end_date に終了）")),
]
SEGMENT_OP_CHOICES = [
    ("equal", _("変更なし")),
    ("delete", _("削除された文字")),
    ("insert", _("追加された文字")),
]
ARTICLE_KIND_CHOICES = [
    ("unchanged", _("変更なし")),
    ("changed", _("変更")),
    ("added", _("新設")),
    ("removed", _("削除")),
    ("renumbered", _("条番号の変更")),
    ("moved", _("移動")),
]
PARAGRAPH_KIND_CHOICES = [
    ("unchanged", _("変更なし")),
    ("changed", _("変更")),
    ("added", _("新設")),
    ("removed", _("削除")),
]


# --- catalogue ---------------------------------------------------------------------------------


class OptionOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("オプションID"))
    code = serializers.SlugField(help_text=_("オプションのコード（例: device-auth）"))
    name = serializers.CharField(help_text=_("名称（日本語）"))
    name_en = serializers.CharField(help_text=_("名称（英語）"))
    requires_product = serializers.IntegerField(
        source="requires_product_id",
        allow_null=True,
        help_text=_("前提となる製品のID（R18: 同じテナントの有効な契約が必要）"),
    )


class ProductOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("製品ID"))
    code = serializers.SlugField(help_text=_("製品コード（optimal-biz / optim-id-plus）"))
    name = serializers.CharField(help_text=_("名称（日本語）"))
    name_en = serializers.CharField(help_text=_("名称（英語）"))
    terms_auto_renewal = serializers.BooleanField(
        help_text=_("規約に自動更新の定めがあるか（R11: ID+ はあり、Biz は注文書による）")
    )
    terms_notice_months = serializers.IntegerField(
        allow_null=True, help_text=_("規約上の更新拒絶期間（月）")
    )
    options = OptionOutput(many=True, help_text=_("この製品のオプション"))


class DocumentOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("文書ID"))
    product = serializers.SlugField(source="product.code", help_text=_("製品コード"))
    option = serializers.SerializerMethodField(
        help_text=_("個別規程の対象オプションのコード（利用規約は null）")
    )
    kind = serializers.ChoiceField(
        choices=DocumentKind.choices,
        help_text=_("base = 利用規約、individual = 個別規程（利用規約に優先、R1）"),
    )
    slug = serializers.SlugField(help_text=_("文書のスラッグ（製品内で一意）"))
    title = serializers.CharField(help_text=_("題名"))
    precedence = serializers.IntegerField(help_text=_("優先順位（大きいほど優先、R1）"))

    def get_option(self, obj: Any) -> str | None:
        return obj.option.code if obj.option_id else None


class VersionRefOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("版ID"))
    label = serializers.CharField(help_text=_("版の表示（例: 2025-04-01）"))


class CategoryOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ChangeCategory.choices, help_text=_("変更区分"))
    title = serializers.CharField(help_text=_("変更の見出し"))


class VersionOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("版ID"))
    document = serializers.IntegerField(source="document_id", help_text=_("文書ID"))
    label = serializers.CharField(help_text=_("版の表示"))
    status = serializers.ChoiceField(
        choices=VersionStatus.choices,
        help_text=_("draft → scheduled → effective → superseded、または withdrawn / lapsed"),
    )
    title = serializers.CharField(help_text=_("題名"))
    is_excerpt = serializers.BooleanField(
        help_text=_("抜粋版（改定箇所のみを収録し、全文ではない）")
    )
    consent_mode = serializers.ChoiceField(
        choices=ConsentMode.choices,
        help_text=_("deemed = みなし同意（R3）、explicit = 明示の同意が必要（R4）"),
    )
    legal_basis = serializers.CharField(
        help_text=_(
            "民法548条の4第1項の根拠（general_interest / reasonable / explicit_consent、R2）"
        )
    )
    categories = CategoryOutput(many=True, help_text=_("変更区分"))
    notice_on = serializers.DateField(allow_null=True, help_text=_("掲示日（業務日）"))
    effective_on = serializers.DateField(
        allow_null=True, help_text=_("効力発生日（この日の0時 JST から有効、R5）")
    )
    posted_at = serializers.DateTimeField(
        allow_null=True, help_text=_("お知らせを実際に掲示した日時")
    )
    body_hash = serializers.CharField(help_text=_("本文のSHA-256（同意台帳の各行が引用する）"))


class ItemOutput(serializers.Serializer):
    label = serializers.CharField(help_text=_("号の表示（例: （1））"))
    number = serializers.IntegerField(allow_null=True, required=False, help_text=_("号番号"))
    text = serializers.CharField(help_text=_("号の本文"))


class ParagraphOutput(serializers.Serializer):
    number = serializers.IntegerField(allow_null=True, help_text=_("項番号"))
    label = serializers.CharField(help_text=_("項の表示（例: 1.）"))
    text = serializers.CharField(help_text=_("項の本文（日本語が正文）"))
    items = ItemOutput(many=True, help_text=_("号"))


class ArticleOutput(serializers.Serializer):
    number = serializers.IntegerField(help_text=_("条番号"))
    heading = serializers.CharField(help_text=_("見出し（例: 第１条（本規約について））"))
    title = serializers.CharField(help_text=_("表題"))
    change_category = serializers.CharField(
        help_text=_("この条の変更区分（substantive / editorial、変更がなければ空文字）")
    )
    paragraphs = ParagraphOutput(many=True, help_text=_("項"))


class VersionDetailOutput(VersionOutput):
    preamble = serializers.CharField(help_text=_("前文"))
    trailer = serializers.CharField(help_text=_("末文"))
    based_on = serializers.IntegerField(
        source="based_on_id", allow_null=True, help_text=_("元にした版のID")
    )
    articles = ArticleOutput(many=True, help_text=_("条（文書順）"))


class SegmentOutput(serializers.Serializer):
    op = serializers.ChoiceField(choices=SEGMENT_OP_CHOICES, help_text=_("文字単位の差分の種類"))
    text = serializers.CharField(help_text=_("文字列"))

    def to_representation(self, instance: Any) -> dict[str, str]:
        op, text = instance
        return {"op": op, "text": text}


class ParagraphDiffOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PARAGRAPH_KIND_CHOICES, help_text=_("項の変化"))
    before_label = serializers.CharField(
        allow_null=True, help_text=_("改定前の項の表示（新設は null）")
    )
    after_label = serializers.CharField(
        allow_null=True, help_text=_("改定後の項の表示（削除は null）")
    )
    before_text = serializers.CharField(allow_blank=True, help_text=_("改定前の本文"))
    after_text = serializers.CharField(allow_blank=True, help_text=_("改定後の本文"))
    before_segments = SegmentOutput(
        many=True, help_text=_("改定前の本文（equal / delete）。連結すると before_text")
    )
    after_segments = SegmentOutput(
        many=True, help_text=_("改定後の本文（equal / insert）。連結すると after_text")
    )


class ArticleDiffOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ARTICLE_KIND_CHOICES, help_text=_("条の変化"))
    before_number = serializers.IntegerField(allow_null=True, help_text=_("改定前の条番号"))
    after_number = serializers.IntegerField(allow_null=True, help_text=_("改定後の条番号"))
    before_heading = serializers.CharField(allow_null=True, help_text=_("改定前の見出し"))
    after_heading = serializers.CharField(allow_null=True, help_text=_("改定後の見出し"))
    paragraphs = ParagraphDiffOutput(many=True, help_text=_("項ごとの差分"))


class VersionDiffOutput(serializers.Serializer):
    before = VersionRefOutput(allow_null=True, help_text=_("比較元の版（なければ null）"))
    after = VersionRefOutput(help_text=_("比較先の版"))
    before_is_excerpt = serializers.BooleanField(help_text=_("比較元が抜粋版か"))
    after_is_excerpt = serializers.BooleanField(help_text=_("比較先が抜粋版か"))
    has_changes = serializers.BooleanField(help_text=_("変更があるか"))
    articles = ArticleDiffOutput(many=True, help_text=_("条ごとの差分"))


class NoticeOutput(serializers.Serializer):
    version = serializers.IntegerField(source="id", help_text=_("改定後の版のID"))
    document = serializers.IntegerField(source="document_id", help_text=_("文書ID"))
    product = serializers.SlugField(source="document.product.code", help_text=_("製品コード"))
    label = serializers.CharField(help_text=_("版の表示"))
    title = serializers.SerializerMethodField(help_text=_("お知らせの題名"))
    status = serializers.ChoiceField(choices=VersionStatus.choices, help_text=_("版の状態"))
    notice_on = serializers.DateField(allow_null=True, help_text=_("掲示日"))
    effective_on = serializers.DateField(allow_null=True, help_text=_("効力発生日"))
    posted_at = serializers.DateTimeField(help_text=_("掲示日時"))
    consent_mode = serializers.ChoiceField(choices=ConsentMode.choices, help_text=_("同意の方式"))
    categories = CategoryOutput(many=True, help_text=_("変更区分"))

    def get_title(self, obj: Any) -> str:
        return str(obj.notice_title or obj.title)


# --- contracts ---------------------------------------------------------------------------------


class DeletionFactOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DeletionKind.choices, help_text=_("削除の種類"))
    status = serializers.ChoiceField(choices=DeletionStatus.choices, help_text=_("状態"))
    due_on = serializers.DateField(help_text=_("期日"))
    ordered_at = serializers.DateTimeField(allow_null=True, help_text=_("製品へ指示した日時"))
    acknowledged_at = serializers.DateTimeField(
        allow_null=True, help_text=_("製品が完了を報告した日時")
    )


class ContractFactsOutput(serializers.Serializer):
    """Concrete dates, never only "one month before" (R11)."""

    today = serializers.DateField(help_text=_("計算の基準日（業務日、JST）"))
    period_seq = serializers.IntegerField(allow_null=True, help_text=_("現在の利用期間の回数"))
    period_start = serializers.DateField(allow_null=True, help_text=_("現在の利用期間の開始日"))
    period_end = serializers.DateField(
        allow_null=True, help_text=_("現在の利用期間の末日（この日を含む、R10）")
    )
    period_months = serializers.IntegerField(allow_null=True, help_text=_("期間の長さ（月）"))
    current_deadline = serializers.DateField(
        allow_null=True, help_text=_("現在の期間末で終了するための更新しない旨の申込期限（R11）")
    )
    is_current_deadline_open = serializers.BooleanField(
        allow_null=True, help_text=_("その期限がまだ過ぎていないか")
    )
    non_renewal_end = serializers.DateField(
        allow_null=True, help_text=_("今日申し込んだ場合に終了できる最も早い日")
    )
    non_renewal_deadline = serializers.DateField(
        allow_null=True, help_text=_("non_renewal_end で終了するための申込期限")
    )
    non_renewal_days_left = serializers.IntegerField(
        allow_null=True, help_text=_("その期限までの残り日数")
    )
    next_possible_end = serializers.DateField(
        allow_null=True, help_text=_("次の期間の末日（期限後の申込で指定できる終了日）")
    )
    non_renewal_requested_end = serializers.DateField(
        allow_null=True, help_text=_("受付済みの更新しない旨の申込の終了日")
    )
    termination_end = serializers.DateField(
        allow_null=True, help_text=_("予定されている解約の終了日")
    )
    termination_reason = serializers.ChoiceField(
        choices=TerminationReason.choices, allow_null=True, help_text=_("予定されている解約の事由")
    )
    known_end = serializers.DateField(allow_null=True, help_text=_("確定している終了日"))
    claims_window_closes = serializers.DateField(
        allow_null=True, help_text=_("損害賠償請求の期限（終了後3か月、末日を含む、R16）")
    )
    liability_cap_jpy = serializers.IntegerField(
        allow_null=True, help_text=_("賠償額の上限（円、R17）")
    )
    prerequisite_flagged_at = serializers.DateTimeField(
        allow_null=True, help_text=_("前提契約の終了を警告した日時（R18）")
    )
    primary_deletion_from = serializers.DateField(
        allow_null=True, help_text=_("主データを削除できる最初の日（終了日の翌月の翌日、R15）")
    )
    backup_purge_due = serializers.DateField(
        allow_null=True, help_text=_("バックアップ・派生データの削除期限（終了の1年後、R15）")
    )
    deletions = DeletionFactOutput(many=True, help_text=_("データ削除の予定と状況"))


class ContractOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("契約ID"))
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    product = serializers.SlugField(source="product.code", help_text=_("製品コード"))
    options = serializers.SerializerMethodField(help_text=_("契約しているオプションのコード"))
    status = serializers.ChoiceField(
        choices=ContractStatus.choices,
        help_text=_("active / ended（満了・更新しない）/ terminated（それ以外の終了、R14）"),
    )
    start_date = serializers.DateField(help_text=_("利用開始日（管理者アカウント発行日、R9）"))
    term_months = serializers.IntegerField(help_text=_("利用期間（月）"))
    auto_renew = serializers.BooleanField(help_text=_("自動更新するか（R11）"))
    auto_renew_source = serializers.ChoiceField(
        choices=TermsSource.choices, help_text=_("自動更新の根拠（terms = 規約、order = 注文書）")
    )
    notice_months = serializers.IntegerField(
        allow_null=True, help_text=_("更新しない旨の申込に必要な期間（月）")
    )
    notice_source = serializers.ChoiceField(
        choices=TermsSource.choices, help_text=_("その期間の根拠")
    )
    billing_cycle = serializers.ChoiceField(
        choices=BillingCycle.choices, help_text=_("請求サイクル（日割りなし、R12）")
    )
    cycle_months = serializers.IntegerField(
        allow_null=True, help_text=_("請求サイクルの月数（複数年のとき）")
    )
    amount_jpy = serializers.IntegerField(allow_null=True, help_text=_("サイクルあたり料金（円）"))
    lump_sum_jpy = serializers.IntegerField(allow_null=True, help_text=_("一括料金（円）"))
    order_ref = serializers.CharField(help_text=_("注文番号"))
    external_ref = serializers.CharField(help_text=_("パートナー側の識別子"))
    ended_on = serializers.DateField(allow_null=True, help_text=_("終了日"))
    end_reason = serializers.CharField(help_text=_("終了事由（終了していなければ空文字）"))
    predecessor = serializers.IntegerField(
        source="predecessor_id", allow_null=True, help_text=_("承継元の契約ID（R19）")
    )
    created_at = serializers.DateTimeField(help_text=_("作成日時"))
    updated_at = serializers.DateTimeField(help_text=_("最終更新日時（updated_since の比較対象）"))
    facts = serializers.SerializerMethodField(help_text=_("期限と日付（R10–R18）"))

    def get_options(self, obj: Any) -> list[str]:
        return sorted(o.code for o in obj.options.all())

    @extend_schema_field(ContractFactsOutput)
    def get_facts(self, obj: Any) -> dict[str, Any]:
        return dict(ContractFactsOutput(contract_facts(obj, clock.today())).data)


class PeriodOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("利用期間ID"))
    seq = serializers.IntegerField(help_text=_("回数（1 = 最初の期間）"))
    start_date = serializers.DateField(help_text=_("開始日"))
    end_date = serializers.DateField(help_text=_("末日（この日を含む）"))
    status = serializers.ChoiceField(choices=PeriodStatus.choices, help_text=_("状態"))


class NonRenewalOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("申込ID"))
    contract = serializers.IntegerField(source="contract_id", help_text=_("契約ID"))
    requested_on = serializers.DateField(help_text=_("申込日（業務日）"))
    end_date = serializers.DateField(help_text=_("契約が終了する日（期間の末日）"))
    deadline = serializers.DateField(
        help_text=_("この終了日のための申込期限（この日まで取り下げ可能）")
    )
    status = serializers.ChoiceField(choices=NonRenewalStatus.choices, help_text=_("状態"))
    withdrawn_at = serializers.DateTimeField(allow_null=True, help_text=_("取り下げ日時"))


class TerminationOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("解約ID"))
    contract = serializers.IntegerField(source="contract_id", help_text=_("契約ID"))
    reason = serializers.ChoiceField(choices=TerminationReason.choices, help_text=_("終了事由"))
    status = serializers.ChoiceField(choices=TerminationStatus.choices, help_text=_("状態"))
    end_date = serializers.DateField(help_text=_("終了日（この日まで利用可能）"))
    requested_at = serializers.DateTimeField(help_text=_("受付日時"))


class DeletionOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("データ削除ID"))
    contract = serializers.IntegerField(source="contract_id", help_text=_("契約ID"))
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    product = serializers.SlugField(source="contract.product.code", help_text=_("製品コード"))
    kind = serializers.ChoiceField(
        choices=DeletionKind.choices,
        help_text=_("primary = 主データ、requested = お客様の依頼、backup = バックアップ（R15）"),
    )
    status = serializers.ChoiceField(
        choices=DeletionStatus.choices,
        help_text=_("scheduled → ordered（製品へ指示）→ acknowledged（完了報告）"),
    )
    due_on = serializers.DateField(help_text=_("期日"))
    requested_on = serializers.DateField(allow_null=True, help_text=_("お客様の依頼日"))
    ordered_at = serializers.DateTimeField(allow_null=True, help_text=_("製品へ指示した日時"))
    acknowledged_at = serializers.DateTimeField(
        allow_null=True, help_text=_("製品が完了を報告した日時")
    )
    ack_evidence = serializers.DictField(help_text=_("製品が報告した完了の証跡"))


# --- consent -----------------------------------------------------------------------------------


class ConsentRecordOutput(serializers.Serializer):
    """A ledger row; `hash = sha256(prev_hash ‖ canonical JSON)` (docs/ledger.md)."""

    id = serializers.IntegerField(help_text=_("台帳の行ID"))
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    seq = serializers.IntegerField(help_text=_("テナントごとの連番（1から）"))
    document = serializers.IntegerField(source="document_id", help_text=_("文書ID"))
    version = serializers.IntegerField(source="version_id", help_text=_("回答した版のID"))
    answer = serializers.ChoiceField(
        choices=Answer.choices, help_text=_("accepted / rejected / deemed（みなし同意、R3）")
    )
    actor_kind = serializers.ChoiceField(choices=ActorKind.choices, help_text=_("記録した者の種類"))
    actor_ref = serializers.CharField(help_text=_("記録した者（例: key:ab12cd34）"))
    channel = serializers.ChoiceField(choices=Channel.choices, help_text=_("経路"))
    recorded_at = serializers.DateTimeField(help_text=_("記録日時"))
    version_body_hash = serializers.CharField(help_text=_("回答した版の本文ハッシュ"))
    notice_posted_at = serializers.DateTimeField(
        allow_null=True, help_text=_("回答の対象となったお知らせの掲示日時")
    )
    evidence_digests = serializers.DictField(
        child=serializers.CharField(),
        help_text=_("証跡の HMAC-SHA256 ダイジェスト（個人データそのものは含まない）"),
    )
    prev_hash = serializers.CharField(help_text=_("前の行のハッシュ（最初の行は0が64個）"))
    hash = serializers.CharField(help_text=_("この行のハッシュ"))


class CaseOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("解約案件ID"))
    status = serializers.ChoiceField(choices=CaseStatus.choices, help_text=_("案件の状態"))
    end_date = serializers.DateField(allow_null=True, help_text=_("確定した終了日"))


class DocumentStatusOutput(serializers.Serializer):
    document = DocumentOutput(help_text=_("拘束している文書（R1）"))
    version = VersionRefOutput(
        allow_null=True, help_text=_("回答の対象（最新の掲示済みの版）。なければ null")
    )
    version_in_force = VersionRefOutput(allow_null=True, help_text=_("現在有効な版"))
    pending_version = VersionRefOutput(allow_null=True, help_text=_("掲示済みで効力発生前の版"))
    effective_on = serializers.DateField(allow_null=True, help_text=_("対象の版の効力発生日"))
    consent_mode = serializers.ChoiceField(
        choices=ConsentMode.choices, allow_null=True, help_text=_("同意の方式")
    )
    status = serializers.ChoiceField(
        choices=ConsentStatus.choices, help_text=_("同意の状況（真理値表を参照）")
    )
    allowed_answers = serializers.ListField(
        child=serializers.ChoiceField(choices=CALLER_ANSWER_CHOICES),
        help_text=_("状況を変える回答（同じ回答の繰り返しは常に受け付け、200で既存の記録を返す）"),
    )
    deadline = serializers.DateField(
        allow_null=True, help_text=_("効力発生前に回答できる最終日（効力発生後は null）")
    )
    record = ConsentRecordOutput(allow_null=True, help_text=_("現在の状況を作った台帳の行"))
    case = CaseOutput(allow_null=True, help_text=_("拒否による解約案件（R6）。なければ null"))

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["allowed_answers"] = sorted(str(a) for a in instance.allowed_answers)
        return data


class BindingVersionOutput(serializers.Serializer):
    document = serializers.IntegerField(source="document_id", help_text=_("文書ID"))
    document_slug = serializers.SlugField(help_text=_("文書のスラッグ"))
    document_kind = serializers.ChoiceField(choices=DocumentKind.choices, help_text=_("文書の種類"))
    version = serializers.IntegerField(
        source="version_id", allow_null=True, help_text=_("有効な版のID")
    )
    version_label = serializers.CharField(allow_null=True, help_text=_("有効な版の表示"))
    pending_version = serializers.IntegerField(
        source="pending_version_id", allow_null=True, help_text=_("掲示済みで効力発生前の版のID")
    )
    pending_version_label = serializers.CharField(allow_null=True, help_text=_("その版の表示"))
    status = serializers.ChoiceField(choices=ConsentStatus.choices, help_text=_("同意の状況"))


class StatusCheckOutput(serializers.Serializer):
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    product = serializers.IntegerField(source="product_id", help_text=_("製品ID"))
    allowed = serializers.BooleanField(
        help_text=_(
            "利用を続けてよいか。有効な契約がない、または明示の同意が未了（outstanding）なら false。"
            "拒否中のテナントは解約案件が効力を生じるまで true（flags で警告）"
        )
    )
    contract_active = serializers.BooleanField(help_text=_("有効な契約があるか"))
    contract_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("この製品の有効な契約のID")
    )
    versions = BindingVersionOutput(many=True, help_text=_("拘束している文書と版"))
    flags = serializers.ListField(
        child=serializers.ChoiceField(choices=STATUS_FLAG_CHOICES), help_text=_("注意事項")
    )
    case_end_date = serializers.DateField(
        allow_null=True, help_text=_("確定した解約案件による終了日（R6）")
    )
