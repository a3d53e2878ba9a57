from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Plumbing shared by both apps: outbox, events, planned actions, jobs, audit, idempotency.

    It depends on nothing of ours (tenants and agreements are referred to by id), so both
    `tenants` and `agreements` may write to it without a dependency cycle.
    """

    name = "core"
    verbose_name = _("基盤")
