"""Console page listing each product's rulebook (docs/rules.md): read-only, staff of any role."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from agreements.rulebook import rulebooks
from web.console.access import ConsoleRequest, Need, console_view


@console_view(Need.READ)
def rulebook_list(request: ConsoleRequest) -> HttpResponse:
    """Each product's rules as its own terms state them, with the article and parameters."""
    return render(
        request,
        "agreements/console/rulebook.html",
        {"nav": "rulebook", "books": rulebooks()},
    )
