from __future__ import annotations

from django.urls import path

from .views import (
    AddressChangeCreateApi,
    CandidateSearchApi,
    CodeRequestListApi,
    CopyCreateApi,
    CopyDetailApi,
    ExchangeRecordListApi,
    InquiryCreateApi,
    InquiryDetailApi,
    MovedResidentListApi,
    PersonDetailApi,
    PersonLookupApi,
    PersonMergeApi,
    PersonSearchApi,
    PersonUnmergeApi,
)

urlpatterns = [
    path("address-changes", AddressChangeCreateApi.as_view(), name="api-address-changes"),
    path("copies", CopyCreateApi.as_view(), name="api-copies"),
    path("copies/<str:copy_id>", CopyDetailApi.as_view(), name="api-copy-detail"),
    path("inquiries", InquiryCreateApi.as_view(), name="api-inquiries"),
    path("inquiries/<str:inquiry_id>", InquiryDetailApi.as_view(), name="api-inquiry-detail"),
    path("exchange-records", ExchangeRecordListApi.as_view(), name="api-exchange-records"),
    path("candidates", CandidateSearchApi.as_view(), name="api-candidates"),
    path("persons", PersonSearchApi.as_view(), name="api-person-search"),
    path("persons/lookup", PersonLookupApi.as_view(), name="api-person-lookup"),
    path(
        "persons/<str:integrated_number>/merges",
        PersonMergeApi.as_view(),
        name="api-person-merges",
    ),
    path(
        "persons/<str:integrated_number>/merges/<str:merged_integrated_number>",
        PersonUnmergeApi.as_view(),
        name="api-person-unmerge",
    ),
    path("persons/<str:integrated_number>", PersonDetailApi.as_view(), name="api-person-detail"),
    path("code-requests", CodeRequestListApi.as_view(), name="api-code-requests"),
    path("moved-residents", MovedResidentListApi.as_view(), name="api-moved-residents"),
]
