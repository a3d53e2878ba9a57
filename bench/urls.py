"""The product's URLs plus the bench baselines under /bench/ (bench settings only)."""

from __future__ import annotations

from django.urls import path

from bench import views
from terms_site import urls as product_urls

urlpatterns = [
    path("bench/insert/<int:tenant_id>/", views.BareInsertApi.as_view(), name="bench-insert"),
    path("bench/lookup/<int:tenant_id>/", views.BareLookupApi.as_view(), name="bench-lookup"),
    path("bench/floor/<int:tenant_id>/", views.AnswerFloorApi.as_view(), name="bench-floor"),
    *product_urls.urlpatterns,
]
handler404 = product_urls.handler404
