from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Plumbing shared by both apps: outbox, events, planned actions, jobs, audit, idempotency.

    It depends on nothing of ours (tenants and agreements are referred to by id), so both
    `tenants` and `agreements` may write to it without a dependency cycle.
    """

    name = "core"
    verbose_name = _("基盤")

    def ready(self) -> None:
        # Read replica: each request starts with no writes of its own (core/replica.py).
        from django.core import signals  # noqa: PLC0415 -- app loading: signals after setup

        from core import after_response, lookups, replica  # noqa: PLC0415 -- app loading: signals after setup

        lookups.register()

        signals.request_started.connect(replica.request_started, dispatch_uid="core.replica")
        signals.request_finished.connect(replica.request_finished, dispatch_uid="core.replica")
        # Work left until the response is sent (core/after_response.py).
        signals.request_started.connect(
            after_response.request_started, dispatch_uid="core.after_response"
        )
        signals.request_finished.connect(
            after_response.request_finished, dispatch_uid="core.after_response"
        )
