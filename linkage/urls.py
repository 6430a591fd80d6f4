"""The clerks' screens."""

from __future__ import annotations

from django.urls import path, register_converter

from primitives.converters import IntegratedNumberConverter

from . import review, views

register_converter(IntegratedNumberConverter, "integrated")

urlpatterns = [
    path("", views.dashboard, name="home"),
    path("persons/", views.person_search, name="person_search"),
    path(
        "persons/by-individual-number",
        views.person_search_by_number,
        name="person_search_by_number",
    ),
    path("persons/<integrated:integrated_number>/", views.person, name="person"),
    path(
        "persons/<integrated:integrated_number>/exchange-records/",
        views.person_exchange_records,
        name="person_exchange_records",
    ),
    path(
        "persons/<integrated:integrated_number>/reveal",
        views.person_reveal,
        name="person_reveal",
    ),
    path(
        "persons/<integrated:integrated_number>/correct",
        views.person_correction,
        name="person_correction",
    ),
    path("changed-residents/", views.changed_resident_list, name="changed_residents"),
    path("changed-residents/export", views.changed_resident_export, name="changed_resident_export"),
    path("code-requests/errors/", views.code_request_errors, name="code_request_errors"),
    path("exchange/waiting/", views.exchange_waiting, name="exchange_waiting"),
    path("candidates/", review.candidate_search, name="candidate_search"),
    path("review/", review.review_list, name="review_list"),
    path("review/<int:item_id>/act", review.review_act, name="review_act"),
    path("audit/", views.access_records, name="access_records"),
    path(
        "code-requests/errors/retry",
        views.code_request_errors_retry,
        name="code_request_errors_retry",
    ),
]
