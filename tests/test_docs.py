"""docs/rules.md stays true to the code: generated parts current, code references real."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
RULES_DOC = ROOT / "docs" / "rules.md"
# A code reference: a backticked dotted name rooted in one of the service's packages.
REFERENCE = re.compile(
    r"`((?:terms_site|web|agreements|tenants|core)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)`"
)
RULE_HEADING = re.compile(r"^### (R\d+) — ", re.MULTILINE)


@cache
def _generator() -> ModuleType:
    # scripts/ is not a package: load the generator from its file, as `python scripts/...` does.
    spec = importlib.util.spec_from_file_location("rules_doc", ROOT / "scripts" / "rules_doc.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: its dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _resolve(reference: str) -> Any:
    """Import the longest module prefix of `reference`, then getattr the rest."""
    parts = reference.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            target: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            # Only "this prefix is not a module" means: try a shorter one.
            if error.name is not None and module_name.startswith(error.name):
                continue
            raise
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ModuleNotFoundError(reference)


def _references() -> list[str]:
    return sorted(set(REFERENCE.findall(RULES_DOC.read_text(encoding="utf-8"))))


def test_rules_doc_is_regenerated_from_the_test_names(capsys: pytest.CaptureFixture[str]) -> None:
    status = _generator().main(["--check"])

    assert status == 0, capsys.readouterr().err


def test_rules_doc_every_code_reference_resolves() -> None:
    unresolved = []
    for reference in _references():
        try:
            _resolve(reference)
        except (ImportError, AttributeError) as error:
            unresolved.append(f"{reference}: {error}")

    assert unresolved == []


def test_rules_doc_every_rule_names_its_code() -> None:
    text = RULES_DOC.read_text(encoding="utf-8")
    # Each rule's section ends at the next rule or at the next chapter (`## `).
    bodies = [body.split("\n## ")[0] for body in RULE_HEADING.split(text)[2::2]]
    sections = dict(zip(RULE_HEADING.findall(text), bodies, strict=True))

    assert sorted(sections, key=lambda rule: int(rule[1:])) == [f"R{n}" for n in range(1, 20)]
    assert [rule for rule, body in sections.items() if not REFERENCE.search(body)] == []


@pytest.mark.parametrize(
    ("name", "rules", "rows", "whole_table"),
    [
        ("test_consent_answer_r1_r6_reject_opens_case", {1, 6}, set(), False),
        ("test_period_end_r10_start_day_counts", {10}, set(), False),
        ("test_liability_cap_r17_accepts_enum_members", {17}, set(), False),
        ("test_truth_table_row3_deemed_reject_refused_r13", {13}, {3}, False),
        ("test_truth_table_row5_confirmed_case_on_its_last_day", set(), {5}, False),
        ("test_allowed_answers_truth_table", set(), set(), True),
        ("test_rules_doc_every_rule_names_its_code", set(), set(), False),
        ("test_version_r7b_is_not_rule_seven", set(), set(), False),
    ],
)
def test_rules_doc_numbers_come_from_whole_words(
    name: str, rules: set[int], rows: set[int], whole_table: bool
) -> None:
    generator = _generator()

    assert generator.rules_of(name) == rules
    assert generator.rows_of(name) == rows
    assert generator.carries_whole_table(name) is whole_table


# A path of this repository named in the docs: backticked, under one of its top-level folders.
REPO_PATH = re.compile(
    r"`((?:terms_site|web|agreements|tenants|core|scripts|bench|deploy|templates|tests|docs)"
    r"/[A-Za-z0-9_./-]*[A-Za-z0-9_/])`"
)
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_name_only_paths_that_exist(doc: Path) -> None:
    # Moving a module must not leave the docs pointing at a file that is gone.
    missing = []
    for found in REPO_PATH.findall(doc.read_text(encoding="utf-8")):
        path = found.split("::")[0].rstrip("/")
        if "*" in path or "<" in path or "…" in path:
            continue
        if not (ROOT / path).exists():
            missing.append(found)
    assert missing == []


# Celery task names look like dotted references but name tasks, not code.
TASK_NAME = re.compile(r'shared_task\(\s*name="([^"]+)"')


def _task_names() -> set[str]:
    names = {"core.deliver_outbox"}  # the outbox task keeps its name in core.outbox.DELIVERY_TASK
    for source in ROOT.glob("*/tasks.py"):
        names.update(TASK_NAME.findall(source.read_text(encoding="utf-8")))
    return names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_every_dotted_code_reference_resolves(doc: Path) -> None:
    unresolved = []
    tasks = _task_names()
    for reference in REFERENCE.findall(doc.read_text(encoding="utf-8")):
        if reference in tasks:
            continue
        try:
            _resolve(reference)
        except (ImportError, AttributeError):
            unresolved.append(reference)
    assert unresolved == []
