"""Removing a person's data from stored text and JSON (R15 backup purge), as pure functions.

The plumbing tables keep copies of personal data in free text: an audit summary naming the
invited address, an outbox payload greeting a member, an SMTP error quoting the recipient.
`Scrubber` replaces the known values (the caller collects them before it deletes their
source) and anything shaped like an e-mail address, keeping the rest of the text, so a row
still says what happened, when and to which object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

REDACTED = "[redacted]"

# Anything shaped like an address: also catches values nobody collected (an old contact
# address kept in an audit row's "changes").
EMAIL_RE = re.compile(r"[^\s@<>\"'(),;:\[\]{}]+@[^\s@<>\"'(),;:\[\]{}]+\.[^\s@<>\"'(),;:\[\]{}]+")

# A one-character value ("A", "田") would blank unrelated text; two-character Japanese given
# names ("太郎") are real, so they stay in.
MIN_VALUE_LENGTH = 2


@dataclass(frozen=True)
class Scrubber:
    """Replaces `values` (case-insensitively) and e-mail addresses with REDACTED."""

    values: frozenset[str]
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Longest first, so "taro@example.com" goes whole rather than leaving "@example.com"
        # after "taro" matched.
        known = sorted(
            {v.strip() for v in self.values if len(v.strip()) >= MIN_VALUE_LENGTH},
            key=lambda v: (-len(v), v),
        )
        parts = [re.escape(v) for v in known] + [EMAIL_RE.pattern]
        object.__setattr__(self, "_pattern", re.compile("|".join(parts), re.IGNORECASE))

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Scrubber:
        return cls(frozenset(v for v in values if v))

    def text(self, value: str) -> str:
        return self._pattern.sub(REDACTED, value) if value else value

    def json(self, value: Any) -> Any:
        """A copy of a JSON value with every string scrubbed (keys are field names, kept)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.json(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return value

    def holds(self, value: str) -> bool:
        """Whether `value` is, or contains, something this scrubber removes."""
        return bool(value) and self._pattern.search(value) is not None
