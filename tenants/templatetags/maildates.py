"""Dates inside e-mails, written the way the rest of the message writes them.

`email_context` gives templates the payload's own dates already written out (`d`); a date the
message derives from one of them (the last day to object is the day before the effective
date) goes through the same writer here (core.dates with the weekday, as the pages write a date
people act on), so one message never mixes two styles.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import template
from django.utils import translation

from core.dates import date_text

register = template.Library()


@register.filter(name="mail_date")
def mail_date(value: date | None) -> str:
    """2025年2月28日（金） / Fri, 28 Feb 2025, in the language the e-mail is rendered in."""
    if not isinstance(value, date):
        return ""
    return date_text(value, language=translation.get_language(), weekday=True)


@register.filter(name="mail_day_before")
def mail_day_before(value: date | None) -> str:
    """The day before `value`, written out: the last day to object to a change effective on it."""
    if not isinstance(value, date):
        return ""
    return date_text(value - timedelta(days=1), language=translation.get_language(), weekday=True)
