"""Terms, contracts, consent and deletions over the API (DESIGN: REST API; R1–R19).

Each view: validate input, call one selector or service with the caller's Scope, serialise.
"""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from agreements.enums import (
    BillingCycle,
    DeletionStatus,
    ProductKeyScope,
    TerminationReason,
)
from agreements.models import ContractPeriod
from agreements.selectors import consents as consent_selectors
from agreements.selectors import contracts as contract_selectors
from agreements.selectors import versions as version_selectors
from agreements.services import consents, contracts, deletions
from agreements.services.ledger import EvidenceInput
from agreements.services.version_text import version_diff
from core.errors import NotFound, ValidationFailed
from tenants import selectors as tenant_selectors
from web.api.agreements import selectors as api_selectors
from web.api.agreements.serializers import (
    CALLER_ANSWER_CHOICES,
    ConsentRecordOutput,
    ContractOutput,
    DeletionOutput,
    DocumentOutput,
    DocumentStatusOutput,
    NonRenewalOutput,
    NoticeOutput,
    PeriodOutput,
    ProductOutput,
    StatusCheckOutput,
    TerminationOutput,
    VersionDetailOutput,
    VersionDiffOutput,
    VersionOutput,
)
from web.api.auth import EVERYONE, PARTNERS, PRODUCTS, PRODUCTS_ONLY
from web.api.base import ApiView, errors, page_of
from web.api.tenants.views import PageQuery


def _field_error(field: str, message: Any) -> ValidationFailed:
    return ValidationFailed(_("入力内容に誤りがあります。"), fields={field: [message]})


def _ref(field: str, getter: Any, **kwargs: Any) -> Any:
    """An object named in the request body; one that does not exist is a field error."""
    try:
        return getter(**kwargs)
    except NotFound as exc:
        raise _field_error(field, exc.message) from None


# --- catalogue and terms (every caller) ------------------------------------------------------


class ProductListApi(ApiView):
    audience = EVERYONE
    tags = ("terms",)

    @extend_schema(
        operation_id="products_list",
        summary="List products and their options",
        parameters=[PageQuery],
        responses={200: page_of(ProductOutput, "Product")},
    )
    def get(self, request: Request) -> Response:
        self.query(PageQuery)
        return self.paginate(api_selectors.product_list(), ProductOutput)


class DocumentListApi(ApiView):
    audience = EVERYONE
    tags = ("terms",)

    class FilterSerializer(PageQuery):
        product = serializers.SlugField(
            required=False,
            allow_blank=True,
            max_length=64,
            help_text=_("この製品コードの文書だけ（空は全製品）"),
        )

    @extend_schema(
        operation_id="documents_list",
        summary="List terms documents",
        description="Base terms (利用規約) and individual rules (個別規程) per product (R1). "
        "Each needs its own answer.",
        parameters=[FilterSerializer],
        responses={200: page_of(DocumentOutput, "Document")},
    )
    def get(self, request: Request) -> Response:
        query = self.query(self.FilterSerializer)
        product = None
        if query.get("product"):
            product = _ref("product", api_selectors.product_by_code, code=query["product"])
        documents = version_selectors.document_list(scope=self.scope, product=product)
        return self.paginate(documents, DocumentOutput)


class VersionListApi(ApiView):
    audience = EVERYONE
    tags = ("terms",)

    @extend_schema(
        operation_id="documents_versions_list",
        summary="List a document's versions",
        description="Versions in force now or before, and revisions whose notice is posted "
        "(staff also see drafts).",
        parameters=[PageQuery],
        responses={200: page_of(VersionOutput, "Version"), **errors(404)},
    )
    def get(self, request: Request, document_id: int) -> Response:
        self.query(PageQuery)
        document = version_selectors.document_list(scope=self.scope).filter(pk=document_id).first()
        if document is None:
            raise NotFound(_("文書が見つかりません。"))
        versions = version_selectors.version_list(scope=self.scope, document=document)
        return self.paginate(versions, VersionOutput, ordering=("-id",))


class VersionDetailApi(ApiView):
    audience = EVERYONE
    tags = ("terms",)

    @extend_schema(
        operation_id="versions_retrieve",
        summary="Read a version with its articles",
        description="The Japanese text is the binding text. `is_excerpt` marks versions that "
        "hold only the revised passages (imported from a revision notice).",
        responses={200: VersionDetailOutput, **errors(404)},
    )
    def get(self, request: Request, version_id: int) -> Response:
        version = version_selectors.version_get(scope=self.scope, pk=version_id)
        prefetch_related_objects([version], "articles__paragraphs")
        return Response(VersionDetailOutput(version).data)


