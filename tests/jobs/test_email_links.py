"""Links in e-mails point at pages that exist (they are built from URL names)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.urls import resolve

from tenants.delivery.email import portal_links

pytestmark = pytest.mark.unit


def test_portal_links_resolve_to_real_pages(settings) -> None:
    settings.TERMS_PORTAL_BASE_URL = "https://terms.example.com"
    links = portal_links({"contract_id": 7, "version_id": 12, "deletion_id": 3})
    assert links["version"] == "https://terms.example.com/portal/changes/12/"
    assert links["notice"] == "https://terms.example.com/notices/12/"
    for name in ("portal", "consents", "contract", "notice", "version", "deletion", "console"):
        url = urlsplit(links[name])
        assert url.netloc == "terms.example.com"
        resolve(url.path)  # raises Resolver404 for a page that does not exist
