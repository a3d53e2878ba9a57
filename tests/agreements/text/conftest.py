"""Fixtures that read the real seed documents (never copied into the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SEEDS_DIR = Path("..") / "shared" / "seeds"  # the default of TERMS_SEEDS_DIR


def configured_seeds_dir() -> Path:
    """TERMS_SEEDS_DIR, relative paths taken from the repository root."""
    configured = Path(os.environ.get("TERMS_SEEDS_DIR") or DEFAULT_SEEDS_DIR)
    return configured if configured.is_absolute() else (REPO_ROOT / configured).resolve()


def _missing(message: str) -> None:
    # On CI a missing seed means the checkout is wrong, not that the test is optional.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true, so this is an error; set TERMS_SEEDS_DIR)")
    pytest.skip(f"{message}; set TERMS_SEEDS_DIR to run the seed tests")


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    path = configured_seeds_dir()
    if not path.is_dir():
        _missing(f"seed directory not found: {path}")
    return path


def _read_seed(seeds_dir: Path, prefix: str) -> str:
    matches = sorted(seeds_dir.glob(f"{prefix}_*.txt"))
    if len(matches) != 1:
        _missing(f"expected one {prefix}_*.txt in {seeds_dir}, found {len(matches)}")
    return matches[0].read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def biz_terms_text(seeds_dir: Path) -> str:
    """Seed 000: Optimal Biz 利用規約, plain text extracted from a PDF."""
    return _read_seed(seeds_dir, "000")


@pytest.fixture(scope="session")
def idplus_notice_text(seeds_dir: Path) -> str:
    """Seed 003: OPTiM ID+ 利用規約改定のお知らせ (2022-04-19)."""
    return _read_seed(seeds_dir, "003")