class VersionDiffApi(ApiView):
    audience = EVERYONE
    tags = ("terms",)

    class FilterSerializer(serializers.Serializer):
        against = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text=_("比較元の版のID（省略時は元にした版、なければ空の文書）"),
        )

    @extend_schema(
        operation_id="versions_diff",
        summary="Compare two versions",
        description="Article by article, paragraph by paragraph, with changed characters "
        "marked (R8): the basis of the revision notice's 改定前 / 改定後 table.",
        parameters=[FilterSerializer],
        responses={200: VersionDiffOutput, **errors(400, 404)},
    )
    def get(self, request: Request, version_id: int) -> Response:
        query = self.query(self.FilterSerializer)
        after = version_selectors.version_get(scope=self.scope, pk=version_id)
        before = None
        if "against" in query:
            before = _ref(
                "against", version_selectors.version_get, scope=self.scope, pk=query["against"]
            )
        elif after.based_on_id is not None:
            before = version_selectors.version_get(scope=self.scope, pk=after.based_on_id)
        diff = version_diff(before=before, after=after)
        data = {
            "before": {"id": before.pk, "label": before.label} if before else None,
            "after": {"id": after.pk, "label": after.label},
            "before_is_excerpt": bool(before and before.is_excerpt),
            "after_is_excerpt": after.is_excerpt,
            "has_changes": diff.has_changes,
            "articles": diff.articles,
        }
        return Response(VersionDiffOutput(data).data)


class NoticeListApi(ApiView):
    audience = EVERYONE
    tags = ("terms",)

    @extend_schema(
        operation_id="notices_list",
        summary="List posted revision notices",
        description="Every revision notice (お知らせ) posted so far, newest first. A notice is "
        "public from the moment it is posted.",
        parameters=[PageQuery],
        responses={200: page_of(NoticeOutput, "Notice")},
    )
    def get(self, request: Request) -> Response:
        self.query(PageQuery)
        return self.paginate(
            version_selectors.notice_list_public(), NoticeOutput, ordering=("-id",)
        )


# --- contracts (partners, staff) -------------------------------------------------------------


class ContractListApi(ApiView):
    audience = PARTNERS
    tags = ("contracts",)

    class FilterSerializer(PageQuery):
        tenant = serializers.IntegerField(
            required=False, min_value=1, help_text=_("このテナントの契約だけ")
        )
        updated_since = serializers.DateTimeField(
            required=False, help_text=_("この日時以降に更新された契約だけ（ISO 8601）")
        )

    @extend_schema(
        operation_id="contracts_list",
        summary="List contracts",
        description="The caller's contracts with their current period, deadlines and the "
        "dates that follow from them (`facts`).",
        parameters=[FilterSerializer],
        responses={200: page_of(ContractOutput, "Contract"), **errors(400, 404)},
    )
    def get(self, request: Request) -> Response:
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
            choices=BillingCycle.choices, help_text=_("請求サイクル（日割りなし、R12）")
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
    def post(self, request: Request) -> Response:
        data = self.body(self.InputSerializer)
        tenant = tenant_selectors.tenant_get(scope=self.scope, pk=data.pop("tenant"))
        product = _ref("product", api_selectors.product_by_code, code=data.pop("product"))
        options = _ref(
            "options", api_selectors.options_by_code, product=product, codes=data.pop("options")
        )
        contract = contracts.contract_create(
            scope=self.scope, tenant=tenant, product=product, options=options, **data
        )
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract.pk)
        return Response(ContractOutput(contract).data, status=status.HTTP_201_CREATED)


