"""Widgets shared by the console's forms."""

from __future__ import annotations

from django import forms

# The browser's own date picker; the value round-trips as ISO 8601.
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
