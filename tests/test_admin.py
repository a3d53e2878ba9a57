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