class ContractDetailApi(ApiView):
    audience = PARTNERS
    tags = ("contracts",)

    @extend_schema(
        operation_id="contracts_retrieve",
        summary="Read a contract",
        responses={200: ContractOutput, **errors(404)},
    )
    def get(self, request: Request, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        return Response(ContractOutput(contract).data)


class ContractPeriodListApi(ApiView):
    audience = PARTNERS
    tags = ("contracts",)

    @extend_schema(
        operation_id="contracts_periods_list",
        summary="List a contract's periods",
        description="Renewals chain: each period starts the day after the previous end (R10).",
        parameters=[PageQuery],
        responses={200: page_of(PeriodOutput, "Period"), **errors(400, 404)},
    )
    def get(self, request: Request, contract_id: int) -> Response:
        self.query(PageQuery)
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        periods = ContractPeriod.objects.filter(contract=contract)
        return self.paginate(periods, PeriodOutput)


class NonRenewalCreateApi(ApiView):
    audience = PARTNERS
    tags = ("contracts",)

    class InputSerializer(serializers.Serializer):
        end_date = serializers.DateField(
            required=False,
            allow_null=True,
            help_text=_(
                "終了日。省略時は現在の期間の末日。期限後の申込は 409 の next_possible_end を"
                "指定すると受け付けます（R11）"
            ),
        )

    @extend_schema(
        operation_id="contracts_non_renewal_create",
        summary="Apply not to renew",
        description="Timely when made on or before the deadline (JST): the contract ends at "
        "the current period end. A late application is a 409 `non_renewal_late` naming "
        "`deadline` and `next_possible_end`; repeat it with `end_date` = that end to end "
        "the contract then. Any other end date is a termination (R13).",
        request=InputSerializer,
        responses={201: NonRenewalOutput, **errors(400, 403, 404, 409)},
        examples=[
            OpenApiExample("at period end", value={}, request_only=True),
            OpenApiExample(
                "late: the next end", value={"end_date": "2026-03-31"}, request_only=True
            ),
        ],
    )
    def post(self, request: Request, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        data = self.body(self.InputSerializer)
        row = contracts.non_renewal_request(
            scope=self.scope, contract=contract, end_date=data.get("end_date")
        )
        return Response(NonRenewalOutput(row).data, status=status.HTTP_201_CREATED)


class NonRenewalWithdrawApi(ApiView):
    audience = PARTNERS
    tags = ("contracts",)

    @extend_schema(
        operation_id="contracts_non_renewal_withdraw",
        summary="Withdraw a non-renewal",
        description="Possible until the application's deadline; the contract renews again.",
        request=None,
        responses={200: NonRenewalOutput, **errors(403, 404, 409)},
    )
    def post(self, request: Request, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        row = api_selectors.non_renewal_active(contract_id=contract.pk)
        row = contracts.non_renewal_withdraw(scope=self.scope, request=row)
        return Response(NonRenewalOutput(row).data)


class TerminationCreateApi(ApiView):
    audience = PARTNERS
    tags = ("contracts",)

    class InputSerializer(serializers.Serializer):
        end_date = serializers.DateField(help_text=_("終了日（この日まで利用可能、業務日）"))
        reason = serializers.ChoiceField(
            choices=TerminationReason.choices,
            default=TerminationReason.CUSTOMER_REQUEST,
            help_text=_(
                "終了事由。パートナーは customer_request のみ（13条1項の事由は当社のみ、403）"
            ),
        )
        note = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=2000, help_text=_("メモ")
        )

    @extend_schema(
        operation_id="contracts_terminations_create",
        summary="Give notice of termination",
        description="The customer ends the contract with an end date (R13); accounts are "
        "removed at the end and cannot be restored. Staff-only reasons (Biz 13.1) are a 403 "
        "`staff_only_reason` for partners.",
        request=InputSerializer,
        responses={201: TerminationOutput, **errors(400, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "customer request",
                value={"end_date": "2025-06-30", "reason": "customer_request"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        data = self.body(self.InputSerializer)
        row = contracts.termination_request(scope=self.scope, contract=contract, **data)
        return Response(TerminationOutput(row).data, status=status.HTTP_201_CREATED)


class DeletionRequestApi(ApiView):
    audience = PARTNERS
    tags = ("contracts",)

    @extend_schema(
        operation_id="contracts_deletions_create",
        summary="Request deletion of the contract's data",
        description="At cancellation or after the end (R15). Due on the later of the day after "
        "the end and the request date + 14 days; a repeated request returns the existing one.",
        request=None,
        responses={201: DeletionOutput, **errors(403, 404, 409)},
    )
    def post(self, request: Request, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        row = deletions.deletion_request(scope=self.scope, contract=contract)
        return Response(DeletionOutput(row).data, status=status.HTTP_201_CREATED)


# --- consent (partners, staff) ----------------------------------------------------------------


class ConsentStatusApi(ApiView):
    audience = PARTNERS
    tags = ("consent",)

    @extend_schema(
        operation_id="tenants_consents_list",
        summary="Consent status per bound document",
        description="For every document binding the tenant: the version in force, the pending "
        "version, its effective date and mode, the tenant's status, the answers allowed and "
        "the last day to answer before the change takes effect (DESIGN truth table).",
        responses={200: DocumentStatusOutput(many=True), **errors(404)},
    )
    def get(self, request: Request, tenant_id: int) -> Response:
        tenant = tenant_selectors.tenant_get(scope=self.scope, pk=tenant_id)
        statuses = consent_selectors.consent_status_for_tenant(scope=self.scope, tenant=tenant)
        return Response(DocumentStatusOutput(statuses, many=True).data)


class ConsentEvidenceInput(serializers.Serializer):
    """Who at the customer answered, when, how, from where (kept outside the hash chain)."""

    person_name = serializers.CharField(
        max_length=255, help_text=_("回答したお客様側の担当者の氏名")
    )
    person_email = serializers.EmailField(
        required=False,
        allow_blank=True,
        default="",
        max_length=255,
        help_text=_("その方のメールアドレス"),
    )
    obtained_at = serializers.DateTimeField(help_text=_("回答を得た日時（ISO 8601）"))
    method = serializers.CharField(
        max_length=255, help_text=_("回答を得た方法（例: パートナー管理画面での同意、書面）")
    )
    ip_address = serializers.IPAddressField(
        required=False, allow_blank=True, default="", help_text=_("回答時のIPアドレス")
    )
    user_agent = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1000,
        help_text=_("回答時のユーザーエージェント"),
    )


class ConsentAnswerApi(ApiView):
    audience = PARTNERS
    tags = ("consent",)

    class InputSerializer(serializers.Serializer):
        version = serializers.IntegerField(
            min_value=1, help_text=_("回答する版のID（最新の掲示済みの版）")
        )
        answer = serializers.ChoiceField(
            choices=CALLER_ANSWER_CHOICES,
            help_text=_("accepted（同意）/ rejected（拒否）。deemed はシステムのみが記録します"),
        )
        evidence = ConsentEvidenceInput(help_text=_("回答の証跡（個人データは台帳の外に保存）"))

    @extend_schema(
        operation_id="tenants_consents_create",
        summary="Record the customer's answer",
        description="The answer the partner obtained from the customer, with evidence (who, "
        "when, how, IP, user agent; kept outside the hash chain and redactable). The first "
        "answer returns 201; repeating the current answer returns the existing record with "
        "200. Refusals of the truth table are 409 with a `code` (e.g. "
        "`reject_after_effective_deemed`: end the contract instead, `remedy: termination`).",
        request=InputSerializer,
        examples=[
            OpenApiExample(
                "accepted",
                value={
                    "version": 12,
                    "answer": "accepted",
                    "evidence": {
                        "person_name": "山田 太郎",
                        "person_email": "yamada@customer.example",
                        "obtained_at": "2025-03-10T14:05:00+09:00",
                        "method": "partner portal checkbox",
                        "ip_address": "203.0.113.7",
                        "user_agent": "Mozilla/5.0",
                    },
                },
                request_only=True,
            )
        ],
        responses={
            201: ConsentRecordOutput,
            200: ConsentRecordOutput,
            **errors(400, 403, 404, 409),
        },
    )
    def post(self, request: Request, tenant_id: int) -> Response:
        tenant = tenant_selectors.tenant_get(scope=self.scope, pk=tenant_id)
        data = self.body(self.InputSerializer)
        version = _ref(
            "version", version_selectors.version_get, scope=self.scope, pk=data["version"]
        )
        record, created = consents.consent_answer(
            scope=self.scope,
            tenant=tenant,
            version=version,
            answer=data["answer"],
            evidence=EvidenceInput(**data["evidence"]),
        )
        return Response(
            ConsentRecordOutput(record).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class LedgerListApi(ApiView):
    audience = PARTNERS
    tags = ("consent",)

    @extend_schema(
        operation_id="tenants_ledger_list",
        summary="Read the tenant's consent ledger",
        description="Every answer and deemed consent in chain order, with `prev_hash` and "
        "`hash` so the chain can be verified independently (docs/ledger.md).",
        parameters=[PageQuery],
        responses={200: page_of(ConsentRecordOutput, "ConsentRecord"), **errors(400, 404)},
    )
    def get(self, request: Request, tenant_id: int) -> Response:
        self.query(PageQuery)
        tenant = tenant_selectors.tenant_get(scope=self.scope, pk=tenant_id)
        return self.paginate(
            consent_selectors.ledger_for_tenant(scope=self.scope, tenant=tenant),
            ConsentRecordOutput,
        )


# --- the products -------------------------------------------------------------------------------


class TenantStatusApi(ApiView):
    audience = PRODUCTS
    product_scope = ProductKeyScope.STATUS_READ
    tags = ("products",)

    class FilterSerializer(serializers.Serializer):
        product = serializers.SlugField(
            required=False,
            allow_blank=True,
            max_length=64,
            help_text=_("製品コード（製品キーでは省略可＝自社製品、スタッフは必須）"),
        )

    @extend_schema(
        operation_id="status_retrieve",
        summary="May this tenant keep using the product?",
        description="One indexed lookup: whether the tenant is allowed, which versions bind "
        "it and flags. `allowed` is false without an active contract or while an explicit "
        "consent is outstanding (R4); a rejecting tenant stays allowed until its case takes "
        "effect (R6), flagged.",
        parameters=[FilterSerializer],
        responses={200: StatusCheckOutput, **errors(400, 404)},
    )
    def get(self, request: Request, tenant_id: int) -> Response:
        query = self.query(self.FilterSerializer)
        scope = self.scope
        if query.get("product"):
            product = _ref("product", api_selectors.product_by_code, code=query["product"])
        elif scope.kind == "product":
            product = request.auth.product  # the key's product, loaded with the key
        else:
            raise _field_error("product", _("製品コードを指定してください。"))
        tenant = tenant_selectors.tenant_get(scope=scope, pk=tenant_id)
        check = consent_selectors.tenant_is_allowed(scope=scope, tenant=tenant, product=product)
        return Response(StatusCheckOutput(check).data)


class DeletionListApi(ApiView):
    audience = PRODUCTS
    product_scope = ProductKeyScope.DELETION_ACK
    tags = ("products",)

    class FilterSerializer(PageQuery):
        status = serializers.ChoiceField(
            choices=DeletionStatus.choices,
            required=False,
            help_text=_("この状態だけ（製品は ordered を取得して削除し、完了を報告します）"),
        )

    @extend_schema(
        operation_id="deletions_list",
        summary="List data-deletion orders",
        description="A product key sees its own product's deletions (R15).",
        parameters=[FilterSerializer],
        responses={200: page_of(DeletionOutput, "Deletion"), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        query = self.query(self.FilterSerializer)
        rows = api_selectors.deletion_list(scope=self.scope, status=query.get("status"))
        return self.paginate(rows, DeletionOutput)


class DeletionAckApi(ApiView):
    audience = PRODUCTS_ONLY
    product_scope = ProductKeyScope.DELETION_ACK
    tags = ("products",)

    class InputSerializer(serializers.Serializer):
        completed_at = serializers.DateTimeField(help_text=_("削除が完了した日時（ISO 8601）"))
        reference = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=255,
            help_text=_("製品側の作業記録の番号など"),
        )
        details = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=4000,
            help_text=_("削除した範囲の説明"),
        )

    @extend_schema(
        operation_id="deletions_ack",
        summary="Acknowledge a completed deletion",
        description="The product's completion evidence for an ordered deletion (R15). "
        "Repeating it returns the same record; a deletion not yet ordered is a 409.",
        request=InputSerializer,
        responses={200: DeletionOutput, **errors(400, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "done",
                value={
                    "completed_at": "2025-05-01T10:00:00+09:00",
                    "reference": "DEL-2025-0042",
                    "details": "tenant data, logs and device records",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, deletion_id: int) -> Response:
        deletion = api_selectors.deletion_get(scope=self.scope, pk=deletion_id)
        data = self.body(self.InputSerializer)
        evidence = {**data, "completed_at": data["completed_at"].isoformat()}
        row = deletions.deletion_acknowledge(scope=self.scope, deletion=deletion, evidence=evidence)
        return Response(DeletionOutput(row).data)
