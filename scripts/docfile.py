"""The shared end of the doc generators (rules_doc.py, errors_doc.py): write the regenerated
page, or with --check say what is stale and exit 1."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def regenerate(
    doc: Path, render: Callable[[str], str], *, script: str, argv: Sequence[str] | None
) -> int:
    """Render `doc` from its current text; rewrite it, or with --check report a stale one."""
    parser = argparse.ArgumentParser(description=f"Regenerate {doc.name} ({script})")
    parser.add_argument("--check", action="store_true", help=f"exit 1 when {doc.name} is stale")
    args = parser.parse_args(argv)
    current = doc.read_text(encoding="utf-8")
    wanted = render(current)
    if current == wanted:
        return 0
    name = f"docs/{doc.name}"
    if args.check:
        diff = difflib.unified_diff(
            current.splitlines(),
            wanted.splitlines(),
            name,
            f"{name} (regenerated)",
            lineterm="",
            n=0,
        )
        sys.stderr.write("\n".join(diff) + "\n")
        sys.stderr.write(f"{name} is stale: run python {script}\n")
        return 1
    doc.write_text(wanted, encoding="utf-8")
    return 0
