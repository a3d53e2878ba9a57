from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parent.parent

# CI runs a fixed, bounded number of examples; `HYPOTHESIS_PROFILE=thorough` runs more.
settings.register_profile(
    "ci",
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _staff_groups(request: pytest.FixtureRequest) -> None:
    """Transactional tests flush every table, data-migration rows included: the staff groups
    (a data migration's rows) are restored for every database test that finds them gone."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction", False)) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if transactional:
        request.getfixturevalue("transactional_db")
    elif marker is not None or "db" in request.fixturenames:
        # A transactional test that ran before (browser, fault and live-server tests) left
        # the tables flushed: put the groups back inside this test's transaction.
        request.getfixturevalue("db")
    else:
        return
    from django.contrib.auth.models import Group

    names = ("editor", "publisher", "viewer")
    if Group.objects.filter(name__in=names).count() < len(names):
        for name in names:
            Group.objects.get_or_create(name=name)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The real seed documents (never copied into the repository)."""
    path = Path(os.environ.get("TERMS_SEEDS_DIR", REPO_ROOT.parent / "shared" / "seeds"))
    if not path.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"TERMS_SEEDS_DIR {path} is missing: the seed documents are required in CI")
        pytest.skip(f"seed documents not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Every test starts with this run's cache empty: cached lookups (API keys, versions,
    webhooks, status answers) and their generation numbers outlive a rolled-back test, so
    query counts and cached answers would depend on the tests that ran before."""
    clear_run_cache()


def clear_run_cache() -> None:
    """Empty this run's cache. Only this run's keys are deleted (its own prefix): the Redis
    server is shared."""
    from django.conf import settings
    from django.core.cache import caches

    from tenants import auth

    auth._marker_asked.clear()  # what this process remembers of the once-a-minute markers
    cache = caches["default"]
    fallback = getattr(cache, "fallback", None)
    if fallback is not None:
        fallback.clear()
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        cache.clear()
        return
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    try:
        client = cache._cache.get_client(None, write=True)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    except Exception:  # noqa: S110 -- a test that stops Redis must still run
        pass
