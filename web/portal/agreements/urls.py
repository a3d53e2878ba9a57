"""The customer portal at /portal/: one namespace ("portal") over both apps' portal pages."""

from __future__ import annotations

from django.urls import path

from web.portal.agreements import views
from web.portal.tenants.urls import urlpatterns as tenants_patterns

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("changes/<int:pk>/", views.review, name="review"),
    path("changes/<int:pk>/answer/", views.answer, name="answer"),
    path("contracts/", views.contract_list, name="contracts"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract"),
    path("contracts/<int:pk>/non-renewal/", views.non_renewal, name="non-renewal"),
    path(
        "contracts/<int:pk>/non-renewal/withdraw/",
        views.non_renewal_withdraw,
        name="non-renewal-withdraw",
    ),
    path("contracts/<int:pk>/termination/", views.termination, name="termination"),
    path("contracts/<int:pk>/deletion/", views.deletion, name="deletion"),
    path("receipts/", views.receipt_list, name="receipts"),
    path("receipts/<int:pk>/", views.receipt_detail, name="receipt"),
    path("receipts/<int:pk>/pdf/", views.receipt_download, name="receipt-pdf"),
    *tenants_patterns,
]
