from __future__ import annotations

from django.urls import path

from .views import AddressChangeCreateApi, CodeRequestListApi, PersonDetailApi

urlpatterns = [
    path("address-changes", AddressChangeCreateApi.as_view(), name="api-address-changes"),
    path("persons/<str:integrated_number>", PersonDetailApi.as_view(), name="api-person-detail"),
    path("code-requests", CodeRequestListApi.as_view(), name="api-code-requests"),
]
