"""Partner API keys: issued and revoked by staff only; the plain key is shown once."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from core import clock
from core.enums import AuditAction
from core.errors import Conflict
from tenants import selectors
from tenants.auth import key_revoke
from tenants.enums import KeyScope
from tenants.keys import PARTNER_KEY_TAG, issue_key
from tenants.models import Partner, PartnerAPIKey
from tenants.scope import Scope
from tenants.services.base import audit, invalid, require_staff

_KEY_NAME_MAX = 100


def _clean_key_scopes(scopes: Iterable[str]) -> list[str]:
    values = [str(s) for s in scopes]
    unknown = sorted(set(values) - set(KeyScope.values))
    if unknown or not values:
        raise invalid({"scopes": [_("権限は read / write から選んでください。")]})
    chosen = set(values)
    if KeyScope.WRITE in chosen:
        chosen.add(KeyScope.READ)  # a key that may change data may also read it
    return [s for s in KeyScope.values if s in chosen]


@transaction.atomic
def partner_key_issue(
    *, scope: Scope, partner: Partner, name: str, scopes: Iterable[str]
) -> tuple[PartnerAPIKey, str]:
    """Issue a key for `partner` (staff only). Returns the row and the plain key, which is
    shown to the caller this once: only its SHA-256 hash and a visible prefix are stored."""
    require_staff(scope)
    partner = selectors.partner_get(scope=scope, pk=partner.pk)
    name = (name or "").strip()
    if not name or len(name) > _KEY_NAME_MAX:
        raise invalid({"name": [_("キーの名前を100文字以内で入力してください。")]})
    clean_scopes = _clean_key_scopes(scopes)
    created_by = scope.user if getattr(scope.user, "is_authenticated", False) else None
    # The visible prefix is 32 random bits and unique; a clash is improbable but possible.
    for _attempt in range(5):
        issued = issue_key(PARTNER_KEY_TAG)
        try:
            with transaction.atomic():
                key = PartnerAPIKey.objects.create(
                    partner=partner,
                    name=name,
                    prefix=issued.prefix,
                    hashed_key=issued.hashed,
                    scopes=clean_scopes,
                    created_by=created_by,
                )
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - five clashes in 2**32 do not happen
        raise Conflict(_("キーを発行できませんでした。もう一度お試しください。"))
    audit(
        scope,
        action=AuditAction.ISSUE_KEY,
        obj=key,
        summary=f"{partner.code}: {key.prefix}",
        data={"partner_id": partner.pk, "prefix": key.prefix, "scopes": clean_scopes},
    )
    return key, issued.full


@transaction.atomic
def partner_key_revoke(*, scope: Scope, key: PartnerAPIKey) -> PartnerAPIKey:
    """Revoke a partner key (staff only); revoking a revoked key changes nothing."""
    require_staff(scope)
    if key_revoke(key, at=clock.now()):
        audit(
            scope,
            action=AuditAction.REVOKE_KEY,
            obj=key,
            summary=f"{key.prefix}",
            data={"partner_id": key.partner_id, "prefix": key.prefix},
        )
    return key
