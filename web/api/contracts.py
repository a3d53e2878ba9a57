"""Contracts and their periods: list, create, read (R9–R12), with the dates that follow (R10–R18).

Dates (`*_on`, `*_date`, deadlines) are business dates in Asia/Tokyo (YYYY-MM-DD, inclusive);
instants (`*_at`) are ISO 8601 with an offset.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from agreements.enums import (
    BillingCycle,
    ContractStatus,
    DeletionKind,
    DeletionStatus,
    PeriodStatus,
    TerminationReason,
    TermsSource,
)
from agreements.models import ContractPeriod
from agreements.selectors import contracts as contract_selectors
from agreements.selectors.contracts import contract_facts
from agreements.services import contracts
from core import clock
from tenants import selectors as tenant_selectors
from tenants.authz import Action
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.fields import OffsetDateTimeField
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.api.products import options_by_code, product_by_code
from web.api.refs import body_ref
from web.requests import ApiRequest


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
    liability_cap_other_reading_jpy = serializers.IntegerField(
        source="liability_cap_other_jpy",
        allow_null=True,
        help_text=_(
            "一括払いの上限について別の読み方をした場合の上限（円、R17）。解釈に争いがあるため両方を示します。差がなければ null"
        ),
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
        choices=BillingCycle.choices,
        help_text=_(
            "請求サイクル。日割りなしはOPTiM ID+の規約第7条第3項だけの定めです。"
            "Optimal Bizでは、当社の判断による終了時に継続的に支払われた利用料を精算します"
            "（規約第7条第2項）。R12"
        ),
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


class ContractListApi(ApiView):
    audience = PARTNERS
    tags = ("contracts",)

    class FilterSerializer(PageQuery):
        tenant = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text=_("このテナントの契約だけ（自社のテナントでなければ 404）"),
        )
        updated_since = OffsetDateTimeField(
            required=False, help_text=_("この日時以降に更新された契約だけ（ISO 8601）")
        )

    @extend_schema(
        operation_id="contracts_list",
        summary="List contracts",
        description="The caller's contracts with their current period, deadlines and the "
        "dates that follow from them (`facts`). A `tenant` that is not one of yours (another "
        "partner's, or none at all) is a 404 `not_found`, as in every list filtered by tenant.",
        parameters=[FilterSerializer],
        responses={200: page_of(ContractOutput, "Contract"), **errors(400, 404)},
    )
    def get(self, request: ApiRequest) -> Response:
        query = self.query(self.FilterSerializer)
        tenant = None
        if "tenant" in query:
            tenant = tenant_selectors.tenant_get(scope=self.scope, pk=query["tenant"])
        rows = contract_selectors.contract_list(
            scope=self.scope, tenant=tenant, updated_since=query.get("updated_since")
        )
        return self.paginate(rows, ContractOutput)


class ContractCreateApi(ApiView):
    audience = PARTNERS
    staff_action = Action.OPERATE
    tags = ("contracts",)

    class InputSerializer(serializers.Serializer):
        tenant = serializers.IntegerField(min_value=1, help_text=_("テナントID"))
        product = serializers.SlugField(
            max_length=64, help_text=_("製品コード（optimal-biz / optim-id-plus）")
        )
        options = serializers.ListField(
            child=serializers.SlugField(max_length=64),
            required=False,
            default=list,
            max_length=20,
            help_text=_("オプションのコード（R18: 前提となる製品の契約が必要なものあり）"),
        )
        start_date = serializers.DateField(
            help_text=_("利用開始日 = 管理者アカウントの発行日（R9、業務日）")
        )
        term_months = serializers.IntegerField(
            min_value=1, max_value=120, default=12, help_text=_("利用期間（月）")
        )
        auto_renew = serializers.BooleanField(
            required=False,
            allow_null=True,
            default=None,
            help_text=_("自動更新（省略時は規約の定め、規約になければ注文書どおり false）"),
        )
        notice_months = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=0,
            max_value=24,
            help_text=_("更新しない旨の申込に必要な期間（月、省略時は規約の定め）"),
        )
        billing_cycle = serializers.ChoiceField(
            choices=BillingCycle.choices,
            help_text=_(
                "請求サイクル。日割りなしはOPTiM ID+の規約第7条第3項だけの定めです。"
                "Optimal Bizでは、当社の判断による終了時に継続的に支払われた利用料を精算します"
                "（規約第7条第2項）。R12"
            ),
        )
        cycle_months = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            max_value=120,
            help_text=_("複数年のときの請求サイクル（月）"),
        )
        amount_jpy = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=0,
            max_value=10**12,
            help_text=_("サイクルあたり料金（円）"),
        )
        lump_sum_jpy = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=0,
            max_value=10**12,
            help_text=_("一括料金（円）"),
        )
        order_ref = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=100, help_text=_("注文番号")
        )
        external_ref = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=100,
            help_text=_("パートナー側の識別子"),
        )

    @extend_schema(
        operation_id="contracts_create",
        summary="Create a contract",
        description="Period 1 starts on `start_date` and counts that day (R9, R10). Renewal "
        "and notice come from the product's terms where they have a clause (ID+), otherwise "
        "from the order (Biz); the response shows each with its source (R11).",
        request=InputSerializer,
        responses={201: ContractOutput, **errors(400, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "annual ID+",
                value={
                    "tenant": 1,
                    "product": "optim-id-plus",
                    "start_date": "2025-04-01",
                    "term_months": 12,
                    "billing_cycle": "annual",
                    "amount_jpy": 120000,
                    "order_ref": "PO-2025-0001",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: ApiRequest) -> Response:
        data = self.body(self.InputSerializer)
        tenant = tenant_selectors.tenant_get(scope=self.scope, pk=data.pop("tenant"))
        product = body_ref("product", product_by_code, code=data.pop("product"))
        options = body_ref("options", options_by_code, product=product, codes=data.pop("options"))
        contract = contracts.contract_create(
            scope=self.scope, tenant=tenant, product=product, options=options, **data
        )
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract.pk)
        return self.created(ContractOutput(contract).data, "contract", contract_id=contract.pk)


class ContractDetailApi(ApiView):
    audience = PARTNERS
    tags = ("contracts",)

    @extend_schema(
        operation_id="contracts_retrieve",
        summary="Read a contract",
        responses={200: ContractOutput, **errors(404)},
    )
    def get(self, request: ApiRequest, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        return Response(ContractOutput(contract).data)


class ContractPeriodListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = PARTNERS
    tags = ("contracts",)

    @extend_schema(
        operation_id="contracts_periods_list",
        summary="List a contract's periods",
        description="Renewals chain: each period starts the day after the previous end (R10).",
        parameters=[FilterSerializer],
        responses={200: page_of(PeriodOutput, "Period"), **errors(400, 404)},
    )
    def get(self, request: ApiRequest, contract_id: int) -> Response:
        self.query(self.FilterSerializer)
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        periods = ContractPeriod.objects.filter(contract=contract)
        return self.paginate(periods, PeriodOutput)
