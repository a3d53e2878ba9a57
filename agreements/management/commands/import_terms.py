"""import_terms: store a terms text (or a revision notice) as versions.

    manage.py import_terms --product optimal-biz --label 2024-11-22 \
        --effective-on 2024-11-22 --historical FILE
    manage.py import_terms --product optim-id-plus --notice FILE

Bad input (an empty file, no headings, a numbering gap, a duplicate label…) prints the
error with its line and writes nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.services.imports import terms_import, terms_import_notice
from agreements.services.version_text import version_stats
from core.errors import DomainError
from tenants.scope import Scope


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from None


class Command(BaseCommand):
    help = "Import a plain-text terms document, or a revision notice (--notice), as versions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="the terms text (UTF-8)")
        parser.add_argument("--product", required=True, help="product code, e.g. optimal-biz")
        parser.add_argument("--document", default=None, help="document slug (default: base terms)")
        parser.add_argument("--label", default=None, help="version label (default: --effective-on)")
        parser.add_argument("--effective-on", type=date.fromisoformat, default=None)
        parser.add_argument(
            "--historical",
            action="store_true",
            help="a past version: effective or superseded, without ledger rows or notices",
        )
        parser.add_argument(
            "--before-effective-on",
            type=date.fromisoformat,
            default=None,
            help="with --notice: effective date of the text before the revision (default: notice date)",
        )
        parser.add_argument(
            "--notice",
            metavar="FILE",
            default=None,
            help="a revision notice (お知らせ): import its before/after excerpt versions",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["file"]) == bool(options["notice"]):
            raise CommandError("give either FILE or --notice FILE")
        try:
            if options["notice"]:
                self._notice(options)
            else:
                self._terms(options)
        except DomainError as exc:
            path = options["notice"] or options["file"]
            raise CommandError(f"{path}: {exc.message}") from exc

    def _terms(self, options: dict[str, Any]) -> None:
        effective_on: date | None = options["effective_on"]
        label = options["label"] or (effective_on.isoformat() if effective_on else None)
        if not label:
            raise CommandError("give --label (or --effective-on)")
        version = terms_import(
            scope=Scope.system(),
            product_code=options["product"],
            label=label,
            effective_on=effective_on,
            text=_read(options["file"]),
            historical=options["historical"],
            document_slug=options["document"],
        )
        stats = version_stats(version)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {version.document.product.code}/{version.document.slug} "
                f"{version.label} as {version.status}"
            )
        )
        self.stdout.write(f"  title:        {version.title}")
        self.stdout.write(
            f"  articles:     {stats['articles']}  paragraphs: {stats['paragraphs']}"
            f"  items: {stats['items']}"
        )
        self.stdout.write(f"  last revised: {version.last_revised_text or '-'}")
        self.stdout.write(
            f"  effective on: {version.effective_on.isoformat() if version.effective_on else '-'}"
        )

    def _notice(self, options: dict[str, Any]) -> None:
        before, after = terms_import_notice(
            scope=Scope.system(),
            product_code=options["product"],
            text=_read(options["notice"]),
            document_slug=options["document"],
            before_effective_on=options["before_effective_on"],
        )
        self.stdout.write(self.style.SUCCESS(f"Imported notice: {after.notice_title}"))
        for version in (before, after):
            stats = version_stats(version)
            self.stdout.write(
                f"  {version.label:<20} {version.status:<11} effective {version.effective_on}"
                f"  excerpt: {stats['articles']} articles, {stats['paragraphs']} paragraphs"
            )
        self.stdout.write(
            f"  notice on {after.notice_on}, categories: "
            + "; ".join(c["title"] for c in after.categories)
        )
