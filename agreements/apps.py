from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgreementsConfig(AppConfig):
    name = "agreements"
    verbose_name = _("規約・契約")

    def ready(self) -> None:
        # Generation bumps for cached hot reads (core/generations.py).
        from agreements import signals  # noqa: PLC0415 -- models are loaded only now

        signals.connect()
