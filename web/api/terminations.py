"""Termination of a contract by notice, with an end date (R13)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agreements.enums import TerminationReason, TerminationStatus
from agreements.selectors import contracts as contract_selectors
from agreements.services import contracts
from tenants.authz import Action
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.problems import errors
from web.requests import ApiRequest


class TerminationOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("解約ID"))
    contract = serializers.IntegerField(source="contract_id", help_text=_("契約ID"))
    reason = serializers.ChoiceField(choices=TerminationReason.choices, help_text=_("終了事由"))
    status = serializers.ChoiceField(choices=TerminationStatus.choices, help_text=_("状態"))
    end_date = serializers.DateField(help_text=_("終了日（この日まで利用可能）"))
    requested_at = serializers.DateTimeField(help_text=_("受付日時"))


class TerminationCreateApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("contracts",)

    class InputSerializer(serializers.Serializer):
        end_date = serializers.DateField(help_text=_("終了日（この日まで利用可能、業務日）"))
        reason = serializers.ChoiceField(
            choices=TerminationReason.choices,
            default=TerminationReason.CUSTOMER_REQUEST,
            help_text=_(
                "終了事由。パートナーは customer_request のみ（当社による解約の事由は当社のみ、403）。当社の事由は契約の製品の利用規約にあるものに限ります（Optimal Biz 13.1 の各号、OPTiM ID+ 14.2 は listed_grounds。それ以外は 400 reason_not_in_terms）"
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
    def post(self, request: ApiRequest, contract_id: int) -> Response:
        contract = contract_selectors.contract_get(scope=self.scope, pk=contract_id)
        data = self.body(self.InputSerializer)
        row = contracts.termination_request(scope=self.scope, contract=contract, **data)
        # The termination is read with its contract (its dates and `facts`).
        return self.created(TerminationOutput(row).data, "contract", contract_id=contract.pk)
