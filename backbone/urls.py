from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("jyuki/serial-numbers", views.jyuki_serial_numbers),
]
