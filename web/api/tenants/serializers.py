"""Output shapes of the tenants API, shared by several operations (inputs live on each view)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.enums import EventKind
from tenants.enums import InvitationStatus, Locale, Role


class TenantOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("テナントID"))
    name = serializers.CharField(help_text=_("お客様の名称"))
    corporate_number = serializers.CharField(
        allow_null=True, help_text=_("法人番号（13桁、チェックデジット検証済み）。未登録は null")
    )
    partner = serializers.IntegerField(
        source="partner_id", allow_null=True, help_text=_("販売パートナーのID（直販は null）")
    )
    external_ref = serializers.CharField(help_text=_("パートナー側の識別子（パートナー内で一意）"))
    locale = serializers.ChoiceField(choices=Locale.choices, help_text=_("通知の言語（ja / en）"))
    contact_email = serializers.EmailField(
        allow_blank=True, help_text=_("お客様の連絡先メールアドレス（通知の宛先）")
    )
    is_active = serializers.BooleanField(help_text=_("有効なテナントか"))
    created_at = serializers.DateTimeField(help_text=_("作成日時（ISO 8601）"))
    updated_at = serializers.DateTimeField(
        help_text=_("最終更新日時（ISO 8601）。updated_since の比較対象")
    )


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


class InvitationOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("招待ID"))
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    email = serializers.EmailField(help_text=_("招待したメールアドレス（小文字に正規化）"))
    role = serializers.ChoiceField(choices=Role.choices, help_text=_("承諾後の役割"))
    status = serializers.ChoiceField(choices=InvitationStatus.choices, help_text=_("招待の状態"))
    expires_at = serializers.DateTimeField(help_text=_("招待リンクの有効期限（7日後）"))
    created_at = serializers.DateTimeField(help_text=_("作成日時"))


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("WebhookエンドポイントID"))
    partner = serializers.IntegerField(source="partner_id", help_text=_("パートナーID"))
    url = serializers.URLField(help_text=_("配信先URL（本番は https のみ）"))
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices),
        help_text=_("配信するイベント種別（空はすべて）"),
    )
    is_active = serializers.BooleanField(help_text=_("配信中か（無効化すると false）"))
    disabled_at = serializers.DateTimeField(allow_null=True, help_text=_("無効化した日時"))
    secret_rotated_at = serializers.SerializerMethodField(
        help_text=_("旧シークレットの有効期限（ローテーション後24時間、なければ null）")
    )
    created_at = serializers.DateTimeField(help_text=_("登録日時"))

    def get_secret_rotated_at(self, obj: object) -> str | None:
        value = getattr(obj, "previous_secret_expires_at", None)
        return serializers.DateTimeField().to_representation(value) if value else None


class WebhookWithSecretOutput(WebhookOutput):
    secret = serializers.CharField(
        help_text=_(
            "署名シークレット（whsec_…）。この応答でのみ表示されます。"
            "X-Terms-Signature の検証に使います"
        )
    )


class EventOutput(serializers.Serializer):
    id = serializers.IntegerField(
        help_text=_("イベントID（増加のみ。Webhook の X-Terms-Event-Id と同じ）")
    )
    kind = serializers.ChoiceField(choices=EventKind.choices, help_text=_("イベント種別"))
    tenant = serializers.IntegerField(
        source="tenant_id", allow_null=True, help_text=_("対象テナントのID")
    )
    subject_type = serializers.CharField(
        help_text=_("対象の種類（例: agreements.contract）。なければ空文字")
    )
    subject_id = serializers.IntegerField(allow_null=True, help_text=_("対象のID"))
    occurred_at = serializers.DateTimeField(help_text=_("発生日時（ISO 8601）"))
    data = serializers.DictField(
        source="payload",
        help_text=_("イベントの内容（tenant_id, tenant_name と種別ごとの項目。日付は ISO 8601）"),
    )
