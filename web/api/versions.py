"""Versions of a terms document: the list, one version's text, and the diff of two (R1, R8).

The Japanese text is the binding text.
"""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agreements.enums import ChangeCategory, ConsentMode, VersionStatus
from agreements.selectors import versions as version_selectors
from agreements.services.version_text import version_diff
from core.errors import NotFound
from web.api.auth import EVERYONE
from web.api.base import ApiView
from web.api.conditional import conditional
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.api.refs import body_ref
from web.requests import ApiRequest

# The diff's choice sets, named in the schema by SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].
SEGMENT_OP_CHOICES = [
    ("equal", _("変更なし")),
    ("delete", _("削除された文字")),
    ("insert", _("追加された文字")),
]
ARTICLE_KIND_CHOICES = [
    ("unchanged", _("変更なし")),
    ("changed", _("変更")),
    ("added", _("新設")),
    ("removed", _("削除")),
    ("renumbered", _("条番号の変更")),
    ("moved", _("移動")),
]
PARAGRAPH_KIND_CHOICES = [
    ("unchanged", _("変更なし")),
    ("changed", _("変更")),
    ("added", _("新設")),
    ("removed", _("削除")),
]


class VersionRefOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("版ID"))
    label = serializers.CharField(help_text=_("版の表示（例: 2025-04-01）"))


class CategoryOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ChangeCategory.choices, help_text=_("変更区分"))
    title = serializers.CharField(help_text=_("変更の見出し"))


class VersionOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("版ID"))
    document = serializers.IntegerField(source="document_id", help_text=_("文書ID"))
    label = serializers.CharField(help_text=_("版の表示"))
    status = serializers.ChoiceField(
        choices=VersionStatus.choices,
        help_text=_("draft → scheduled → effective → superseded、または withdrawn / lapsed"),
    )
    title = serializers.CharField(help_text=_("題名"))
    is_excerpt = serializers.BooleanField(
        help_text=_("抜粋版（改定箇所のみを収録し、全文ではない）")
    )
    consent_mode = serializers.ChoiceField(
        choices=ConsentMode.choices,
        help_text=_("deemed = みなし同意（R3）、explicit = 明示の同意が必要（R4）"),
    )
    legal_basis = serializers.CharField(
        help_text=_(
            "民法548条の4第1項の根拠（general_interest / reasonable / explicit_consent、R2）"
        )
    )
    categories = CategoryOutput(many=True, help_text=_("変更区分"))
    notice_on = serializers.DateField(allow_null=True, help_text=_("掲示日（業務日）"))
    effective_on = serializers.DateField(
        allow_null=True, help_text=_("効力発生日（この日の0時 JST から有効、R5）")
    )
    posted_at = serializers.DateTimeField(
        allow_null=True, help_text=_("お知らせを実際に掲示した日時")
    )
    body_hash = serializers.CharField(help_text=_("本文のSHA-256（同意台帳の各行が引用する）"))


class ItemOutput(serializers.Serializer):
    label = serializers.CharField(help_text=_("号の表示（例: （1））"))
    number = serializers.IntegerField(allow_null=True, required=False, help_text=_("号番号"))
    text = serializers.CharField(help_text=_("号の本文"))


class ParagraphOutput(serializers.Serializer):
    number = serializers.IntegerField(allow_null=True, help_text=_("項番号"))
    label = serializers.CharField(help_text=_("項の表示（例: 1.）"))
    text = serializers.CharField(help_text=_("項の本文（日本語が正文）"))
    items = ItemOutput(many=True, help_text=_("号"))


class ArticleOutput(serializers.Serializer):
    number = serializers.IntegerField(help_text=_("条番号"))
    heading = serializers.CharField(help_text=_("見出し（例: 第１条（本規約について））"))
    title = serializers.CharField(help_text=_("表題"))
    change_category = serializers.CharField(
        help_text=_("この条の変更区分（substantive / editorial、変更がなければ空文字）")
    )
    paragraphs = ParagraphOutput(many=True, help_text=_("項"))


class VersionDetailOutput(VersionOutput):
    preamble = serializers.CharField(help_text=_("前文"))
    trailer = serializers.CharField(help_text=_("末文"))
    based_on = serializers.IntegerField(
        source="based_on_id", allow_null=True, help_text=_("元にした版のID")
    )
    articles = ArticleOutput(many=True, help_text=_("条（文書順）"))


class SegmentOutput(serializers.Serializer):
    op = serializers.ChoiceField(choices=SEGMENT_OP_CHOICES, help_text=_("文字単位の差分の種類"))
    text = serializers.CharField(help_text=_("文字列"))

    def to_representation(self, instance: Any) -> dict[str, str]:
        op, text = instance
        return {"op": op, "text": text}


class ParagraphDiffOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PARAGRAPH_KIND_CHOICES, help_text=_("項の変化"))
    before_label = serializers.CharField(
        allow_null=True, help_text=_("改定前の項の表示（新設は null）")
    )
    after_label = serializers.CharField(
        allow_null=True, help_text=_("改定後の項の表示（削除は null）")
    )
    before_text = serializers.CharField(allow_blank=True, help_text=_("改定前の本文"))
    after_text = serializers.CharField(allow_blank=True, help_text=_("改定後の本文"))
    before_segments = SegmentOutput(
        many=True, help_text=_("改定前の本文（equal / delete）。連結すると before_text")
    )
    after_segments = SegmentOutput(
        many=True, help_text=_("改定後の本文（equal / insert）。連結すると after_text")
    )


class ArticleDiffOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ARTICLE_KIND_CHOICES, help_text=_("条の変化"))
    before_number = serializers.IntegerField(allow_null=True, help_text=_("改定前の条番号"))
    after_number = serializers.IntegerField(allow_null=True, help_text=_("改定後の条番号"))
    before_heading = serializers.CharField(allow_null=True, help_text=_("改定前の見出し"))
    after_heading = serializers.CharField(allow_null=True, help_text=_("改定後の見出し"))
    paragraphs = ParagraphDiffOutput(many=True, help_text=_("項ごとの差分"))


class VersionDiffOutput(serializers.Serializer):
    before = VersionRefOutput(allow_null=True, help_text=_("比較元の版（なければ null）"))
    after = VersionRefOutput(help_text=_("比較先の版"))
    before_is_excerpt = serializers.BooleanField(help_text=_("比較元が抜粋版か"))
    after_is_excerpt = serializers.BooleanField(help_text=_("比較先が抜粋版か"))
    has_changes = serializers.BooleanField(help_text=_("変更があるか"))
    articles = ArticleDiffOutput(many=True, help_text=_("条ごとの差分"))


class VersionListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = EVERYONE
    tags = ("terms",)

    @extend_schema(
        operation_id="documents_versions_list",
        summary="List a document's versions",
        description="Versions in force now or before, and revisions whose notice is posted "
        "(staff also see drafts).",
        parameters=[FilterSerializer],
        responses={200: page_of(VersionOutput, "Version"), **errors(404)},
    )
    def get(self, request: ApiRequest, document_id: int) -> Response:
        self.query(self.FilterSerializer)
        document = version_selectors.document_list(scope=self.scope).filter(pk=document_id).first()
        if document is None:
            raise NotFound(_("文書が見つかりません。"))
        versions = version_selectors.version_list(scope=self.scope, document=document)
        return self.paginate(versions, VersionOutput, ordering=("-id",))


class VersionDetailApi(ApiView):
    audience = EVERYONE
    conditional_get = True  # ETag / If-None-Match (web/api/conditional.py)
    tags = ("terms",)

    @extend_schema(
        operation_id="versions_retrieve",
        summary="Read a version with its articles",
        description="The Japanese text is the binding text. `is_excerpt` marks versions that "
        "hold only the revised passages (imported from a revision notice). The response has an "
        "`ETag`; send it back in `If-None-Match` to get a 304 without a body while the version "
        "is unchanged.",
        responses={
            200: VersionDetailOutput,
            304: OpenApiResponse(description="Not modified: the `If-None-Match` tag is current."),
            **errors(404),
        },
    )
    def get(self, request: ApiRequest, version_id: int) -> Response:
        version = version_selectors.version_get(scope=self.scope, pk=version_id)
        prefetch_related_objects([version], "articles__paragraphs")
        return conditional(request, VersionDetailOutput(version).data)


class VersionDiffApi(ApiView):
    audience = EVERYONE
    conditional_get = True  # ETag / If-None-Match (web/api/conditional.py)
    tags = ("terms",)

    class FilterSerializer(serializers.Serializer):
        against = serializers.IntegerField(
            required=False,
            min_value=1,
            help_text=_("比較元の版のID（省略時は元にした版、なければ空の文書）"),
        )

    @extend_schema(
        operation_id="versions_diff",
        summary="Compare two versions",
        description="Article by article, paragraph by paragraph, with changed characters "
        "marked (R8): the basis of the revision notice's 改定前 / 改定後 table.",
        parameters=[FilterSerializer],
        responses={
            200: VersionDiffOutput,
            304: OpenApiResponse(description="Not modified: the `If-None-Match` tag is current."),
            **errors(400, 404),
        },
    )
    def get(self, request: ApiRequest, version_id: int) -> Response:
        query = self.query(self.FilterSerializer)
        after = version_selectors.version_get(scope=self.scope, pk=version_id)
        before = None
        if "against" in query:
            before = body_ref(
                "against", version_selectors.version_get, scope=self.scope, pk=query["against"]
            )
        elif after.based_on_id is not None:
            before = version_selectors.version_get(scope=self.scope, pk=after.based_on_id)
        diff = version_diff(before=before, after=after)
        data = {
            "before": {"id": before.pk, "label": before.label} if before else None,
            "after": {"id": after.pk, "label": after.label},
            "before_is_excerpt": bool(before and before.is_excerpt),
            "after_is_excerpt": after.is_excerpt,
            "has_changes": diff.has_changes,
            "articles": diff.articles,
        }
        return conditional(request, VersionDiffOutput(data).data)
