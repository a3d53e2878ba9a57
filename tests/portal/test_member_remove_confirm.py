"""Removing a member asks first: the member list links to a confirmation page (GET, which
changes nothing); only its form's POST removes. Both are scoped like every portal page."""

from __future__ import annotations

import pytest

from tenants.models import Membership
from tests.portal.conftest import build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_the_list_links_to_a_confirmation_that_changes_nothing(world, admin_client) -> None:
    page = admin_client.get("/portal/members/").content.decode()
    url = f"/portal/members/{world.viewer.pk}/remove/"
    assert f'href="{url}"' in page
    assert f'action="{url}"' not in page  # no one-press removal form on the list
    confirm = admin_client.get(url)
    assert confirm.status_code == 200
    assert f'action="{url}"' in confirm.content.decode()
    assert Membership.objects.filter(pk=world.viewer.pk).exists()
    assert admin_client.post(url).status_code == 302
    assert not Membership.objects.filter(pk=world.viewer.pk).exists()


def test_confirmation_of_another_tenants_member_is_404_and_viewers_are_refused(
    world, admin_client, viewer_client
) -> None:
    other = build_world(name="別テナント株式会社")
    assert admin_client.get(f"/portal/members/{other.viewer.pk}/remove/").status_code == 404
    refused = viewer_client.get(f"/portal/members/{world.admin.pk}/remove/")
    assert refused.status_code in {302, 403}
    assert Membership.objects.filter(pk=world.admin.pk).exists()
