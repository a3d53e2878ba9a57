"""Invitations of a tenant's users to the portal: invite (or renew), list, read, revoke."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from core import clock
from core.errors import NotFound
from tenants import selectors, services
from tenants.authz import Action
from tenants.enums import InvitationStatus, Role
from tenants.models import Invitation
from tenants.scope import Scope
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.requests import ApiRequest


class InvitationOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("招待ID"))
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    email = serializers.EmailField(help_text=_("招待したメールアドレス（小文字に正規化）"))
    role = serializers.ChoiceField(choices=Role.choices, help_text=_("承諾後の役割"))
    status = serializers.SerializerMethodField(
        help_text=_(
            "招待の状態: pending（招待中）/ accepted（承諾済み）/ revoked（取り消し）/ "
            "expired（期限切れ。有効期限を過ぎた pending も expired）"
        )
    )
    expires_at = serializers.DateTimeField(help_text=_("招待リンクの有効期限（7日後）"))
    created_at = serializers.DateTimeField(help_text=_("作成日時"))
    updated_at = serializers.DateTimeField(
        help_text=_("最終更新日時（再送・取り消し・承諾で変わる）")
    )
    accepted_at = serializers.DateTimeField(allow_null=True, help_text=_("承諾日時"))

    @extend_schema_field(serializers.ChoiceField(choices=InvitationStatus.choices))
    def get_status(self, obj: Invitation) -> str:
        if obj.status == InvitationStatus.PENDING and obj.expires_at <= clock.now():
            return InvitationStatus.EXPIRED.value  # before the housekeeping job marks it
        return str(obj.status)


def tenant_invitation(scope: Scope, tenant_id: int, invitation_id: int) -> Invitation:
    """The invitation of the tenant in the path, in the caller's reach; else 404."""
    selectors.tenant_get(scope=scope, pk=tenant_id)
    invitation = selectors.invitation_get(scope=scope, pk=invitation_id)
    if invitation.tenant_id != tenant_id:
        raise NotFound(_("招待が見つかりません。"), code="invitation_not_found")
    return invitation


class InvitationListApi(ApiView):
    audience = PARTNERS
    tags = ("tenants",)

    class FilterSerializer(PageQuery):
        status = serializers.ChoiceField(
            choices=InvitationStatus.choices,
            required=False,
            help_text=_("この状態の招待だけ（省略時はすべて）"),
        )

    @extend_schema(
        operation_id="tenants_invitations_list",
        summary="List a tenant's invitations",
        description="Every invitation of the tenant, oldest first (filter `status`). A renewed "
        "invitation keeps its id: it is listed once, with its new expiry.",
        parameters=[FilterSerializer],
        responses={200: page_of(InvitationOutput, "Invitation"), **errors(400, 404)},
    )
    def get(self, request: ApiRequest, tenant_id: int) -> Response:
        query = self.query(self.FilterSerializer)
        tenant = selectors.tenant_get(scope=self.scope, pk=tenant_id)
        rows = selectors.invitation_list(
            scope=self.scope, tenant=tenant, status=query.get("status")
        )
        return self.paginate(rows, InvitationOutput)


class InvitationDetailApi(ApiView):
    audience = PARTNERS
    tags = ("tenants",)

    @extend_schema(
        operation_id="tenants_invitations_retrieve",
        summary="Read an invitation",
        responses={200: InvitationOutput, **errors(404)},
    )
    def get(self, request: ApiRequest, tenant_id: int, invitation_id: int) -> Response:
        invitation = tenant_invitation(self.scope, tenant_id, invitation_id)
        return Response(InvitationOutput(invitation).data)


class InvitationRevokeApi(ApiView):
    audience = PARTNERS
    staff_action = Action.OPERATE
    tags = ("tenants",)

    @extend_schema(
        operation_id="tenants_invitations_revoke",
        summary="Revoke an invitation",
        description="Its link stops working at once (the portal answers `invitation_revoked`). "
        "Revoking it again returns it unchanged; an accepted one is a 409 `invitation_used` "
        "(remove the membership instead).",
        request=None,
        responses={200: InvitationOutput, **errors(403, 404, 409)},
    )
    def post(self, request: ApiRequest, tenant_id: int, invitation_id: int) -> Response:
        invitation = tenant_invitation(self.scope, tenant_id, invitation_id)
        revoked = services.invitation_revoke(scope=self.scope, invitation=invitation)
        return Response(InvitationOutput(revoked).data)


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
        "Inviting an address whose invitation is still pending (not expired) renews that "
        "invitation: the same `id`, a new link and expiry, the role given now, a new e-mail "
        "— and the link sent before stops working. An address whose invitation was "
        "accepted, revoked or has expired gets a new invitation (a new `id`). A member already in the tenant is a 409 "
        "`already_member`.",
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
        return self.created(
            InvitationOutput(invitation).data,
            "tenant-invitation",
            tenant_id=tenant.pk,
            invitation_id=invitation.pk,
        )
