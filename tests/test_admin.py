"""Every model has an admin page that renders (Foundation 1: admin for every model)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from agreements.demo import demo_load
from terms_site import clock

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

OUR_APPS = ("core", "tenants", "agreements")


def test_every_model_of_ours_is_registered() -> None:
    ours = {m for m in apps.get_models() if m._meta.app_label in OUR_APPS}
    missing = {m._meta.label for m in ours if m not in admin.site._registry}
    assert missing == set()


@pytest.mark.parametrize(
    "model",
    [m for m in apps.get_models() if m._meta.app_label in OUR_APPS],
    ids=lambda m: m._meta.label,
)
def test_admin_changelist_renders(admin_client, model) -> None:
    demo_load(as_of=clock.today())
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200
