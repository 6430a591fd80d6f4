from __future__ import annotations

from django.urls import path, register_converter

from primitives.converters import AddressNumberConverter, NumberSystemConverter

from . import views

register_converter(NumberSystemConverter, "ns")
register_converter(AddressNumberConverter, "digits")

app_name = "backbone"
urlpatterns = [
    path("", views.system_list, name="systems"),
    path("<ns:number_system>/", views.resident_list, name="residents"),
    path("<ns:number_system>/new", views.resident_new, name="resident_new"),
    path("<ns:number_system>/notices", views.notices, name="notices"),
    path("<ns:number_system>/<digits:address_number>/", views.resident_detail, name="resident"),
    path(
        "<ns:number_system>/<digits:address_number>/exchange",
        views.resident_exchange,
        name="resident_exchange",
    ),
    path(
        "<ns:number_system>/<digits:address_number>/resend",
        views.resident_resend,
        name="resident_resend",
    ),
]
