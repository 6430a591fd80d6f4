"""A JSON endpoint that parses the body and answers, touching no database."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body)
    return JsonResponse({"result": "ok", "event_id": body.get("event_id")}, status=201)


urlpatterns = [path("api/v1/address-changes", bare)]
