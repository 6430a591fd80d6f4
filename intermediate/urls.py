"""One prefix per simulated peer, as if each were its own server."""

from __future__ import annotations

from django.urls import include, path

from . import views

intermediate_server = [
    path("serial-number-requests", views.serial_number_requests),
    path("code-acquisition-files", views.code_acquisition_files),
    path("code-acquisition-files/<str:reception_number>", views.code_acquisition_file),
    path("codes", views.codes),
    path("code-status-inquiries", views.code_status_inquiries),
    path("copies", views.copies),
    path("inquiries", views.inquiries),
    path("provisions", views.provisions),
    path("exchange-records", views.exchange_records),
]
network = [
    path("serial-numbers", views.network_serial_numbers),
    path("resident-codes", views.network_resident_codes),
    path("inquiries", views.network_inquiries),
]

urlpatterns = [
    path("intermediate/", include(intermediate_server)),
    path("network/", include(network)),
    path("national/inquiries", views.national_inquiries),
    path("cs/forwards", views.cs_forwards),
    path("gateway/entries", views.gateway_entries),
]
