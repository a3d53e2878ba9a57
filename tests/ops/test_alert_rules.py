"""The alerting rules (deploy/prometheus/alerts.yml): valid for Prometheus, unit-tested with
`promtool test rules` (deploy/prometheus/alerts_test.yml), each with a summary and a runbook
section in docs/operations.md."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = "promtool not found (Debian package prometheus; .ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # CI must run the rule tests, not skip them
        pytest.skip(message)
    return path


def _rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for heading in re.findall(r"^#{1,6} (.+)$", markdown, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_alert_rules_pass_promtool_check() -> None:
    result = _run("check", "rules", str(RULES.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in result.stdout


def test_alert_rules_pass_their_promtool_unit_tests() -> None:
    result = _run("test", "rules", str(RULE_TESTS.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_rule_has_a_unit_test_that_sees_it_fire() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert fired == {rule["alert"] for rule in _rules()}


def test_every_alert_has_a_summary_and_a_runbook_section_in_the_docs() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    anchors = _anchors(text)
    alerts_section = text.split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    for rule in _rules():
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), rule["alert"]
        page, _, anchor = annotations["runbook"].partition("#")
        assert page == "docs/operations.md", rule["alert"]
        assert anchor in anchors, (rule["alert"], anchor)
        assert f"`{rule['alert']}`" in alerts_section, rule["alert"]


def test_alert_rules_never_group_or_match_by_tenant() -> None:
    # A per-tenant alert would need per-tenant series, which /metrics no longer has.
    assert all("tenant" not in rule["expr"] for rule in _rules())
