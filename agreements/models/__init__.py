"""Products, terms documents and versions, contracts, the consent ledger and deletions.

One module per subject; importing them here registers every model with Django, in the
order the tables were first declared, and keeps ``agreements.models.<Model>`` working.
"""

from __future__ import annotations

from agreements.models.products import Option, Product, ProductKey  # isort: skip
from agreements.models.documents import (  # isort: skip
    Article,
    Paragraph,
    TermsDocument,
    TermsVersion,
    VersionAuthor,
)
from agreements.models.contracts import (  # isort: skip
    Contract,
    ContractPeriod,
    NonRenewalRequest,
    Termination,
    TerminationCase,
)
from agreements.models.deletions import DataDeletion  # isort: skip
from agreements.models.consents import (  # isort: skip
    ConsentEvidence,
    ConsentRecord,
    ConsentState,
    LedgerHead,
)
from agreements.models.checkpoints import LedgerCheckpoint  # isort: skip
from agreements.models.notices import NoticeDelivery, ScheduledReminder  # isort: skip
from agreements.models.receipts import RequestReceipt  # isort: skip

__all__ = [
    "Article",
    "ConsentEvidence",
    "ConsentRecord",
    "ConsentState",
    "Contract",
    "ContractPeriod",
    "DataDeletion",
    "LedgerCheckpoint",
    "LedgerHead",
    "NonRenewalRequest",
    "NoticeDelivery",
    "Option",
    "Paragraph",
    "Product",
    "ProductKey",
    "RequestReceipt",
    "ScheduledReminder",
    "Termination",
    "TerminationCase",
    "TermsDocument",
    "TermsVersion",
    "VersionAuthor",
]
