"""The withdraw page says what the withdrawal touches: the answers recorded against the
version and the live termination cases its rejections opened (R7)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agreements.catalog import catalog_ensure
from agreements.selectors.versions import withdrawal_impact
from agreements.services.consents.answers import consent_answer
from core import clock
from core.errors import NotFound
from tenants.scope import Scope
from tests.console.conftest import make_staff, post_revision
from tests.factories.agreements import ContractFactory
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def answered(world, editor, publisher):
    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    consent_answer(scope=Scope.system(), tenant=world.tenant, version=version, answer="rejected")
    catalog = catalog_ensure()
    for name in ("株式会社甲", "株式会社乙"):
        tenant = TenantFactory(name=name)
        ContractFactory(tenant=tenant, product=catalog.biz)
        consent_answer(scope=Scope.system(), tenant=tenant, version=version, answer="accepted")
    return version


def test_r7_impact_counts_answers_and_live_cases_in_three_queries(
    answered, publisher, django_assert_num_queries
) -> None:
    with django_assert_num_queries(3):
        impact = withdrawal_impact(scope=Scope.staff(publisher), version=answered)
    assert impact.answers == {"accepted": 2, "rejected": 1}
    assert impact.answer_total == 3
    assert impact.answered_tenants == 3
    assert impact.live_cases == 1


def test_r7_a_tenant_that_changed_its_answer_counts_once(answered, world, publisher) -> None:
    consent_answer(scope=Scope.system(), tenant=world.tenant, version=answered, answer="accepted")
    impact = withdrawal_impact(scope=Scope.staff(publisher), version=answered)
    assert impact.answers == {"accepted": 3, "rejected": 1}
    assert impact.answered_tenants == 3
    assert impact.tenant_answers == {"accepted": 3}  # by each tenant's latest answer
    assert impact.changed_answers is True
    assert impact.live_cases == 0  # accepting dropped the case


def test_r7_impact_is_staff_only(answered, world) -> None:
    customer = Scope(kind="tenant_user", tenant_id=world.tenant.pk, role="admin")
    with pytest.raises(NotFound):
        withdrawal_impact(scope=customer, version=answered)


def test_r7_withdraw_page_shows_the_counts(client, answered) -> None:
    other_publisher = make_staff("publisher")  # not the one who scheduled it (four eyes)
    client.force_login(other_publisher)
    response = client.get(reverse("console:version-withdraw", args=[answered.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="impact-tenants"><strong>3</strong>社' in body
    assert "最新の回答が同意 2社 · 拒否 1社" in body
    assert 'data-testid="impact-answers"><strong>3</strong>件' in body
    assert "同意 2件 · 拒否 1件" in body
    assert 'data-testid="impact-cases"><strong>1</strong>件' in body
    assert 'data-testid="impact-changed"' not in body


def test_r7_the_person_who_scheduled_is_told_up_front_they_cannot_withdraw(
    client, answered, publisher
) -> None:
    """Four eyes: the scheduler sees why on the version page (no 撤回 link that leads to a
    refusal after a reason is typed), and the withdraw page offers no form; the service still
    refuses a POST."""
    client.force_login(publisher)  # scheduled `answered` (post_revision)
    detail = client.get(reverse("console:version-detail", args=[answered.pk])).content.decode()
    withdraw_url = reverse("console:version-withdraw", args=[answered.pk])
    assert f'href="{withdraw_url}"' not in detail
    assert 'data-testid="withdraw-disabled"' in detail
    assert 'data-testid="withdraw-by-other"' in detail
    assert "予定登録したのはあなたのため、撤回はできません" in detail
    page = client.get(withdraw_url).content.decode()
    assert 'data-testid="withdraw-by-other"' in page
    assert 'name="reason"' not in page
    refused = client.post(withdraw_url, {"reason": "誤記のため"})
    assert "予定登録した本人は撤回できません" in refused.content.decode()
    answered.refresh_from_db()
    assert answered.status == "scheduled"


def test_r7_another_publisher_is_offered_the_withdrawal(client, answered) -> None:
    client.force_login(make_staff("publisher"))
    detail = client.get(reverse("console:version-detail", args=[answered.pk])).content.decode()
    withdraw_url = reverse("console:version-withdraw", args=[answered.pk])
    assert f'href="{withdraw_url}"' in detail
    assert 'data-testid="withdraw-by-other"' not in detail
    assert 'name="reason"' in client.get(withdraw_url).content.decode()


def test_r7_withdraw_page_labels_tenants_answers_and_cases_apart(client, answered, world) -> None:
    """A tenant that changed its answer: 3 tenants (by their latest answer, adding up), 4
    answers (ledger rows), 0 live cases, each number with its unit; the page says why the
    answers outnumber the tenants. In English too."""
    consent_answer(scope=Scope.system(), tenant=world.tenant, version=answered, answer="accepted")
    client.force_login(make_staff("publisher"))
    url = reverse("console:version-withdraw", args=[answered.pk])
    body = client.get(url).content.decode()
    assert 'data-testid="impact-tenants"><strong>3</strong>社' in body
    assert "最新の回答が同意 3社 · 拒否 0社" in body
    assert 'data-testid="impact-answers"><strong>4</strong>件' in body
    assert "同意 3件 · 拒否 1件" in body
    assert 'data-testid="impact-changed"' in body
    assert 'data-testid="impact-cases"><strong>0</strong>件' in body
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="impact-tenants"><strong>3</strong> tenants' in english
    assert "latest answer: accepted 3 · rejected 0" in english
    assert 'data-testid="impact-answers"><strong>4</strong> answers' in english
    assert 'data-testid="impact-cases"><strong>0</strong> cases' in english
