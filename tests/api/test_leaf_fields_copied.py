"""The hot paths' serializers copy their leaf fields shallowly (web/api/fields.py,
LeafFieldsCopied): what they read and write is what DRF's own deep copies read and write, and
binding a copy never reaches the declared field it was copied from."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework import serializers

from tests.api.test_agreements_api import EVIDENCE
from web.api.consents import ConsentAnswerApi, ConsentEvidenceInput, ConsentRecordOutput
from web.api.fields import LeafFieldsCopied
from web.api.status import BindingVersionOutput, StatusCheckOutput

HOT = [
    ConsentAnswerApi.InputSerializer,
    ConsentEvidenceInput,
    ConsentRecordOutput,
    StatusCheckOutput,
    BindingVersionOutput,
]

BODIES: list[Any] = [
    {"version": 12, "answer": "accepted", "evidence": EVIDENCE},
    {"version": 12, "answer": "rejected", "evidence": {**EVIDENCE, "ip_address": ""}},
    {"version": 0, "answer": "deemed", "evidence": {**EVIDENCE, "obtained_at": "2025-03-09"}},
    {"version": "x", "evidence": {**EVIDENCE, "person_name": "a\u0007b", "ip_address": "1.2"}},
    {"version": 12, "answer": "accepted", "evidence": {"method": "x" * 300}},
    {"version": 12, "answer": "accepted", "evidence": None},
    {},
]


def _drf_twin(cls: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The same declared fields, built by DRF's own get_fields (deep copies)."""
    fields = {
        name: _drf_twin(type(field))() if isinstance(field, LeafFieldsCopied) else field
        for name, field in cls._declared_fields.items()  # type: ignore[attr-defined]
    }
    return type(f"Drf{cls.__name__}", (serializers.Serializer,), dict(fields))


@pytest.mark.parametrize("body", BODIES)
def test_the_answers_body_reads_as_drf_reads_it(body: Any) -> None:
    ours = ConsentAnswerApi.InputSerializer(data=body)
    theirs = _drf_twin(ConsentAnswerApi.InputSerializer)(data=body)
    assert ours.is_valid() == theirs.is_valid()
    assert ours.errors == theirs.errors
    assert dict(ours.validated_data) == dict(theirs.validated_data)


def test_a_ledger_row_is_written_as_drf_writes_it() -> None:
    row = SimpleNamespace(
        id=7,
        tenant_id=3,
        seq=2,
        document_id=1,
        version_id=12,
        answer="accepted",
        actor_kind="partner_key",
        actor_ref="key:abc",
        channel="api",
        recorded_at=None,
        version_body_hash="a" * 64,
        notice_posted_at=None,
        evidence_digests={"person_name": "b" * 64},
        prev_hash="c" * 64,
        hash="d" * 64,
    )
    written = ConsentRecordOutput(row).data
    assert written == _drf_twin(ConsentRecordOutput)(row).data
    assert (written["tenant"], written["hash"]) == (3, "d" * 64)


@pytest.mark.parametrize("cls", HOT)
def test_binding_a_copy_leaves_the_declared_field_unbound(cls: type[LeafFieldsCopied]) -> None:
    first, second = cls(), cls()
    for name, declared in cls._declared_fields.items():  # type: ignore[attr-defined]
        assert first.fields[name] is not declared
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first
        assert declared.parent is None
        assert declared.field_name is None
        child = getattr(first.fields[name], "child", None)  # a list of serializers or fields
        if child is not None:
            assert child.parent is first.fields[name]
