"""What loading the demo reports: the logins, the API keys and the story told."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class DemoSummary:
    as_of: date
    created: bool = True
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (where, user, password)
    keys: list[tuple[str, str]] = field(default_factory=list)  # (who, key)
    story: list[str] = field(default_factory=list)
