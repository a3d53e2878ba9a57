"""Generation bumps (core/generations.py) for rows written one by one, whoever writes them
(services, jobs, the admin): a cached status check or key must never outlive a change.

Set-based writes (bulk_create, bulk_update, queryset.update) send no signals; the services
that use them bump explicitly (projection.states_upsert, contracts.ends, versions.effective,
the key revocations).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from agreements.models import (
    ConsentState,
    Contract,
    Option,
    Product,
    ProductKey,
    TerminationCase,
    TermsDocument,
    TermsVersion,
)
from core import generations


def _tenant_row_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    generations.bump_on_commit(generations.tenant_generation(instance.tenant_id))


def _terms_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    generations.bump_on_commit(generations.TERMS)


def _key_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    generations.bump_on_commit(generations.KEYS)


def _contract_options_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    if action.startswith("post_"):
        if isinstance(instance, Contract):
            generations.bump_on_commit(generations.tenant_generation(instance.tenant_id))
        else:  # changed from the option's side: any tenant
            generations.bump_on_commit(generations.TERMS)


def connect() -> None:
    for model in (Contract, TerminationCase, ConsentState):
        post_save.connect(_tenant_row_changed, sender=model, dispatch_uid=f"gen-{model.__name__}")
        post_delete.connect(
            _tenant_row_changed, sender=model, dispatch_uid=f"gen-d-{model.__name__}"
        )
    for model in (Product, Option, TermsDocument, TermsVersion):
        post_save.connect(_terms_changed, sender=model, dispatch_uid=f"gen-{model.__name__}")
        post_delete.connect(_terms_changed, sender=model, dispatch_uid=f"gen-d-{model.__name__}")
    post_save.connect(_key_changed, sender=ProductKey, dispatch_uid="gen-ProductKey")
    post_delete.connect(_key_changed, sender=ProductKey, dispatch_uid="gen-d-ProductKey")
    m2m_changed.connect(
        _contract_options_changed, sender=Contract.options.through, dispatch_uid="gen-options"
    )
