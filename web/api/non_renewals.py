"""Non-renewal of a contract: apply before the deadline, or withdraw (R11)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agreements.enums import NonRenewalStatus
from agreements.models import NonRenewalRequest
from agreements.selectors import contracts as contract_selectors
from agreements.services import contracts
from core.errors import NotFound
from tenants.authz import Action
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.problems import errors
from web.requests import ApiRequest


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


def non_renewal_active(*, contract_id: int) -> NonRenewalRequest:
    """The contract's active non-renewal application (the caller has already read the contract)."""
    request = NonRenewalRequest.objects.filter(
        contract_id=contract_id, status=NonRenewalStatus.ACTIVE
    ).first()
    if request is None:
        raise NotFound(_("有効な更新しない旨の申込はありません。"), code="non_renewal_not_found")
    return request


class NonRenewalCreateApi(ApiView):
    audience = PARTNERS
    staff_action = Action.OPERATE
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
    def post(self, request: ApiRequest, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        data = self.body(self.InputSerializer)
        row = contracts.non_renewal_request(
            scope=self.scope, contract=contract, end_date=data.get("end_date")
        )
        # The non-renewal is read with its contract (its dates and `facts`).
        return self.created(NonRenewalOutput(row).data, "contract", contract_id=contract.pk)


class NonRenewalWithdrawApi(ApiView):
    audience = PARTNERS
    staff_action = Action.OPERATE
    tags = ("contracts",)

    @extend_schema(
        operation_id="contracts_non_renewal_withdraw",
        summary="Withdraw a non-renewal",
        description="Possible until the application's deadline; the contract renews again.",
        request=None,
        responses={200: NonRenewalOutput, **errors(403, 404, 409)},
    )
    def post(self, request: ApiRequest, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        row = non_renewal_active(contract_id=contract.pk)
        row = contracts.non_renewal_withdraw(scope=self.scope, request=row)
        return Response(NonRenewalOutput(row).data)
