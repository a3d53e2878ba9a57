"""Generation bumps (core/generations.py) for tenants, partners, keys and webhook endpoints
written one by one, whoever writes them (services, the admin). Queryset updates send no
signal; the services using them bump explicitly (partner_key_revoke)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from core import generations
from tenants.models import Partner, PartnerAPIKey, Tenant, WebhookEndpoint


def _tenant_changed(sender: Any, instance: Tenant, **kwargs: Any) -> None:
    generations.bump_on_commit(generations.tenant_generation(instance.pk))


def _key_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    generations.bump_on_commit(generations.KEYS)


def _webhook_changed(sender: Any, instance: WebhookEndpoint, **kwargs: Any) -> None:
    generations.bump_on_commit(generations.partner_generation(instance.partner_id))


def connect() -> None:
    post_save.connect(_tenant_changed, sender=Tenant, dispatch_uid="gen-Tenant")
    post_delete.connect(_tenant_changed, sender=Tenant, dispatch_uid="gen-d-Tenant")
    for model in (Partner, PartnerAPIKey):
        post_save.connect(_key_changed, sender=model, dispatch_uid=f"gen-{model.__name__}")
        post_delete.connect(_key_changed, sender=model, dispatch_uid=f"gen-d-{model.__name__}")
    post_save.connect(_webhook_changed, sender=WebhookEndpoint, dispatch_uid="gen-Webhook")
    post_delete.connect(_webhook_changed, sender=WebhookEndpoint, dispatch_uid="gen-d-Webhook")
