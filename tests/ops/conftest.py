from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from agreements.enums import Answer
from agreements.ledger.append import ledger_append
from agreements.ledger.rows import EvidenceInput
from agreements.models import ConsentRecord, TermsVersion
from tenants.models import Tenant
from tenants.scope import Scope
from terms_site.logging import JsonFormatter


def append_rows(
    tenant: Tenant, version: TermsVersion, instants: list[datetime]
) -> list[ConsentRecord]:
    """Ledger rows through the ledger service, the first with personal evidence."""
    rows = []
    for index, at in enumerate(instants):
        evidence = (
            EvidenceInput(
                person_name="山田太郎", person_email="taro@customer.example", method="portal"
            )
            if index == 0
            else None
        )
        answer = Answer.ACCEPTED if index % 2 == 0 else Answer.REJECTED
        rows.append(
            ledger_append(
                tenant=tenant,
                version=version,
                answer=answer,
                scope=Scope.system(),
                evidence=evidence,
                at=at,
            )
        )
    return rows


class CapturedLogs:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[str]:
        return [line for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_logs() -> Iterator[CapturedLogs]:
    """Everything logged at INFO and above, rendered by the production JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
