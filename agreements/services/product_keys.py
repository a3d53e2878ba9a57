"""Product keys: how Optimal Biz and OPTiM ID+ call the status and deletion APIs.

Issued and revoked by staff; the plain key is shown once, only its SHA-256 hash and a visible
prefix are stored (tenants/keys.py). Scopes: `status:read` ("may this tenant keep using the
service?") and `deletion:ack` (acknowledge a deletion order, R15).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from agreements.enums import ProductKeyScope
from agreements.models import Product, ProductKey
from core import clock
from core.enums import AuditAction
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.auth import key_authenticate_cached, key_lookup, key_revoke
from tenants.keys import PRODUCT_KEY_TAG, issue_key
from tenants.scope import Scope

_KEY_NAME_MAX = 100


def _require_staff(scope: Scope) -> None:
    if not scope.is_privileged:
        raise PermissionDenied(_("この操作は当社スタッフのみが行えます。"), code="staff_only")


def _actor_label(scope: Scope) -> str:
    if scope.user is not None:
        return str(getattr(scope.user, "username", ""))
    return "system"


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    values = {str(s) for s in scopes}
    if not values or values - set(ProductKeyScope.values):
        raise ValidationFailed(
            _("入力内容に誤りがあります。"),
            fields={"scopes": [_("権限は status:read / deletion:ack から選んでください。")]},
        )
    return [s for s in ProductKeyScope.values if s in values]


@transaction.atomic
def product_key_issue(
    *, scope: Scope, product: Product, name: str, scopes: Iterable[str]
) -> tuple[ProductKey, str]:
    """Issue a key for `product` (staff only); returns the row and the plain key, shown once."""
    _require_staff(scope)
    if not Product.objects.filter(pk=product.pk).exists():
        raise NotFound(_("製品が見つかりません。"))
    name = (name or "").strip()
    if not name or len(name) > _KEY_NAME_MAX:
        raise ValidationFailed(
            _("入力内容に誤りがあります。"),
            fields={"name": [_("キーの名前を100文字以内で入力してください。")]},
        )
    clean_scopes = _clean_scopes(scopes)
    # The visible prefix is 32 random bits and unique; retry the improbable clash.
    for _attempt in range(5):
        issued = issue_key(PRODUCT_KEY_TAG)
        try:
            with transaction.atomic():
                key = ProductKey.objects.create(
                    product=product,
                    name=name,
                    prefix=issued.prefix,
                    hashed_key=issued.hashed,
                    scopes=clean_scopes,
                )
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - five clashes in 2**32 do not happen
        raise Conflict(_("キーを発行できませんでした。もう一度お試しください。"))
    audit_add(
        actor=scope.user,
        action=AuditAction.ISSUE_KEY,
        obj=key,
        summary=f"{product.code}: {key.prefix}",
        data={"product_id": product.pk, "prefix": key.prefix, "scopes": clean_scopes},
        actor_label=_actor_label(scope),
    )
    return key, issued.full


@transaction.atomic
def product_key_revoke(*, scope: Scope, key: ProductKey) -> ProductKey:
    """Revoke a product key (staff only); revoking a revoked key changes nothing."""
    _require_staff(scope)
    if key_revoke(key, at=clock.now()):
        audit_add(
            actor=scope.user,
            action=AuditAction.REVOKE_KEY,
            obj=key,
            summary=key.prefix,
            data={"product_id": key.product_id, "prefix": key.prefix},
            actor_label=_actor_label(scope),
        )
    return key


def product_key_authenticate(raw: str | None) -> ProductKey | None:
    """The active product key for a presented key, or None (→ 401). Touches last_used_at at
    most once a minute. Build the caller's scope with product_key_scope(key)."""
    return key_authenticate_cached(
        "product",
        raw,
        lambda: key_lookup(
            ProductKey.objects.select_related("product"), tag=PRODUCT_KEY_TAG, raw=raw
        ),
    )


def product_key_scope(key: ProductKey) -> Scope:
    """The Scope of a request authenticated with `key`."""
    return Scope.product(product_id=key.product_id, key_id=key.pk, scopes=tuple(key.scopes))
