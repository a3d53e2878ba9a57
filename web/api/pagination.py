"""Cursor pagination: stable pages over a unique key, and their documented envelope."""

from __future__ import annotations

from base64 import b64decode
from urllib import parse

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request


class ApiCursorPagination(CursorPagination):
    """Opaque cursors over a unique, increasing `id`: pages stay stable while rows are added."""

    ordering = ("id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_description = _("前の応答の next / previous に含まれるカーソル")
    page_size_query_description = _("1ページの件数（1〜200、既定50）")

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            querystring = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
            offset = max(0, min(int(tokens.get("o", ["0"])[0]), self.offset_cutoff))
            reverse = bool(int(tokens.get("r", ["0"])[0]))
            position = tokens.get("p", [None])[0]
            if position is not None:
                int(position)  # positions are ids; anything else is a forged cursor
        except (TypeError, ValueError, UnicodeError):
            raise exceptions.ValidationError(
                {self.cursor_query_param: [_("カーソルが不正です。")]}
            ) from None
        return Cursor(offset=offset, reverse=reverse, position=position)

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
