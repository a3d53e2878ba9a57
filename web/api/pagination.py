"""Cursor pagination: stable pages over a unique key, and their documented envelope."""

from __future__ import annotations

from base64 import b64decode, b64encode
from urllib import parse

from django.core import signing
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

from core.errors import ValidationFailed

# Cursors are signed with the service's secret key: a cursor the service did not make (forged,
# truncated, edited) is refused with 400 `cursor_invalid` instead of read as the first page.
_SIGNER = signing.Signer(salt="web.api.pagination.cursor")


class ApiCursorPagination(CursorPagination):
    """Opaque cursors over a unique, increasing `id`: pages stay stable while rows are added."""

    ordering = ("id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_description = _("前の応答の next / previous に含まれるカーソル")
    page_size_query_description = _("1ページの件数（1〜200、既定50）")

    def encode_cursor(self, cursor: Cursor) -> str:
        """The next/previous URL with a signed cursor: only cursors this service made decode."""
        tokens: dict[str, str] = {}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = str(cursor.position)
        signed = _SIGNER.sign(parse.urlencode(tokens))
        encoded = b64encode(signed.encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            signed = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            querystring = _SIGNER.unsign(signed)
            tokens = parse.parse_qs(querystring, keep_blank_values=True, strict_parsing=False)
            if set(tokens) - {"o", "r", "p"} or any(len(v) != 1 for v in tokens.values()):
                raise ValueError("unexpected cursor tokens")
            offset = int(tokens.get("o", ["0"])[0])
            reverse = tokens.get("r", ["0"])[0]
            position = tokens.get("p", [None])[0]
            if not 0 <= offset <= self.offset_cutoff or reverse not in ("0", "1"):
                raise ValueError("cursor out of range")
            if position is not None:
                int(position)  # positions are ids
        except (TypeError, ValueError, UnicodeError, signing.BadSignature):
            raise ValidationFailed(
                _("カーソルが不正です。前の応答の next / previous をそのまま使ってください。"),
                code="cursor_invalid",
                field=self.cursor_query_param,
            ) from None
        return Cursor(offset=offset, reverse=reverse == "1", position=position)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("1〜200の整数を指定してください。")]}
            ) from None
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("1〜200の整数を指定してください。")]}
            )
        return size


_pages: dict[str, type[serializers.Serializer]] = {}


def page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The documented envelope of a cursor page of `item` (component `<name>Page`)."""
    if name in _pages:
        return _pages[name]
    page = type(
        f"{name}PageSerializer",
        (serializers.Serializer,),
        {
            "__module__": __name__,
            "__doc__": f"A cursor page of {name}.",
            "next": serializers.URLField(
                allow_null=True, help_text=_("次のページのURL（最後のページでは null）")
            ),
            "previous": serializers.URLField(
                allow_null=True, help_text=_("前のページのURL（最初のページでは null）")
            ),
            "results": item(many=True, help_text=_("このページの項目")),
        },
    )
    _pages[name] = page
    return page


# The query parameters of every list operation; a list with filters extends it.
class PageQuery(serializers.Serializer):
    cursor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text=_("前の応答の next / previous のカーソル（空は最初のページ）"),
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=200, help_text=_("1ページの件数（既定50）")
    )
