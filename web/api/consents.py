"""A tenant's consent: status per bound document, recording an answer, and the ledger.

The answers follow the consent truth table (docs/rules.md); refusals leave as 409 problems (web.api.problems).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from agreements.enums import ActorKind, Answer, CaseStatus, Channel, ConsentMode, ConsentStatus
from agreements.ledger.rows import EvidenceInput
from agreements.selectors import consents as consent_selectors
from agreements.selectors import versions as version_selectors
from agreements.services import consents
from tenants import notify
from tenants import selectors as tenant_selectors
from tenants.authz import Action
from tenants.rules import has_control_characters
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.documents import DocumentOutput
from web.api.fields import (
    LeafFieldsCopied,
    OffsetDateTimeField,
    pending_version_status_field,
    version_status_field,
)
from web.api.pagination import PageQuery, page_of
from web.api.prefetch import KnownKey
from web.api.problems import errors
from web.api.refs import body_ref
from web.api.versions import VersionRefOutput
from web.requests import ApiRequest

# The answers a caller may record (docs/rules.md, consent truth table); `deemed` is written by the job only.
CALLER_ANSWER_CHOICES = [
    (Answer.ACCEPTED.value, Answer.ACCEPTED.label),
    (Answer.REJECTED.value, Answer.REJECTED.label),
]


class ConsentRecordOutput(LeafFieldsCopied):
    """A ledger row; `hash = sha256(prev_hash ‖ canonical JSON)` (docs/ledger.md)."""

    id = serializers.IntegerField(help_text=_("台帳の行ID"))
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    seq = serializers.IntegerField(help_text=_("テナントごとの連番（1から）"))
    document = serializers.IntegerField(source="document_id", help_text=_("文書ID"))
    version = serializers.IntegerField(source="version_id", help_text=_("回答した版のID"))
    answer = serializers.ChoiceField(
        choices=Answer.choices, help_text=_("accepted / rejected / deemed（みなし同意、R3）")
    )
    actor_kind = serializers.ChoiceField(choices=ActorKind.choices, help_text=_("記録した者の種類"))
    actor_ref = serializers.CharField(help_text=_("記録した者（例: key:ab12cd34）"))
    channel = serializers.ChoiceField(choices=Channel.choices, help_text=_("経路"))
    recorded_at = serializers.DateTimeField(help_text=_("記録日時"))
    version_body_hash = serializers.CharField(help_text=_("回答した版の本文ハッシュ"))
    notice_posted_at = serializers.DateTimeField(
        allow_null=True, help_text=_("回答の対象となったお知らせの掲示日時")
    )
    evidence_digests = serializers.DictField(
        child=serializers.CharField(),
        help_text=_("証跡の HMAC-SHA256 ダイジェスト（個人データそのものは含まない）"),
    )
    prev_hash = serializers.CharField(help_text=_("前の行のハッシュ（最初の行は0が64個）"))
    hash = serializers.CharField(help_text=_("この行のハッシュ"))


class CaseOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("解約案件ID"))
    status = serializers.ChoiceField(choices=CaseStatus.choices, help_text=_("案件の状態"))
    end_date = serializers.DateField(allow_null=True, help_text=_("確定した終了日"))


# `status` is kept for the integrators that read it; version_status and pending_version_status
# say the same per version, as the products' status check does (docs/api.md, The consent flow).
@extend_schema_serializer(deprecate_fields=["status"])
class DocumentStatusOutput(serializers.Serializer):
    document = DocumentOutput(help_text=_("拘束している文書（R1）"))
    version = VersionRefOutput(
        allow_null=True, help_text=_("回答の対象（最新の掲示済みの版）。なければ null")
    )
    version_in_force = VersionRefOutput(allow_null=True, help_text=_("現在有効な版"))
    binding_version = VersionRefOutput(
        allow_null=True,
        help_text=_(
            "このテナントを拘束している版（R4）。通常は現在有効な版。明示の同意による改定に同意して"
            "いないテナントは従前の版に拘束されたまま。null は記録上の版がない"
        ),
    )
    pending_version = VersionRefOutput(allow_null=True, help_text=_("掲示済みで効力発生前の版"))
    effective_on = serializers.DateField(allow_null=True, help_text=_("対象の版の効力発生日"))
    consent_mode = serializers.ChoiceField(
        choices=ConsentMode.choices, allow_null=True, help_text=_("同意の方式")
    )
    status = serializers.ChoiceField(
        choices=ConsentStatus.choices,
        help_text=_(
            "非推奨: version_status と pending_version_status を使ってください。"
            "version（効力発生前の版があればその版、なければ有効な版）についての同意の状況"
        ),
    )
    version_status = version_status_field()
    pending_version_status = pending_version_status_field()
    allowed_answers = serializers.ListField(
        child=serializers.ChoiceField(choices=CALLER_ANSWER_CHOICES),
        help_text=_("状況を変える回答（同じ回答の繰り返しは常に受け付け、200で既存の記録を返す）"),
    )
    deadline = serializers.DateField(
        allow_null=True, help_text=_("効力発生前に回答できる最終日（効力発生後は null）")
    )
    owed = serializers.BooleanField(
        help_text=_(
            "この版への回答が必要か。効力発生日にこの文書に基づく契約がない場合（契約開始前に効力を生じた版、"
            "届け出た終了日の後に効力を生じる版）は false で、回答は求められない（R4）"
        )
    )
    record = ConsentRecordOutput(allow_null=True, help_text=_("現在の状況を作った台帳の行"))
    case = CaseOutput(allow_null=True, help_text=_("拒否による解約案件（R6）。なければ null"))

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["allowed_answers"] = sorted(str(a) for a in instance.allowed_answers)
        return data


class ConsentStatusApi(ApiView):
    audience = PARTNERS
    tags = ("consent",)

    class FilterSerializer(PageQuery):  # one page always: `cursor` and `page_size` change nothing
        paged = serializers.BooleanField(
            required=False,
            default=False,
            help_text=_(
                "true: 他の一覧と同じ封筒（next / previous / results）で返す。"
                "省略・false: 従来どおり配列で返す"
            ),
        )

    @extend_schema(
        operation_id="tenants_consents_list",
        summary="Consent status per bound document",
        description="For every document binding the tenant: the version in force, the version "
        "that binds this tenant (`binding_version`: the previous one while it has not accepted "
        "a revision put to explicit consent, R4), the pending version, its effective date and "
        "mode, the tenant's status, the answers allowed and "
        "the last day to answer before the change takes effect (DESIGN truth table).\n\n"
        "The body is a bare array, as it has been since the first release. With "
        "`?paged=true` it is the envelope every other list uses (`next`, `previous`, "
        "`results`); the list holds one item per bound document, so it is always one page "
        "(`next` and `previous` null).",
        parameters=[FilterSerializer],
        responses={
            200: PolymorphicProxySerializer(
                component_name="ConsentStatusList",
                serializers=[
                    DocumentStatusOutput(many=True),
                    page_of(DocumentStatusOutput, "DocumentStatus"),
                ],
                resource_type_field_name=None,
                many=False,
            ),
            **errors(400, 404),
        },
    )
    def get(self, request: ApiRequest, tenant_id: int) -> Response:
        query = self.query(self.FilterSerializer)
        tenant = tenant_selectors.tenant_get(scope=self.scope, pk=tenant_id)
        statuses = consent_selectors.consent_status_for_tenant(scope=self.scope, tenant=tenant)
        items = DocumentStatusOutput(statuses, many=True).data
        if query["paged"]:
            return Response({"next": None, "previous": None, "results": items})
        return Response(items)


def _one_line(value: str) -> None:
    """Names and methods are printed on receipts and exports as one line, as the portal
    takes them (web/portal/forms.py): no line break or character of the writer's choosing
    that hides or reorders text."""
    if has_control_characters(value):
        raise serializers.ValidationError(_("改行や制御文字は使用できません。"))


class ConsentEvidenceInput(LeafFieldsCopied):
    """Who at the customer answered, when, how, from where (kept outside the hash chain)."""

    person_name = serializers.CharField(
        max_length=255, validators=[_one_line], help_text=_("回答したお客様側の担当者の氏名")
    )
    person_email = serializers.EmailField(
        required=False,
        allow_blank=True,
        default="",
        max_length=255,
        help_text=_("その方のメールアドレス"),
    )
    obtained_at = OffsetDateTimeField(
        help_text=_(
            "回答を得た日時（ISO 8601、タイムゾーン必須）。未来の日時は受け付けません（時計のずれは5分まで許容）"
        )
    )
    method = serializers.CharField(
        max_length=255,
        validators=[_one_line],
        help_text=_("回答を得た方法（例: パートナー管理画面での同意、書面）"),
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
    staff_action = Action.DECIDE
    tags = ("consent",)
    # The hot path (bench #2): the Idempotency-Key record is written in the answer's own
    # transaction, with the response, instead of a claim and an update around it.
    idempotent_in_transaction = True

    class InputSerializer(LeafFieldsCopied):
        version = serializers.IntegerField(
            min_value=1, help_text=_("回答する版のID（最新の掲示済みの版）")
        )
        answer = serializers.ChoiceField(
            choices=CALLER_ANSWER_CHOICES,
            help_text=_("accepted（同意）/ rejected（拒否）。deemed はシステムのみが記録します"),
        )
        evidence = ConsentEvidenceInput(help_text=_("回答の証跡（個人データは台帳の外に保存）"))

    def prefetch_entries(
        self, request: Request, known: KnownKey, kwargs: dict[str, Any]
    ) -> dict[str, Sequence[str]]:
        # The answer's cached reads (bench #2) in the key's round trip: the version, what an
        # answer to it reads of the terms, and whether the key's partner has webhooks.
        version_id = _body_version(request)
        if version_id is None:
            return {}
        entries = dict(
            [
                version_selectors.version_cache_entry(version_id),
                consents.answer_context_entry(version_id),
            ]
        )
        if known.partner_id is not None:
            entries.update([notify.endpoints_cache_entry(known.partner_id)])
        return entries

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
    def post(self, request: ApiRequest, tenant_id: int) -> Response:
        # The tenant is looked up with its head lock, in the answer's transaction (the hot
        # path, bench #2); a request that fails before it still answers 404 for a tenant out of
        # reach first, as every tenant path does, whatever its body.
        try:
            data = self.body(self.InputSerializer)
            version = body_ref(
                "version",
                version_selectors.version_get_cached,
                scope=self.scope,
                pk=data["version"],
            )
        except Exception:
            tenant_selectors.tenant_get(scope=self.scope, pk=tenant_id)
            raise
        responses: list[Response] = []

        def keep(record: Any, created: bool) -> None:
            data = ConsentRecordOutput(record).data
            # A ledger row is read in the tenant's ledger (it has no URL of its own).
            response = (
                self.created(data, "tenant-ledger", tenant_id=record.tenant_id)
                if created
                else Response(data, status=status.HTTP_200_OK)
            )
            responses.append(self.idempotency_keep(response))

        consents.consent_answer(
            scope=self.scope,
            tenant_id=tenant_id,
            version=version,
            answer=data["answer"],
            evidence=EvidenceInput(**data["evidence"]),
            within=keep,
            refuse_other_evidence=True,  # docs/api.md: a repeat keeps the first evidence
        )
        return responses[0]


class LedgerListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = PARTNERS
    tags = ("consent",)

    @extend_schema(
        operation_id="tenants_ledger_list",
        summary="Read the tenant's consent ledger",
        description="Every answer and deemed consent in chain order, with `prev_hash` and "
        "`hash` so the chain can be verified independently (docs/ledger.md).",
        parameters=[FilterSerializer],
        responses={200: page_of(ConsentRecordOutput, "ConsentRecord"), **errors(400, 404)},
    )
    def get(self, request: ApiRequest, tenant_id: int) -> Response:
        self.query(self.FilterSerializer)
        tenant = tenant_selectors.tenant_get(scope=self.scope, pk=tenant_id)
        return self.paginate(
            consent_selectors.ledger_for_tenant(scope=self.scope, tenant=tenant),
            ConsentRecordOutput,
        )


def _body_version(request: Request) -> int | None:
    """The body's `version`, read ahead of DRF's parser for the prefetch only; None unless the
    body is a JSON object with a positive integer there. Whatever is wrong with a body is
    still said by the parser and the serializer, as for any request."""
    try:
        data = json.loads(request._request.body)
    except Exception:  # any body the parser will refuse: nothing to fetch
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if type(version) is int and version > 0 else None
