"""The lifecycle of a terms version: draft → scheduled → effective → superseded, or
withdrawn / lapsed (R2, R5, R7 in docs/rules.md).

Staff draft a revision (a copy of the version in force), edit its articles, and schedule
it with its legal basis (R2). The jobs post the notice on its notice date
(`notices_post_due`) and apply it on its effective date (`versions_apply_effective`).
Once scheduled a version never changes (R7); a correction is a new version.

By transition: `schedule` (schedule, withdraw; what scheduling checks in `schedule_checks`),
`posting` (the notice on its notice date),
`effective` (the effective date: effective or lapsed); `common` holds what they share.
Re-exports what callers import from `agreements.services.versions`, including the draft
and text services the console reaches through it.
"""

from __future__ import annotations

from agreements.services.notice_payloads import version_payload
from agreements.services.version_articles import article_delete, article_upsert, articles_renumber
from agreements.services.version_drafts import (
    EDITABLE_FIELDS,
    version_articles_paste,
    version_articles_replace,
    version_draft_create,
    version_draft_update,
)
from agreements.services.version_text import (
    NoticeTable,
    notice_table,
    version_body_hash,
    version_diff,
    version_doctext,
    version_predecessor,
)
from agreements.services.versions.effective import versions_apply_effective
from agreements.services.versions.posting import notice_post, notices_post_due
from agreements.services.versions.schedule import version_schedule, version_withdraw
from agreements.services.versions.schedule_checks import schedule_refusals

__all__ = [
    "EDITABLE_FIELDS",
    "NoticeTable",
    "article_delete",
    "article_upsert",
    "articles_renumber",
    "notice_post",
    "notice_table",
    "notices_post_due",
    "schedule_refusals",
    "version_articles_paste",
    "version_articles_replace",
    "version_body_hash",
    "version_diff",
    "version_doctext",
    "version_draft_create",
    "version_draft_update",
    "version_payload",
    "version_predecessor",
    "version_schedule",
    "version_withdraw",
    "versions_apply_effective",
]
