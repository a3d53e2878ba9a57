"""A generation bumped in a transaction (core/generations.py, bump_on_commit): Redis learns it
at the commit, in one round trip after the transaction's locks are gone; until then the
transaction itself reads under a number of its own, so it sees its change; a rollback bumps
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from core import generations
from tests.api.test_prefetch import round_trips

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NAME = "gen:test-pending"
ENTRY = "test-pending-entry"


def _redis_number() -> int:
    found = generations.shared_get_many([NAME])
    assert found is not None, "the shared cache (Redis) is required"
    return int(found.get(NAME) or 0)


def _cached() -> Any:
    found = generations.lookup({ENTRY: [NAME]})
    assert found is not None
    return found.get(ENTRY, [NAME])


def _store(value: str) -> None:
    found = generations.lookup({ENTRY: [NAME]})
    assert found is not None
    found.store(ENTRY, [NAME], value, 60)


def test_a_bump_in_a_transaction_reaches_redis_at_its_commit_only(
    django_capture_on_commit_callbacks: Any,
) -> None:
    _store("before")
    number = _redis_number()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        transaction.atomic(),
        round_trips() as sent,
    ):
        generations.bump_on_commit(NAME, NAME)
        assert sent[0] == 0  # nothing sent while the transaction holds its locks
        assert _redis_number() == number
        assert _cached() is generations.MISS  # the transaction sees its own change
        _store("mine")
        assert _cached() == "mine"
    assert len(callbacks) == 1  # one callback, whatever it bumped
    assert _redis_number() == number + 1  # once, for the name given twice
    assert _cached() is generations.MISS  # what the transaction stored is nobody's now


def test_a_rolled_back_bump_changes_nothing() -> None:
    _store("kept")
    number = _redis_number()
    seen: list[Any] = []

    def bump_and_fail() -> None:
        with transaction.atomic():
            generations.bump_on_commit(NAME)
            seen.append(_cached())
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        bump_and_fail()
    assert seen == [generations.MISS]
    assert _redis_number() == number
    assert _cached() == "kept"  # nothing changed: the cached value stands


def test_a_bump_after_the_callbacks_ran_is_sent_again(
    django_capture_on_commit_callbacks: Any,
) -> None:
    number = _redis_number()
    for expected in (number + 1, number + 2):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            generations.bump_on_commit(NAME)
        assert _redis_number() == expected


def test_outside_a_transaction_a_bump_is_sent_at_once(transactional_db: Any) -> None:
    number = _redis_number()
    generations.bump_on_commit(NAME)
    assert _redis_number() == number + 1


def test_a_bump_by_another_process_during_the_transaction_is_still_seen() -> None:
    with transaction.atomic():
        generations.bump_on_commit(NAME)
        _store("mine")
        assert _cached() == "mine"
        generations.generation_bump(NAME)  # another process's change, committed meanwhile
        assert _cached() is generations.MISS
