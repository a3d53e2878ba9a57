"""Revision notices (お知らせ): public from the moment they are posted (R2, R8)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agreements.enums import ConsentMode, VersionStatus
from agreements.selectors import versions as version_selectors
from web.api.auth import EVERYONE
from web.api.base import ApiView
from web.api.pagination import PageQuery, page_of
from web.api.versions import CategoryOutput
from web.requests import ApiRequest


class NoticeOutput(serializers.Serializer):
    version = serializers.IntegerField(source="id", help_text=_("改定後の版のID"))
    document = serializers.IntegerField(source="document_id", help_text=_("文書ID"))
    product = serializers.SlugField(source="document.product.code", help_text=_("製品コード"))
    label = serializers.CharField(help_text=_("版の表示"))
    title = serializers.SerializerMethodField(help_text=_("お知らせの題名"))
    status = serializers.ChoiceField(choices=VersionStatus.choices, help_text=_("版の状態"))
    notice_on = serializers.DateField(allow_null=True, help_text=_("掲示日"))
    effective_on = serializers.DateField(allow_null=True, help_text=_("効力発生日"))
    posted_at = serializers.DateTimeField(help_text=_("掲示日時"))
    consent_mode = serializers.ChoiceField(choices=ConsentMode.choices, help_text=_("同意の方式"))
    categories = CategoryOutput(many=True, help_text=_("変更区分"))

    def get_title(self, obj: Any) -> str:
        return str(obj.notice_title or obj.title)


class NoticeListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = EVERYONE
    tags = ("terms",)

    @extend_schema(
        operation_id="notices_list",
        summary="List posted revision notices",
        description="Every revision notice (お知らせ) posted so far, newest first. A notice is "
        "public from the moment it is posted.",
        parameters=[FilterSerializer],
        responses={200: page_of(NoticeOutput, "Notice")},
    )
    def get(self, request: ApiRequest) -> Response:
        self.query(self.FilterSerializer)
        return self.paginate(
            version_selectors.notice_list_public(), NoticeOutput, ordering=("-id",)
        )
