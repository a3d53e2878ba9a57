from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AgreementsConfig(AppConfig):
    name = "agreements"
    verbose_name = _("規約・契約")

    def ready(self) -> None:
        # Generation bumps for cached hot reads (core/generations.py).
        from agreements import signals  # noqa: PLC0415 -- models are loaded only now

        signals.connect()
        post_migrate.connect(_install_database_functions, sender=self)


def _install_database_functions(*, using: str, **_kwargs: Any) -> None:
    """After every `migrate`: the status check's function for this code's statement, so a
    changed statement needs no migration of its own (status_sql.py)."""
    from django.db import connections  # noqa: PLC0415

    from agreements.selectors.consents.status_sql import (  # noqa: PLC0415
        install_status_function,
    )

    install_status_function(connections[using])
