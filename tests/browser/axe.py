"""axe-core in the browser tests: the npm package (tests/browser/package.json, `npm ci`) is
read from node_modules and evaluated in the page by Playwright, then run at the WCAG 2.2 AA
tags. Evaluating it (rather than adding a <script>) keeps the page's Content-Security-Policy
untouched: the script runs in Playwright's evaluation context, not as page content.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""


@cache
def axe_source() -> str:
    if not AXE_JS.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{AXE_JS} is missing: run `npm ci` in tests/browser (make dev-venv does)")
        pytest.skip("axe-core is not installed (npm ci --prefix tests/browser)")
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The page's WCAG 2.2 AA violations as found by axe-core (an empty list when none)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    return page.evaluate(_RUN, WCAG_22_AA)  # type: ignore[no-any-return]


def describe(url: str, violations: list[dict[str, Any]]) -> str:
    """A readable report of one page's violations for an assertion message."""
    lines = [f"{url}:"]
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {n['target']}: {n['summary']}" for n in v["nodes"][:5])
        if len(v["nodes"]) > 5:
            lines.append(f"    … {len(v['nodes']) - 5} more")
    return "\n".join(lines)
