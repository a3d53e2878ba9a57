"""Model fields of the service's own (docs/api.md, "Sandbox", for the clock of timestamps)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models

from core import clock


class ClockDateTimeField(models.DateTimeField):
    """A DateTimeField whose `auto_now` / `auto_now_add` read the service's clock
    (core.clock.now) instead of the wall clock.

    A sandbox's rows are then stamped on the sandbox's clock like every other instant a sandbox
    caller sees (a contract's dates, events, deliveries), so `updated_since` compares like with
    like; live rows get the same instant as before (the clock is the wall clock there).
    The column is a plain timestamp: `deconstruct` names Django's field so that the
    migrations see no change.
    """

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if self.auto_now or (self.auto_now_add and add):
            value: datetime = clock.now()
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs
