"""Data deletion (R15): the customer's request, and the products' orders and acknowledgements."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from agreements.enums import DeletionKind, DeletionStatus, ProductKeyScope
from agreements.models import DataDeletion
from agreements.selectors import contracts as contract_selectors
from agreements.services import deletions
from core import clock
from core.errors import NotFound, PermissionDenied
from tenants import partition
from tenants.authz import Action
from tenants.scope import Scope
from web.api.auth import PARTNERS, PRODUCTS, PRODUCTS_ONLY
from web.api.base import ApiView
from web.api.fields import OffsetDateTimeField
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.requests import ApiRequest


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


def deletion_list(*, scope: Scope, status: str | None = None) -> QuerySet[DataDeletion]:
    """Deletion orders in the caller's reach: a product sees its own product's; staff all."""
    qs = DataDeletion.objects.select_related("contract", "contract__product")
    if scope.is_product:
        qs = qs.filter(contract__product_id=scope.product_id)
    elif not scope.is_privileged:
        raise PermissionDenied(_("削除の指示を参照する権限がありません。"))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("id")


def deletion_get(*, scope: Scope, pk: int) -> DataDeletion:
    try:
        return deletion_list(scope=scope).get(pk=pk)
    except DataDeletion.DoesNotExist:
        raise NotFound(_("削除の指示が見つかりません。"), code="deletion_not_found") from None


class DeletionRequestApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("contracts",)

    @extend_schema(
        operation_id="contracts_deletions_create",
        summary="Request deletion of the contract's data",
        description="At cancellation or after the end (R15, Biz 10.3: 「解約申込と同時又は本製品の"
        "利用期間終了後」). On a contract that has ended, or that is still active but has a "
        "filed end (a non-renewal or a termination), the request is filed: **201** with "
        "`status: scheduled` and `due_on` the later of the day after the end and the request "
        "date + 14 days; nothing is deleted before the end (nor while it is called off: the "
        "request waits for the contract really to end). On an active contract without a "
        "filed end: **409** `deletion_needs_end` (file a non-renewal or termination first, or "
        "with it). Repeating the request returns the existing one with **200**.",
        request=None,
        responses={201: DeletionOutput, 200: DeletionOutput, **errors(403, 404, 409)},
    )
    def post(self, request: ApiRequest, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        row, filed = deletions.deletion_request_filed(scope=self.scope, contract=contract)
        if not filed:  # a repeat: the existing request, as it stands
            return Response(DeletionOutput(row).data, status=status.HTTP_200_OK)
        # Partners read the deletion with its contract (`facts`).
        return self.created(DeletionOutput(row).data, "contract", contract_id=contract.pk)


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
    def get(self, request: ApiRequest) -> Response:
        query = self.query(self.FilterSerializer)
        rows = deletion_list(scope=self.scope, status=query.get("status"))
        if self.scope.is_privileged:
            # Staff lists leave partners' sandboxes out (docs/api.md, Sandbox), as the
            # contracts' do; one by id stays open.
            rows = rows.filter(partition.tenant_q("tenant__"))
        return self.paginate(rows, DeletionOutput)


class DeletionAckApi(ApiView):
    audience = PRODUCTS_ONLY
    product_scope = ProductKeyScope.DELETION_ACK
    tags = ("products",)

    class InputSerializer(serializers.Serializer):
        completed_at = OffsetDateTimeField(help_text=_("削除が完了した日時（ISO 8601）"))
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
        "`completed_at` may not be before the day after the contract's end (400 "
        "`completed_before_end`) nor in the future beyond 5 minutes of clock skew (400 "
        "`completed_in_future`). Repeating it with the same evidence (the same instant in any "
        "offset) returns the same record with 200; with other evidence it is a 409 "
        "`ack_evidence_differs` and the first evidence stays. A deletion not yet ordered is a "
        "409 `deletion_not_ordered`.",
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
    def post(self, request: ApiRequest, deletion_id: int) -> Response:
        deletion = deletion_get(scope=self.scope, pk=deletion_id)
        data = self.body(self.InputSerializer)
        evidence = {**data, "completed_at": clock.api_instant(data["completed_at"])}
        row = deletions.deletion_acknowledge(scope=self.scope, deletion=deletion, evidence=evidence)
        return Response(DeletionOutput(row).data)
