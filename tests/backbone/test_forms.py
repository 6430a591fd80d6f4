"""The clerk forms refuse what the API would refuse, with Japanese messages on the field,
and store and send nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from backbone.models import BusinessSystem
from tests.conftest import linkage_table_counts
from tests.factories import resident

from .conftest import register


def backbone_table_counts() -> dict[str, int]:
    return {
        model.__name__: model._default_manager.count()
        for model in apps.get_app_config("backbone").get_models()
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"individual_number": "123456789012"},
            "individual_number",
            "チェックデジットが一致しません",
        ),
        ({"individual_number": "12345"}, "individual_number", "12桁の数字"),
        ({"name_kana": "やまだ"}, "name_kana", "カタカナ"),
        ({"birth_date": "2999-01-01"}, "birth_date", "未来の日付"),
        ({"birth_date": "1850-01-01"}, "birth_date", "1868年1月1日より前"),
        ({"birth_date": "2026-02-30"}, "birth_date", "存在しない日付です"),
        ({"birth_date": "H1.1.7"}, "birth_date", "その元号にない日付です"),
        ({"name": "山田\u200b太郎"}, "name", "制御文字"),
        ({"name": ""}, "name", "この項目は必須です"),
        ({"sex": "5"}, "sex", "正しく選択してください"),
        ({"business-moved_out_on": "2019-01-01"}, "business-moved_out_on", "開始日より前"),
        ({"business-household_number": "A1"}, "business-household_number", "数字15桁以内"),
    ],
)
def test_bad_input_is_shown_on_the_field_and_nothing_is_stored(
    systems: dict[str, BusinessSystem],
    clerk: Client,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    before = (backbone_table_counts(), linkage_table_counts())

    page = register(clerk, "01", resident(), **overrides)

    assert page.status_code == 200
    form = page.context["business" if field.startswith("business-") else "form"]
    errors = " ".join(form.errors[field.removeprefix("business-")])
    assert message in errors
    assert (backbone_table_counts(), linkage_table_counts()) == before


def test_the_same_person_twice_in_one_system_is_refused(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    someone = resident()
    register(clerk, "01", someone)
    before = (backbone_table_counts(), linkage_table_counts())

    page = register(clerk, "01", someone)

    assert "宛名番号 1000000001 で登録済みです" in " ".join(
        page.context["form"].errors["individual_number"]
    )
    assert (backbone_table_counts(), linkage_table_counts()) == before


def test_full_width_digits_and_half_width_kana_are_accepted(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    import jaconv

    from .conftest import record_of

    someone = resident()
    register(
        clerk,
        "01",
        someone,
        individual_number=jaconv.h2z(someone.individual_number, digit=True),
        name_kana=jaconv.z2h(someone.name_kana, kana=True),
    )
    record = record_of("01", someone)
    assert record.name_kana == someone.name_kana  # stored full-width
    assert record.individual_number == someone.individual_number


def test_the_screens_need_a_signed_in_clerk(systems: dict[str, BusinessSystem]) -> None:
    anonymous = Client()
    for url in ("/backbone/", "/backbone/01/", "/backbone/01/new", "/backbone/01/1000000001/"):
        answer = anonymous.get(url)
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_the_screens_are_in_japanese_and_english(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    japanese = clerk.get("/backbone/01/new").content.decode()
    assert "住民の新規登録" in japanese and "個人番号" in japanese

    clerk.post("/i18n/setlang/", {"language": "en", "next": "/backbone/01/new"})
    english = clerk.get("/backbone/01/new").content.decode()
    assert "Register a resident" in english and "Individual number" in english
    errors = register(clerk, "01", resident(), individual_number="123456789012").context["form"]
    assert (
        "The check digit of the individual number does not match."
        in errors.errors["individual_number"]
    )


def test_the_individual_number_is_shown_masked(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    someone = resident()
    page = register(clerk, "01", someone).content.decode()
    assert someone.individual_number not in page
    assert "********" + someone.individual_number[-4:] in page


def test_lists_take_a_bounded_number_of_queries(
    systems: dict[str, BusinessSystem], clerk: Client, django_assert_max_num_queries: Any
) -> None:
    for _ in range(3):
        register(clerk, "01", resident())
    # Each includes the two reads of the clerk's permissions (the role check).
    with django_assert_max_num_queries(10):
        assert clerk.get("/backbone/01/").status_code == 200
    with django_assert_max_num_queries(14):
        assert clerk.get("/backbone/").status_code == 200
    from backbone.models import HouseholdRecord

    detail = f"/backbone/01/{HouseholdRecord.objects.earliest('pk').address_number}/"
    with django_assert_max_num_queries(8):
        assert clerk.get(detail).status_code == 200


def test_a_form_post_without_the_csrf_token_is_refused(
    systems: dict[str, BusinessSystem],
) -> None:
    from django.contrib.auth.models import User

    from .conftest import BUSINESS_FORM_DATA, person_form_data

    user = User.objects.create_user("csrf-clerk", password="clerk-pass-2026")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    before = (backbone_table_counts(), linkage_table_counts())

    answer = browser.post(
        "/backbone/01/new", {**person_form_data(resident()), **BUSINESS_FORM_DATA["01"]}
    )

    assert answer.status_code == 403
    assert (backbone_table_counts(), linkage_table_counts()) == before


def test_dates_in_japanese_eras_and_card_spaced_numbers_are_accepted(
    systems: dict[str, BusinessSystem], clerk: Client
) -> None:
    import datetime

    from backbone.models import HouseholdRecord

    from .conftest import record_of

    someone = resident()
    number = someone.individual_number
    register(
        clerk,
        "01",
        someone,
        individual_number=f"{number[:4]} {number[4:8]} {number[8:]}",
        birth_date="昭和61年3月21日",
        **{"business-moved_in_on": "R6.4.1"},
    )
    record = record_of("01", someone)
    assert record.birth_date == datetime.date(1986, 3, 21)
    assert isinstance(record, HouseholdRecord)
    assert record.moved_in_on == datetime.date(2024, 4, 1)
