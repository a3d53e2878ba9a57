"""Removing a member asks first: the member list links to a confirmation page (GET, which
changes nothing); only its form's POST removes. Both are scoped like every portal page."""

from __future__ import annotations

import re

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


def test_the_confirmation_starts_at_its_heading(world, admin_client) -> None:
    page = admin_client.get(f"/portal/members/{world.viewer.pk}/remove/").content.decode()
    focused = re.findall(r"<\w+[^>]*\sautofocus[^>]*>", page)
    assert len(focused) == 1, focused
    assert focused[0].startswith("<h1 ")
    assert 'tabindex="-1"' in focused[0]


def test_the_last_admin_is_not_offered_removal_or_a_role_change(world, admin_client) -> None:
    page = admin_client.get("/portal/members/").content.decode()
    own = f"/portal/members/{world.admin.pk}/"
    assert f'href="{own}remove/"' not in page
    assert f'action="{own}role/"' not in page
    assert 'data-testid="sole-admin"' in page
    assert "最後の管理者のため" in page
    # Other members keep their actions.
    assert f'href="/portal/members/{world.viewer.pk}/remove/"' in page
    # Reached by its address, the page explains instead of asking to confirm.
    confirm = admin_client.get(f"{own}remove/").content.decode()
    assert f'action="{own}remove/"' not in confirm
    assert "最後の管理者のため、メンバーから外せません" in confirm


def test_a_second_admin_makes_both_removable(world, admin_client) -> None:
    world.viewer.role = "admin"
    world.viewer.save(update_fields=["role"])
    page = admin_client.get("/portal/members/").content.decode()
    assert 'data-testid="sole-admin"' not in page
    assert f'href="/portal/members/{world.admin.pk}/remove/"' in page


def test_a_viewer_sees_no_stray_bullet_in_the_termination_card(world, viewer_client) -> None:
    page = viewer_client.get(f"/portal/contracts/{world.contract.pk}/").content.decode()
    card = page[page.index('id="termination"') :]
    card = card[: card.index("</section>")]
    assert "<li" not in card
    assert 'data-testid="termination-none"' in card
