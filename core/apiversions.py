"""The dated versions of the partner API (docs/api.md, Versions).

A key records the version current when it was issued (`api_version` on the partner and product
key models) and is answered in that version unless a request names another one in the
`API-Version` header. A new version is added here, at the end, with what changed; the docs'
changelog lists the same entries.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiVersion:
    name: str  # the date it was released, YYYY-MM-DD
    changes: tuple[str, ...]


VERSIONS: tuple[ApiVersion, ...] = (
    ApiVersion(
        "2026-12-01",
        (
            "First dated version: every key is pinned to it.",
            "Idempotency-Key compares the parsed JSON body, not its bytes.",
            "A repeated answer with other evidence is refused (409 answer_evidence_differs).",
            "evidence.obtained_at needs an offset and may not lie in the future.",
            "Events: one envelope for the feed, GET /events/{id} and webhook deliveries.",
            "Lifecycle events for tenants, contracts, invitations and memberships.",
            "Webhooks: read, update, delete, enable, test, delivery attempts and resend.",
            "Bulk status check, tenant lookup, per-version statuses, invitations list/revoke.",
            "The schema is OpenAPI 3.1: nullable members are type lists, read by generated clients.",
        ),
    ),
)


def supported() -> tuple[str, ...]:
    """The versions this service answers, oldest first."""
    return tuple(version.name for version in VERSIONS)


def current() -> str:
    """The newest version: what a key issued now is pinned to."""
    return VERSIONS[-1].name
