"""Sandbox: test keys with their own data and a clock the partner moves (docs/api.md, "Sandbox")."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agreements.enums import ConsentMode, VersionStatus
from agreements.jobs.sandbox import sandbox_advance, sandbox_revision_post
from agreements.selectors.sandbox import sandbox_partner_keys, sandbox_product_keys
from agreements.services.sandbox import (
    sandbox_of,
    sandbox_open,
    sandbox_partner_key_revoke,
    sandbox_product_key_revoke,
)
from core import clock
from web.api.auth import PARTNERS_ONLY
from web.api.base import ApiView
from web.api.fields import MinuteDateTimeField, OffsetDateTimeField
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.requests import ApiRequest


class ProductKeyOutput(serializers.Serializer):
    product = serializers.CharField(help_text=_("サンドボックスの製品コード"))
    key = serializers.CharField(help_text=_("製品APIキー（この応答でのみ表示）"))
    key_id = serializers.IntegerField(
        help_text=_("キーID（POST /sandbox/product-keys/{key_id}/revoke/ で失効）")
    )


class SandboxClockOutput(serializers.Serializer):
    now = serializers.CharField(help_text=_("サンドボックスの現在時刻（日本時間）"))
    today = serializers.DateField(help_text=_("サンドボックスの業務日（日本時間）"))


class SandboxOutput(SandboxClockOutput):
    key = serializers.CharField(
        help_text=_("サンドボックスのパートナーAPIキー（この応答でのみ表示）")
    )
    key_prefix = serializers.CharField(help_text=_("キーの接頭辞"))
    key_id = serializers.IntegerField(
        help_text=_("キーID（POST /sandbox/keys/{key_id}/revoke/ で失効）")
    )
    product_keys = ProductKeyOutput(many=True, help_text=_("サンドボックスの製品APIキー"))


def _clock(partner: Any) -> dict[str, Any]:
    return {
        "now": clock.api_instant(partner.sandbox_now),
        "today": clock.business_date(partner.sandbox_now),
    }


class SandboxCreateApi(ApiView):
    audience = PARTNERS_ONLY
    tags = ("sandbox",)

    @extend_schema(
        operation_id="sandbox_create",
        summary="Issue sandbox keys",
        description="With a live partner key: creates the partner's sandbox on first use (its "
        "clock starts at the current time; the products and their terms in force are copied "
        "into it) and issues a new sandbox partner key with the live key's scopes, and one "
        "product key per sandbox product (to play the product: status, deletion "
        "acknowledgements). Keys are shown once; `GET /sandbox/keys/` and "
        "`GET /sandbox/product-keys/` list them, and each can be revoked. `Location` is "
        "`/api/v1/sandbox/keys/`, the list the new partner key is read in with the live key "
        "that called. A sandbox key is refused (`live_key_required`).",
        request=None,
        responses={201: SandboxOutput, **errors(403)},
    )
    def post(self, request: ApiRequest) -> Response:
        sandbox, (key, raw), product_keys = sandbox_open(scope=self.scope)
        data = {
            **_clock(sandbox),
            "key": raw,
            "key_prefix": key.prefix,
            "key_id": key.pk,
            "product_keys": [
                {"product": product_key.product.code, "key": product_raw, "key_id": product_key.pk}
                for product_key, product_raw in product_keys
            ],
        }
        # The keys just issued are read in the sandbox's key list, which the live key that
        # called reads (the clock, which only a sandbox key reads, was named here before).
        return self.created(SandboxOutput(data).data, "sandbox-keys")


class SandboxClockApi(ApiView):
    audience = PARTNERS_ONLY
    tags = ("sandbox",)

    @extend_schema(
        operation_id="sandbox_clock_retrieve",
        summary="The sandbox clock",
        description="The instant and business date the sandbox's requests and jobs see. A "
        "live key is refused (`sandbox_key_required`).",
        responses={200: SandboxClockOutput, **errors(403)},
    )
    def get(self, request: ApiRequest) -> Response:
        return Response(SandboxClockOutput(_clock(sandbox_of(self.scope))).data)


class SandboxAdvanceApi(ApiView):
    audience = PARTNERS_ONLY
    tags = ("sandbox",)

    class InputSerializer(serializers.Serializer):
        # With its offset, as every instant the API takes: a bare date or a time without a
        # zone would be read in some zone the caller did not name.
        to = OffsetDateTimeField(
            help_text=_("進める先の時刻（RFC 3339）。現在のサンドボックス時刻以降")
        )

    class Output(SandboxClockOutput):
        days = serializers.IntegerField(help_text=_("実行した業務日の数"))

    @extend_schema(
        operation_id="sandbox_clock_advance",
        summary="Advance the sandbox clock",
        description="Moves the sandbox clock forward to `to` and runs the lifecycle jobs for "
        "each business day passed, for this sandbox only (notices, versions taking effect, "
        "renewals and ends, terminations, deletion orders), then delivers its webhooks. "
        "Advancing to the current instant again runs nothing; an earlier instant is a 409 "
        "`sandbox_clock_backwards`; more than three years at once a 400 "
        "`sandbox_advance_too_far`. A live key is refused (`sandbox_key_required`).",
        request=InputSerializer,
        responses={200: Output, **errors(400, 403, 409)},
    )
    def post(self, request: ApiRequest) -> Response:
        data = self.body(self.InputSerializer)
        before = clock.today()  # the request runs on the sandbox's clock
        partner, _counts = sandbox_advance(scope=self.scope, to=data["to"])
        days = (clock.business_date(partner.sandbox_now or data["to"]) - before).days
        return Response(self.Output({**_clock(partner), "days": days}).data)


class SandboxRevisionOutput(serializers.Serializer):
    version = serializers.IntegerField(source="pk", help_text=_("版ID"))
    document = serializers.IntegerField(source="document_id", help_text=_("文書ID"))
    product = serializers.CharField(source="document.product.code", help_text=_("製品コード"))
    status = serializers.ChoiceField(choices=VersionStatus.choices, help_text=_("状態"))
    consent_mode = serializers.ChoiceField(choices=ConsentMode.choices, help_text=_("同意の方式"))
    notice_on = serializers.DateField(help_text=_("掲示日"))
    effective_on = serializers.DateField(help_text=_("効力発生日"))
    posted_at = serializers.DateTimeField(allow_null=True, help_text=_("掲示日時"))


class SandboxRevisionCreateApi(ApiView):
    audience = PARTNERS_ONLY
    tags = ("sandbox",)

    class InputSerializer(serializers.Serializer):
        product = serializers.CharField(help_text=_("製品コード"))
        effective_on = serializers.DateField(
            help_text=_("効力発生日（サンドボックスの今日より後）")
        )
        consent_mode = serializers.ChoiceField(
            choices=ConsentMode.choices, help_text=_("同意の方式")
        )

    @extend_schema(
        operation_id="sandbox_revisions_create",
        summary="Post a simulated revision",
        description="A revision of the sandbox's copy of the product's base terms (the version "
        "in force with one added article), noticed and posted on the sandbox's today and "
        "effective on `effective_on`: the sandbox's tenants with a contract for the product "
        "receive it as a real revision (events and webhooks). Nobody outside the sandbox sees "
        "it. A live key is refused (`sandbox_key_required`).",
        request=InputSerializer,
        responses={201: SandboxRevisionOutput, **errors(400, 403, 404, 409)},
    )
    def post(self, request: ApiRequest) -> Response:
        data = self.body(self.InputSerializer)
        version = sandbox_revision_post(
            scope=self.scope,
            product_code=data["product"],
            effective_on=data["effective_on"],
            consent_mode=data["consent_mode"],
        )
        return self.created(SandboxRevisionOutput(version).data, "version", version_id=version.pk)


class SandboxKeyOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("キーID"))
    prefix = serializers.CharField(help_text=_("キーの接頭辞（キーの tpk_ / tprd_ の次の8文字）"))
    name = serializers.CharField(help_text=_("キーの名前"))
    scopes = serializers.ListField(child=serializers.CharField(), help_text=_("権限"))
    created_at = serializers.DateTimeField(help_text=_("発行日時（実時間）"))
    last_used_at = MinuteDateTimeField(
        allow_null=True, help_text=_("最終利用日時（実時間、分単位）")
    )
    revoked_at = serializers.DateTimeField(
        allow_null=True, help_text=_("失効日時（実時間。有効なキーは null）")
    )


class SandboxProductKeyOutput(SandboxKeyOutput):
    product = serializers.CharField(
        source="product.code", help_text=_("サンドボックスの製品コード")
    )


_KEYS_NOTE = (
    "With the live partner key that issued them (`POST /sandbox/`): a sandbox key is refused "
    "(`live_key_required`). Revoked keys are listed too (`revoked_at`); keys live on real "
    "time, whatever the sandbox's clock says."
)


class SandboxKeyListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = PARTNERS_ONLY
    tags = ("sandbox",)

    @extend_schema(
        operation_id="sandbox_keys_list",
        summary="List the sandbox's partner keys",
        description="The partner keys issued for the caller's sandbox, newest first (an empty "
        "page before it has any). " + _KEYS_NOTE,
        parameters=[FilterSerializer],
        responses={200: page_of(SandboxKeyOutput, "SandboxKey"), **errors(400, 403)},
    )
    def get(self, request: ApiRequest) -> Response:
        self.query(self.FilterSerializer)
        return self.paginate(
            sandbox_partner_keys(scope=self.scope), SandboxKeyOutput, ordering=("-id",)
        )


class SandboxProductKeyListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = PARTNERS_ONLY
    tags = ("sandbox",)

    @extend_schema(
        operation_id="sandbox_product_keys_list",
        summary="List the sandbox's product keys",
        description="The product keys issued for the caller's sandbox's products, newest "
        "first. " + _KEYS_NOTE,
        parameters=[FilterSerializer],
        responses={200: page_of(SandboxProductKeyOutput, "SandboxProductKey"), **errors(400, 403)},
    )
    def get(self, request: ApiRequest) -> Response:
        self.query(self.FilterSerializer)
        return self.paginate(
            sandbox_product_keys(scope=self.scope), SandboxProductKeyOutput, ordering=("-id",)
        )


class SandboxKeyRevokeApi(ApiView):
    audience = PARTNERS_ONLY
    tags = ("sandbox",)

    @extend_schema(
        operation_id="sandbox_keys_revoke",
        summary="Revoke a sandbox partner key",
        description="Revokes one partner key of the caller's sandbox: from the next request "
        "on it is a 401. Revoking a revoked key changes nothing (200). Another partner's key, "
        "or a live key's id, is a 404 `sandbox_key_not_found`. " + _KEYS_NOTE,
        request=None,
        responses={200: SandboxKeyOutput, **errors(403, 404)},
    )
    def post(self, request: ApiRequest, key_id: int) -> Response:
        key = sandbox_partner_key_revoke(scope=self.scope, key_id=key_id)
        return Response(SandboxKeyOutput(key).data)


class SandboxProductKeyRevokeApi(ApiView):
    audience = PARTNERS_ONLY
    tags = ("sandbox",)

    @extend_schema(
        operation_id="sandbox_product_keys_revoke",
        summary="Revoke a sandbox product key",
        description="Revokes one product key of the caller's sandbox, as "
        "`POST /sandbox/keys/{key_id}/revoke/` does a partner key. A live product key's id is "
        "a 404 `sandbox_key_not_found`. " + _KEYS_NOTE,
        request=None,
        responses={200: SandboxProductKeyOutput, **errors(403, 404)},
    )
    def post(self, request: ApiRequest, key_id: int) -> Response:
        key = sandbox_product_key_revoke(scope=self.scope, key_id=key_id)
        return Response(SandboxProductKeyOutput(key).data)
