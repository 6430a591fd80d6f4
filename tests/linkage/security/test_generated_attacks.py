"""Generated hostile requests (hypothesis): an individual number, in any written form, put
anywhere in a request (a key or a value, at any depth, in a body or a query) is never
answered 5xx, never repeated in the answer and never kept in an access record."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage.models import AccessRecord
from primitives.numbers import individual_number_complete
from tests.conftest import ADDRESS_CHANGES_URL, api_for, bearer
from tests.factories import KeyedClient, address_change_body
from tests.residents import signed_in

pytestmark = pytest.mark.django_db

GENERATED = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@st.composite
def written_numbers(draw: Any) -> tuple[str, str]:
    """(the number, as written): plain, full-width, grouped by spaces or hyphens."""
    number = individual_number_complete(draw(st.from_regex(r"[0-9]{11}", fullmatch=True)))
    separator = draw(st.sampled_from(["", " ", "-", "　", "－"]))
    grouped = separator.join((number[:4], number[4:8], number[8:]))
    written = grouped.translate(FULL_WIDTH) if draw(st.booleans()) else grouped
    return number, written


def carries(text: str, number: str, written: str = "") -> bool:
    """Whether `text` holds the number: as written, plain, or in any grouping of it."""
    if number in text or (written and written in text):
        return True
    for match in re.finditer(r"[0-9０-９][0-9０-９ 　\-－]{10,30}[0-9０-９]", text):
        digits = re.sub(r"[^0-9０-９]", "", match.group()).translate(
            str.maketrans("０１２３４５６７８９", "0123456789")
        )
        if number in digits:
            return True
    return False


def plant(body: Any, path: list[int], written: str, as_key: bool) -> Any:
    """`body` with `written` put at a place chosen by `path`: as a key or a value."""
    if isinstance(body, dict) and body and path:
        keys = sorted(body)
        key = keys[path[0] % len(keys)]
        return {**body, key: plant(body[key], path[1:], written, as_key)}
    if as_key:
        return {written: body} if not isinstance(body, dict) else {**body, written: "x"}
    return written


@given(
    written=written_numbers(),
    path=st.lists(st.integers(min_value=0, max_value=9), max_size=3),
    as_key=st.booleans(),
)
@GENERATED
def test_a_number_planted_in_an_address_change_is_never_repeated(
    jyuki: KeyedClient, written: tuple[str, str], path: list[int], as_key: bool
) -> None:
    number, text = written
    body = plant(address_change_body(number_system="01"), path, text, as_key)
    answer = api_for(jyuki).generic(
        "POST",
        ADDRESS_CHANGES_URL,
        json.dumps(body).encode(),  # type: ignore[arg-type]
        content_type="application/json",
    )
    assert answer.status_code < 500
    if answer.status_code >= 400:
        assert not carries(answer.content.decode(), number, text)


@given(
    written=written_numbers(),
    parameter=st.sampled_from(
        [
            "name",
            "address",
            "integrated_number",
            "number_system",
            "address_number",
            "sex",
            "ordering",
            "birth_date",
            "birth_date_from",
            "page",
            "q",
        ]
    ),
    screen=st.booleans(),
)
@GENERATED
def test_a_number_in_any_search_parameter_is_never_repeated_or_recorded(
    clerk: Any, written: tuple[str, str], parameter: str, screen: bool
) -> None:
    number, text = written
    before = AccessRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if screen:
        page = signed_in(clerk).get("/persons/", {parameter: text, "name": "やま"})
        assert page.status_code in (200, 400)
    else:
        answer = bearer(clerk).get("/api/v1/persons", {parameter: text, "name": "やま"})
        assert answer.status_code in (200, 400, 404)
        assert not carries(answer.content.decode(), number, text)
    new = AccessRecord.objects.filter(pk__gt=before)
    assert new.exists() or not screen  # the screen records every search, valid or not
    # The chain's digests are hex and may hold any digit run: they are no value given.
    recorded = json.dumps(
        list(
            new.values(*(f.name for f in AccessRecord._meta.fields if not f.name.endswith("hash")))
        ),
        default=str,
        ensure_ascii=False,
    )
    assert not carries(recorded, number, text)
