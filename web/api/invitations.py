"""Invitations of a tenant's users to the portal."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from tenants import selectors, services
from tenants.authz import Action
from tenants.enums import InvitationStatus, Role
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.problems import errors
from web.requests import ApiRequest


class InvitationOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("招待ID"))
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    email = serializers.EmailField(help_text=_("招待したメールアドレス（小文字に正規化）"))
    role = serializers.ChoiceField(choices=Role.choices, help_text=_("承諾後の役割"))
    status = serializers.ChoiceField(choices=InvitationStatus.choices, help_text=_("招待の状態"))
    expires_at = serializers.DateTimeField(help_text=_("招待リンクの有効期限（7日後）"))
    created_at = serializers.DateTimeField(help_text=_("作成日時"))


class InvitationCreateApi(ApiView):
    audience = PARTNERS
    staff_action = Action.OPERATE
    tags = ("tenants",)

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(
            max_length=150,
            help_text=_("招待する人のメールアドレス（ポータルの招待メールが届きます）"),
        )
        role = serializers.ChoiceField(
            choices=Role.choices,
            default=Role.VIEWER,
            help_text=_("承諾後の役割: admin（回答・申込ができる）/ viewer（閲覧のみ）"),
        )

    @extend_schema(
        operation_id="tenants_invitations_create",
        summary="Invite a user to the tenant's portal",
        description="Queues a portal invitation e-mail (valid 7 days) in the tenant's language. "
        "Inviting an address with a pending invitation renews it; a member already in the "
        "tenant is a 409 `already_member`.",
        request=InputSerializer,
        responses={201: InvitationOutput, **errors(400, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "admin",
                value={"email": "admin@customer.example", "role": "admin"},
                request_only=True,
            )
        ],
    )
    def post(self, request: ApiRequest, tenant_id: int) -> Response:
        tenant = selectors.tenant_get(scope=self.scope, pk=tenant_id)
        data = self.body(self.InputSerializer)
        invitation, _token = services.invitation_create(scope=self.scope, tenant=tenant, **data)
        # An invitation has no URL of its own; the member appears under the tenant's memberships.
        return self.created(
            InvitationOutput(invitation).data, "tenant-memberships", tenant_id=tenant.pk
        )
