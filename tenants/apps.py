from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("お客様・パートナー")

    def ready(self) -> None:
        # Generation bumps for cached hot reads (core/generations.py).
        from tenants import signals  # noqa: PLC0415 -- models are loaded only now

        signals.connect()
