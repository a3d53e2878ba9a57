"""What a notice table writes in the empty cell of a new or a deleted passage."""

from __future__ import annotations

NEW_MARK = "新設"
DELETED_MARK = "削除"
