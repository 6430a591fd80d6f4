"""Online function 40's search on the clerk screen."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from linkage.models import Person
from tests.factories import KeyedClient
from tests.residents import Registered, change, register, signed_in

SEARCH = reverse("person_search")


def found(client: Any, **criteria: str) -> list[str]:
    """The integrated numbers listed for these criteria, in the order shown."""
    response = client.get(SEARCH, criteria)
    assert response.status_code == 200
    page = response.context["page"]
    return [version.person.integrated_number for version in page] if page else []


@pytest.fixture
def residents(jyuki: KeyedClient) -> dict[str, Registered]:
    return {
        "yamada": register(
            jyuki,
            name="山田 太郎",
            name_kana="ヤマダ タロウ",
            birth_date="1980-04-01",
            sex="1",
            address="横浜市中区日本大通1番地",
        ),
        "kyoko": register(
            jyuki,
            name="佐藤 京子",
            name_kana="サトウ キョウコ",
            birth_date="1992-12-24",
            sex="2",
            address="横浜市西区みなとみらい2丁目3番",
        ),
        "yamamoto": register(
            jyuki,
            name="山本 一",
            name_kana="ヤマモト ハジメ",
            birth_date="1980-04-01",
            sex="1",
            address="川崎市川崎区宮本町1番地",
        ),
    }


@pytest.mark.parametrize(
    ("typed", "who"),
    [
        ("やまだ", ["yamada"]),  # hiragana finds katakana
        ("ﾔﾏﾀﾞ", ["yamada"]),  # half-width katakana
        ("ヤマダタロウ", ["yamada"]),  # without the space the kana has
        ("山田　太郎", ["yamada"]),  # ideographic space, kanji
        ("きようこ", ["kyoko"]),  # small kana typed large: キョウコ
        ("タロ", ["yamada"]),  # partial, inside the given name
        ("山", ["yamada", "yamamoto"]),
        ("ヤマ", ["yamada", "yamamoto"]),
        ("鈴木", []),
    ],
)
def test_name_and_kana_match_whatever_the_width_kana_or_spaces(
    residents: dict[str, Registered], clerk: Any, typed: str, who: list[str]
) -> None:
    numbers = found(signed_in(clerk), name=typed)
    assert sorted(numbers) == sorted(residents[w].integrated_number for w in who)


def test_address_matches_partially_and_across_widths(
    residents: dict[str, Registered], clerk: Any
) -> None:
    client = signed_in(clerk)
    assert found(client, address="ﾐﾅﾄﾐﾗｲ") == [residents["kyoko"].integrated_number]
    assert sorted(found(client, address="横浜市")) == sorted(
        [residents["yamada"].integrated_number, residents["kyoko"].integrated_number]
    )
    assert found(client, address="宮本町１番地") == [residents["yamamoto"].integrated_number]


IVS = "\U000e0100"  # an ideographic variation selector: which drawing of the letter before it


def test_a_name_sent_with_an_ivs_is_found_as_typed_without_it_and_the_other_way(
    residents: dict[str, Registered], jyuki: KeyedClient, clerk: Any
) -> None:
    """The standard's character set (行政事務標準文字) sends some letters with an IVS; a clerk
    types the letter plain, or pastes it with the selector from another system."""
    drawn = register(
        jyuki,
        name=f"葛{IVS}西 花子",
        name_kana="カサイ ハナコ",
        birth_date="1975-05-05",
        sex="2",
        address=f"東京都葛{IVS}飾区立石5丁目",
    )
    client = signed_in(clerk)
    assert found(client, name="葛西") == [drawn.integrated_number]
    assert found(client, address="葛飾区立石") == [drawn.integrated_number]
    assert found(client, name=f"山{IVS}田") == [residents["yamada"].integrated_number]
    response = client.get(SEARCH, {"name": "葛西"})
    assert f"葛{IVS}西".encode() in response.content  # shown as it was sent


def test_birth_date_exact_and_range_and_sex(residents: dict[str, Registered], clerk: Any) -> None:
    client = signed_in(clerk)
    both = sorted([residents["yamada"].integrated_number, residents["yamamoto"].integrated_number])
    assert sorted(found(client, birth_date="1980-04-01")) == both
    assert found(client, birth_date_from="1990-01-01", birth_date_to="1999-12-31") == [
        residents["kyoko"].integrated_number
    ]
    assert found(client, sex="2") == [residents["kyoko"].integrated_number]
    assert sorted(found(client, sex="1", birth_date="1980-04-01")) == both


@pytest.mark.parametrize("typed", ["S55.4.1", "昭和55年4月1日", "１９８０／４／１", "19800401"])
def test_birth_date_is_taken_as_clerks_type_it(
    residents: dict[str, Registered], clerk: Any, typed: str
) -> None:
    client = signed_in(clerk)
    both = sorted([residents["yamada"].integrated_number, residents["yamamoto"].integrated_number])
    assert sorted(found(client, birth_date=typed)) == both
    assert found(client, birth_date_from="H2.1.1", birth_date_to="平成11年12月31日") == [
        residents["kyoko"].integrated_number
    ]


def test_number_system_is_a_choice_of_the_configured_systems_and_sex_defaults_to_any(
    clerk: Any,
) -> None:
    page = signed_in(clerk).get(SEARCH).content.decode()
    assert '<option value="01">01 住基</option>' in page
    assert '<option value="04">04 福祉</option>' in page
    assert "---------" not in page
    assert page.count('<option value="" selected>指定なし</option>') == 2  # 番号体系 and 性別


def test_the_individual_number_is_taken_as_the_card_prints_it(
    residents: dict[str, Registered], clerk: Any
) -> None:
    number = residents["kyoko"].individual_number
    for typed in (
        f"{number[:4]} {number[4:8]} {number[8:]}",
        f"{number[:4]}-{number[4:8]}-{number[8:]}",
        f"{number[:4]}　{number[4:8]}　{number[8:]}",
    ):
        response = signed_in(clerk).post(
            reverse("person_search_by_number"), {"individual_number": typed}
        )
        assert response.status_code == 302, typed
        assert response["Location"] == reverse(
            "person", args=[residents["kyoko"].integrated_number]
        )


def test_integrated_number_and_address_number_are_exact(
    residents: dict[str, Registered], clerk: Any, tax: KeyedClient
) -> None:
    client = signed_in(clerk)
    kyoko = residents["kyoko"]
    assert found(client, integrated_number=kyoko.integrated_number) == [kyoko.integrated_number]
    assert found(client, number_system="01", address_number=kyoko.address_number) == [
        kyoko.integrated_number
    ]
    # The same address number in another number system is another resident's, or nobody's.
    assert found(client, number_system="02", address_number=kyoko.address_number) == []
    change(tax, kyoko, address_number="777")
    assert found(client, number_system="02", address_number="777") == [kyoko.integrated_number]


def test_search_sees_the_current_version_only(
    residents: dict[str, Registered], clerk: Any, jyuki: KeyedClient
) -> None:
    yamada = residents["yamada"]
    change(jyuki, yamada, name="田中 太郎", name_kana="タナカ タロウ")
    client = signed_in(clerk)
    assert found(client, name="たなか") == [yamada.integrated_number]
    assert found(client, name="やまだ") == []


def test_results_sort_by_the_chosen_column_both_ways(
    residents: dict[str, Registered], clerk: Any
) -> None:
    client = signed_in(clerk)
    kana_order = ["kyoko", "yamada", "yamamoto"]  # サトウ < ヤマダ < ヤマモト
    by_kana = [residents[w].integrated_number for w in kana_order]
    assert found(client, address="市", ordering="name_kana") == by_kana
    assert found(client, address="市", ordering="-name_kana") == by_kana[::-1]
    by_birth = found(client, address="市", ordering="birth_date")
    assert by_birth[-1] == residents["kyoko"].integrated_number
    numbers = sorted(by_kana)
    assert found(client, address="市") == numbers  # the default: integrated number
    assert found(client, address="市", ordering="integrated_number") == numbers
    assert found(client, address="市", ordering="-integrated_number") == numbers[::-1]


def test_pages_of_fifty(jyuki: KeyedClient, clerk: Any) -> None:
    for n in range(52):
        register(jyuki, address=f"横浜市青葉区{n}番地")
    client = signed_in(clerk)
    first = client.get(SEARCH, {"address": "青葉区"})
    second = client.get(SEARCH, {"address": "青葉区", "page": "2"})
    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 2
    assert "52 件中 1 / 2 ページ" in first.content.decode()
    shown = {v.pk for v in first.context["page"]} | {v.pk for v in second.context["page"]}
    assert len(shown) == 52
    # The pager keeps the criteria.
    assert "address=%E9%9D%92%E8%91%89%E5%8C%BA&amp;page=2" in first.content.decode()


def test_no_result_is_said_plainly(residents: dict[str, Registered], clerk: Any) -> None:
    response = signed_in(clerk).get(SEARCH, {"name": "存在しない名前"})
    assert "条件に一致する宛名はありません" in response.content.decode()


def test_a_search_needs_a_criterion_and_valid_values(clerk: Any) -> None:
    client = signed_in(clerk)
    untouched = client.get(SEARCH)
    assert untouched.context["page"] is None
    assert "条件を1つ以上入力して検索してください" in untouched.content.decode()
    for criteria, message in [
        ({"name": " "}, "検索条件を1つ以上入力してください"),
        ({"name": IVS}, "検索に使える文字がありません"),  # not every person
        ({"address": "\ufe0f"}, "検索に使える文字がありません"),
        ({"integrated_number": "123"}, "統合宛名番号は15桁の数字"),
        ({"birth_date": "2026-02-30"}, "存在しない日付です"),
        ({"birth_date": "21.3.1986"}, "西暦か和暦で入力してください（例: 1986-03-21、"),
        ({"birth_date": "平成31年5月1日"}, "令和元年5月1日"),
        ({"number_system": "01"}, "番号体系を選んだときは宛名番号を入力してください"),
        ({"address_number": "5"}, "宛名番号で検索するときは番号体系を選んでください"),
        ({"number_system": "1", "address_number": "5"}, "正しく選択してください"),
    ]:
        response = client.get(SEARCH, criteria)
        assert response.context["page"] is None, criteria
        assert message in response.content.decode(), criteria


def test_search_by_individual_number_is_a_post_and_opens_the_person(
    residents: dict[str, Registered], clerk: Any
) -> None:
    client = signed_in(clerk)
    kyoko = residents["kyoko"]
    response = client.post(
        reverse("person_search_by_number"), {"individual_number": kyoko.individual_number}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("person", args=[kyoko.integrated_number])
    assert kyoko.individual_number not in response["Location"]


def test_an_unknown_or_invalid_individual_number_is_said_and_not_shown_back(
    residents: dict[str, Registered], clerk: Any
) -> None:
    client = signed_in(clerk)
    unknown = "123456789018"  # a valid check digit, nobody's number
    response = client.post(reverse("person_search_by_number"), {"individual_number": unknown})
    body = response.content.decode()
    assert "この個人番号の宛名はありません" in body
    assert unknown not in body
    invalid = client.post(reverse("person_search_by_number"), {"individual_number": "123456789012"})
    assert invalid.status_code == 400
    assert "チェックデジット" in invalid.content.decode()
    assert "123456789012" not in invalid.content.decode()


def test_the_search_lists_in_a_fixed_number_of_queries(jyuki: KeyedClient, clerk: Any) -> None:
    """No N+1: a page of 3 results and a page of 40 take the same statements."""
    client = signed_in(clerk)
    counts = []
    for total in (3, 40):
        while Person.objects.count() < total:
            register(jyuki, address=f"藤沢市{Person.objects.count()}")
        with CaptureQueriesContext(connection) as captured:
            assert len(found(client, address="藤沢市")) == total
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1] <= 11, counts  # 4 (5 on PostgreSQL) write the access record
