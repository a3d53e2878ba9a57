"""A tenant's users (memberships): list and remove."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.errors import NotFound
from tenants import selectors, services
from tenants.authz import Action
from tenants.enums import Role
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.requests import ApiRequest


class MembershipOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("メンバーID"))
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    email = serializers.EmailField(source="user.email", help_text=_("ユーザーのメールアドレス"))
    name = serializers.SerializerMethodField(help_text=_("ユーザーの氏名（未登録は空文字）"))
    role = serializers.ChoiceField(
        choices=Role.choices, help_text=_("役割: admin（回答・申込ができる）/ viewer（閲覧のみ）")
    )
    created_at = serializers.DateTimeField(help_text=_("メンバーになった日時"))

    def get_name(self, obj: object) -> str:
        user = getattr(obj, "user", None)
        full = getattr(user, "get_full_name", None)
        return str(full()) if callable(full) else ""


class MembershipListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = PARTNERS
    tags = ("tenants",)

    @extend_schema(
        operation_id="tenants_memberships_list",
        summary="List a tenant's users",
        parameters=[FilterSerializer],
        responses={200: page_of(MembershipOutput, "Membership"), **errors(400, 404)},
    )
    def get(self, request: ApiRequest, tenant_id: int) -> Response:
        self.query(self.FilterSerializer)
        tenant = selectors.tenant_get(scope=self.scope, pk=tenant_id)
        return self.paginate(
            selectors.membership_list(scope=self.scope, tenant=tenant), MembershipOutput
        )


class MembershipRemoveApi(ApiView):
    audience = PARTNERS
    staff_action = Action.OPERATE
    tags = ("tenants",)

    @extend_schema(
        operation_id="tenants_memberships_destroy",
        summary="Remove a user from a tenant",
        description="The last admin cannot be removed (409 `last_admin`).",
        responses={204: None, **errors(403, 404, 409)},
    )
    def delete(self, request: ApiRequest, tenant_id: int, membership_id: int) -> Response:
        membership = selectors.membership_get(scope=self.scope, pk=membership_id)
        if membership.tenant_id != tenant_id:
            raise NotFound(_("メンバーが見つかりません。"))
        services.membership_remove(scope=self.scope, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)
