"""Every model has an admin page that renders (Foundation 1: admin for every model)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from agreements.demo import demo_load
from core import clock

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

OUR_APPS = ("core", "tenants", "agreements")


def test_every_model_of_ours_is_registered() -> None:
    ours = {m for m in apps.get_models() if m._meta.app_label in OUR_APPS}
    missing = {m._meta.label for m in ours if m not in admin.site._registry}
    assert missing == set()


def test_admin_changelists_and_change_pages_render_over_the_demo(admin_client) -> None:
    # One demo for every model: loading it is the expensive part.
    demo_load(as_of=clock.today())
    failures = {}
    for model in [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]:
        info = (model._meta.app_label, model._meta.model_name)
        response = admin_client.get(reverse(f"admin:{info[0]}_{info[1]}_changelist"))
        if response.status_code != 200:
            failures[model._meta.label] = response.status_code
            continue
        obj = model.objects.order_by("pk").first()
        if obj is not None:
            response = admin_client.get(reverse(f"admin:{info[0]}_{info[1]}_change", args=[obj.pk]))
            if response.status_code != 200:
                failures[f"{model._meta.label} #{obj.pk}"] = response.status_code
    assert failures == {}


def test_sandbox_rows_are_marked_and_listed_only_on_asking(admin_client) -> None:
    """docs/api.md, "Sandbox": the admin lists show live data unless the "live / sandbox"
    filter asks for a sandbox's rows (or all); a column marks them; their pages stay open."""
    from tests.factories.contracts import idplus_product, make_contract
    from tests.factories.tenants import PartnerFactory, TenantFactory

    live = PartnerFactory(name="本番パートナー")
    sandbox = PartnerFactory(name="砂場パートナー", sandbox_of=live, sandbox_now=clock.now())
    TenantFactory(partner=live, name="本番商事")
    sandbox_tenant = TenantFactory(partner=sandbox, name="砂場商事")
    TenantFactory(partner=None, name="直販商事")
    make_contract(tenant=sandbox_tenant, product=idplus_product())
    url = reverse("admin:tenants_tenant_changelist")

    def names(query: str) -> set[str]:
        page = admin_client.get(url + query)
        assert page.status_code == 200
        text = page.content.decode()
        return {n for n in ("本番商事", "砂場商事", "直販商事") if n in text}

    assert names("") == {"本番商事", "直販商事"}
    assert names("?data=live") == {"本番商事", "直販商事"}
    assert names("?data=sandbox") == {"砂場商事"}
    assert names("?data=all") == {"本番商事", "砂場商事", "直販商事"}
    page = admin_client.get(url + "?data=all").content.decode()
    assert "column-sandbox_mark" in page
    assert (
        admin_client.get(
            reverse("admin:tenants_tenant_change", args=[sandbox_tenant.pk])
        ).status_code
        == 200
    )
    # Rows reached through their tenant or product are marked the same way.
    contracts = reverse("admin:agreements_contract_changelist")
    assert "砂場商事" not in admin_client.get(contracts).content.decode()
    assert "砂場商事" in admin_client.get(contracts + "?data=sandbox").content.decode()
    partners = admin_client.get(reverse("admin:tenants_partner_changelist")).content.decode()
    assert ("本番パートナー" in partners, "砂場パートナー" in partners) == (True, False)
