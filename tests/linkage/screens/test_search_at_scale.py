"""What keeps the search fast on a million persons (bench/search.py measures it): the count
that stops at a cap, and two-character queries served by the doubled-key index."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from linkage.filters import PersonSearchFilter
from linkage.paging import CappedPaginator
from linkage.selectors import persons_current
from tests.conftest import bearer
from tests.factories import KeyedClient
from tests.residents import register, signed_in

KANA = st.text(alphabet="アイウエオカキヤマダ山田", max_size=12)


def doubled(text: str) -> str:
    return "".join(character * 2 for character in text)


@given(KANA, st.text(alphabet="アイウエオカキヤマダ山田", min_size=2, max_size=2))
def test_a_doubled_text_holds_a_doubled_pair_exactly_when_the_text_holds_the_pair(
    text: str, pair: str
) -> None:
    """The claim linkage.filters.Doubled rests on, including odd offsets (アア in ア…)."""
    assert (doubled(pair) in doubled(text)) == (pair in text)


@pytest.fixture
def four_yamadas(jyuki: KeyedClient) -> None:
    for given_name in ("太郎", "花子", "一郎", "次郎"):
        register(jyuki, name=f"山田 {given_name}", name_kana="ヤマダ タロウ")
    register(jyuki, name="田中 一", name_kana="タナカ ハジメ")


def test_past_the_cap_the_count_stops_and_the_clerk_is_told(
    four_yamadas: None, clerk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    response = signed_in(clerk).get(reverse("person_search"), {"name": "山田"})
    page = response.context["page"]
    assert page.paginator.count == 4 and page.paginator.capped
    assert len(page) == 4  # the rows shown are not cut, only the count
    body = response.content.decode()
    assert "3 件以上 1 / 1 ページ" in body
    assert "一致する宛名が多すぎます" in body
    exact = signed_in(clerk).get(reverse("person_search"), {"name": "田中"})
    assert exact.context["page"].paginator.count == 1
    assert "一致する宛名が多すぎます" not in exact.content.decode()


def test_the_api_says_when_its_count_is_capped(
    four_yamadas: None, clerk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    capped = bearer(clerk).get("/api/v1/persons", {"name": "やまだ"}).json()
    assert (capped["count"], capped["count_capped"], len(capped["results"])) == (4, True, 4)
    exact = bearer(clerk).get("/api/v1/persons", {"name": "たなか"}).json()
    assert (exact["count"], exact["count_capped"]) == (1, False)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's"
)
@pytest.mark.parametrize(
    ("criteria", "index"),
    [
        ({"name": "山田"}, "version_name_key_doubled_trgm"),
        ({"address": "中区"}, "version_address_key_doubled_trgm"),
    ],
)
def test_a_two_character_query_is_the_expression_its_index_holds(
    db: None, criteria: dict[str, str], index: str
) -> None:
    """An expression index serves only the very expression it was built on: a query that
    spelt it otherwise would scan every person, silently (bench/search.py measured 270 ms)."""
    filterset = PersonSearchFilter(criteria, queryset=persons_current())
    assert filterset.is_valid()
    sql, params = filterset.qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [index])
        (definition,) = cursor.fetchone()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    searched = re.search(r"\((regexp_replace\(.*?\)) ~~ '%", plan)
    assert searched is not None, plan
    assert f"gin ({searched.group(1)} gin_trgm_ops) WHERE is_current" in definition
