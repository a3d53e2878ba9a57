"""The demo data set (``loaddemo``), laid out relative to an as-of date so it is always live.

``story`` plays it day by day through the real services; ``cast`` (people and keys),
``terms`` (versions and revisions) and ``contracts`` build what the story needs.
"""

from __future__ import annotations

from agreements.demo.story import demo_load
from agreements.demo.summary import DemoSummary

# A job test drafts and schedules a revision the way the story does.
from agreements.demo.terms import revision as _revision

__all__ = ["DemoSummary", "_revision", "demo_load"]
