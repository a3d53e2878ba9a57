"""A confirmation step or a form shown again with its errors lives at the POST URL that
answered it; reloading it (or Back/Forward to it) asks for that URL by GET. That GET goes
back to the page the flow started from instead of a blank 405."""

from __future__ import annotations

import pytest

from agreements.models import NonRenewalRequest, Termination
from tests.portal.conftest import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _flows(world) -> dict[str, str]:
    contract = f"/portal/contracts/{world.contract.pk}/"
    return {
        f"/portal/changes/{world.v2.pk}/answer/": f"/portal/changes/{world.v2.pk}/",
        f"{contract}non-renewal/": contract,
        f"{contract}termination/": contract,
        f"{contract}deletion/": contract,
        "/portal/members/invite/": "/portal/members/",
        "/portal/contacts/add/": "/portal/members/",
    }


def test_a_get_at_a_post_only_step_goes_back_to_where_the_flow_started(world, admin_client) -> None:
    for url, start in _flows(world).items():
        response = admin_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == start, url
        assert admin_client.get(url, follow=True).status_code == 200, url
        assert admin_client.head(url).status_code == 302, url
        # Other methods are still refused, and say what is allowed.
        refused = admin_client.put(url)
        assert refused.status_code == 405, url
        assert refused["Allow"] == "POST", url


def test_reloading_the_reject_confirmation_returns_to_the_revision(world, admin_client) -> None:
    url = f"/portal/changes/{world.v2.pk}/answer/"
    shown = admin_client.post(url, {"answer": "rejected"})
    assert shown.status_code == 200
    assert any(t.name == "agreements/portal/reject_confirm.html" for t in shown.templates)
    reloaded = admin_client.get(url)
    assert reloaded.status_code == 302
    assert reloaded["Location"] == f"/portal/changes/{world.v2.pk}/"


def test_reloading_a_request_confirmation_files_nothing(world, admin_client) -> None:
    url = f"/portal/contracts/{world.contract.pk}/termination/"
    assert admin_client.post(url, {"end_date": "2025-03-25"}).status_code == 200
    back = admin_client.get(url, follow=True)
    assert back.redirect_chain == [(f"/portal/contracts/{world.contract.pk}/", 302)]
    assert not Termination.objects.exists()
    assert not NonRenewalRequest.objects.exists()


def test_a_stranger_contract_still_answers_404_after_the_redirect(world, admin_client) -> None:
    other = build_world(name="別テナント株式会社")
    response = admin_client.get(f"/portal/contracts/{other.contract.pk}/deletion/", follow=True)
    assert response.status_code == 404
