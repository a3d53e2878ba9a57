"""Public URLs (mounted at the site root by terms_site/urls.py): /terms/…, /notices/… and
/ledger/checkpoints/."""

from __future__ import annotations

from django.urls import path

from web.public import checkpoints, views

app_name = "public"

urlpatterns = [
    path("terms/", views.terms_index, name="terms-index"),
    path("terms/<slug:product>/", views.terms_current, name="terms-current"),
    path("terms/<slug:product>/<slug:slug>/", views.terms_current, name="terms-document"),
    path(
        "terms/<slug:product>/<slug:slug>/versions/<int:pk>/",
        views.terms_version,
        name="terms-version",
    ),
    path(
        "terms/<slug:product>/<slug:slug>/versions/<int:pk>/pdf/",
        views.terms_version_pdf,
        name="terms-version-pdf",
    ),
    path("notices/", views.notice_list, name="notice-list"),
    path("notices/<int:pk>/", views.notice_detail, name="notice-detail"),
    path("ledger/checkpoints/", checkpoints.checkpoint_list, name="checkpoint-list"),
    path("ledger/checkpoints.json", checkpoints.checkpoint_list_json, name="checkpoint-list-json"),
]
