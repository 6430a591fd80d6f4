"""Each class of finding of the attack on the production settings, as a test that fails if
its fix is removed: numbers in access records and error answers, input that gave 500s or
poisoned later reads, bodies over the limit, CSV injection, forwarded headers."""

from __future__ import annotations

import datetime
import io
import json
import re
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.urls import reverse
from django.utils import timezone

from linkage.masking import NUMBER_SHAPED_GIVEN
from linkage.models import AccessRecord, AddressVersion, Person
from tests.conftest import bearer, linkage_table_counts, post_change
from tests.factories import KeyedClient, address_change_body
from tests.residents import current_seq, register, signed_in

NUMBER = "983205673214"
# The number as a clerk may type or paste it.
WRITTEN = [
    NUMBER,
    "９８３２０５６７３２１４",
    "9832 0567 3214",
    "9832-0567-3214",
    "９８３２　０５６７　３２１４",
]


def digits_of(text: str) -> str:
    return "".join(c for c in text if c.isdigit()).translate(
        str.maketrans("０１２３４５６７８９", "0123456789")
    )


def holds_number(text: str) -> bool:
    """Whether the number appears in `text` in any written form."""
    return any(form in text for form in WRITTEN) or NUMBER in digits_of(text)


# --- 2. The access records never hold a number-shaped value --------------------------------


@pytest.mark.parametrize("written", WRITTEN)
@pytest.mark.parametrize("field", ["name", "address", "integrated_number", "address_number"])
def test_a_number_typed_into_any_search_field_is_recorded_as_given(
    clerk: Any, supervisor: Any, field: str, written: str
) -> None:
    params = {field: written}
    if field == "address_number":
        params["number_system"] = "01"
    signed_in(clerk).get(reverse("person_search"), params)
    bearer(clerk).get("/api/v1/persons", params)
    records = list(AccessRecord.objects.all())
    # The screen records every search, valid or not; the API its answered searches.
    assert len(records) >= 1
    for record in records:
        assert record.criteria[field] == NUMBER_SHAPED_GIVEN
        assert not holds_number(json.dumps(record.criteria, ensure_ascii=False))
    audit = signed_in(supervisor).get("/audit/").content.decode()
    assert not holds_number(audit.replace(" ", ""))


def test_a_number_in_a_query_key_or_the_path_is_not_recorded(clerk: Any) -> None:
    signed_in(clerk).get(reverse("person_search") + f"?{NUMBER}=1&q={NUMBER}")
    bearer(clerk).get(f"/api/v1/persons/{NUMBER}")  # not a staff endpoint: 401/404, recorded
    dump = json.dumps(list(AccessRecord.objects.values()), default=str, ensure_ascii=False)
    assert AccessRecord.objects.exists()
    assert not holds_number(dump)


def test_a_nul_in_a_search_is_refused_and_recorded(clerk: Any) -> None:
    response = signed_in(clerk).get(reverse("person_search"), {"name": "a\x00b"})
    assert response.status_code == 200
    record = AccessRecord.objects.get()
    assert record.outcome == "invalid"
    assert "\x00" not in record.criteria["name"]


# --- 3. Error answers repeat nothing that was sent ----------------------------------------


@pytest.mark.parametrize("where", ["top", "person", "business"])
def test_an_unknown_key_named_like_a_number_is_not_repeated(jyuki: KeyedClient, where: str) -> None:
    body = address_change_body(number_system="01")
    body["business"] = {"data_type": "household"}
    target = body if where == "top" else body[where]
    target["９８３２-０５６７-３２１４"] = "x"
    target[NUMBER] = 1
    response = post_change(jyuki, body)
    assert response.status_code == 400
    prefix = "" if where == "top" else f"{where}."
    assert {"field": f"{prefix}*", "code": "unknown_field"} in [
        {"field": e["field"], "code": e["code"]} for e in response.json()["errors"]
    ]
    assert not holds_number(response.content.decode())


def test_a_plain_misspelt_field_is_still_named(jyuki: KeyedClient) -> None:
    response = post_change(jyuki, {**address_change_body(number_system="01"), "nmae": "x"})
    assert response.status_code == 400
    assert "nmae" in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/persons", "sex"),
        ("/api/v1/persons", "ordering"),
        ("/api/v1/code-requests", "status"),
        ("/api/v1/code-requests", "stage"),
        ("/persons/", "sex"),
        ("/persons/", "ordering"),
        ("/audit/", "action"),
        ("/audit/", "outcome"),
    ],
)
@pytest.mark.parametrize("written", [NUMBER, "9832 0567 3214"])
def test_a_choice_error_does_not_repeat_the_value(
    supervisor: Any, path: str, parameter: str, written: str
) -> None:
    if path.startswith("/api/"):
        answer = bearer(supervisor).get(path, {parameter: written, "name": "やまだ"})
        assert answer.status_code == 400
        assert not holds_number(answer.content.decode())
        return
    response = signed_in(supervisor).get(path, {parameter: written, "name": "やまだ"})
    assert response.status_code in (200, 400)
    # The form shows back what was typed in its own input; nothing else may carry it.
    page = re.sub(r'value="[^"]*"', "", response.content.decode())
    assert not holds_number(page)


# --- 5. Date-times out of range ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2026-04-01T09:00:00+16:00",
        "2026-04-01T09:00:00-18:30",
        "2026-04-01T09:00:00+23:59",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1867-12-31T23:59:59+09:00",
        "2999-01-01T00:00:00+09:00",
    ],
)
@pytest.mark.parametrize("field", ["changed_at", "business.confirmed_at"])
def test_a_moment_out_of_range_is_400_and_stores_nothing(
    jyuki: KeyedClient, field: str, value: str
) -> None:
    body = address_change_body(number_system="01")
    if field == "changed_at":
        body["changed_at"] = value
    else:
        body["business"] = {"data_type": "household", "confirmed_at": value}
    before = linkage_table_counts()
    response = post_change(jyuki, body)
    assert response.status_code == 400, response.content
    assert {"field": field, "code": "out_of_range"} in [
        {"field": e["field"], "code": e["code"]} for e in response.json()["errors"]
    ]
    assert linkage_table_counts() == before


def test_the_edges_of_the_range_are_accepted_and_read_back(jyuki: KeyedClient, clerk: Any) -> None:
    soon = (timezone.now() + datetime.timedelta(hours=23)).astimezone(
        datetime.timezone(datetime.timedelta(hours=14))
    )
    body = address_change_body(
        number_system="01",
        changed_at=soon.isoformat(),
        business={"data_type": "household", "confirmed_at": "1868-01-01T00:00:00+09:00"},
    )
    response = post_change(jyuki, body)
    assert response.status_code == 201
    number = response.json()["integrated_number"]
    from tests.conftest import api_for

    assert api_for(jyuki).get(f"/api/v1/persons/{number}").status_code == 200
    assert signed_in(clerk).get(reverse("person", args=[number])).status_code == 200


# --- 6. Lone surrogates in keys ------------------------------------------------------------


@pytest.mark.parametrize("where", ["top", "person", "business", "business.items"])
def test_a_lone_surrogate_in_a_key_is_400(jyuki: KeyedClient, where: str) -> None:
    body = address_change_body(number_system="01")
    body["business"] = {"data_type": "household", "items": {}}
    target = {"top": body, "person": body["person"], "business": body["business"]}.get(
        where, body["business"]["items"]
    )
    target["\ud800"] = 1
    raw = json.dumps(body).encode()  # ASCII-escaped: the only way to write a lone surrogate
    before = linkage_table_counts()
    from tests.conftest import api_for

    response = api_for(jyuki).post("/api/v1/address-changes", raw, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    response.content.decode("utf-8")  # the answer itself is valid UTF-8
    assert linkage_table_counts() == before


# --- 7. Characters NFKC expands --------------------------------------------------------------


@pytest.mark.parametrize("character", ["㍿", "ß", "ﷺ", "㌀"])
def test_text_that_nfkc_expands_is_stored_and_found(
    jyuki: KeyedClient, supervisor: Any, character: str
) -> None:
    body = address_change_body(number_system="01")
    body["person"]["name"] = character * 100
    body["person"]["address"] = "横浜市" + character * 197
    response = post_change(jyuki, body)
    assert response.status_code == 201, response.content
    number = response.json()["integrated_number"]
    browser = signed_in(supervisor)
    found = browser.get(reverse("person_search"), {"name": character * 3})
    assert found.status_code == 200 and number in found.content.decode()
    corrected = browser.post(
        reverse("person_correction", args=[number]),
        {
            "name": character * 100,
            "name_kana": "",
            "birth_date": body["person"]["birth_date"],
            "sex": body["person"]["sex"],
            "address": character * 200,
            "reason": "テスト",
            "based_on": current_seq(number),
            "step": "confirm",
        },
    )
    assert corrected.status_code == 302
    assert AddressVersion.objects.filter(person__integrated_number=number).count() == 2


# --- 8. Far-future periods -------------------------------------------------------------------


def test_far_periods_are_400_on_screen_and_in_the_api(supervisor: Any) -> None:
    api = bearer(supervisor).get(
        "/api/v1/moved-residents", {"from": "9999-01-01", "to": "9999-12-31"}
    )
    assert api.status_code == 400
    assert api.json()["errors"][0]["code"] == "out_of_range"
    screen = signed_in(supervisor).get(
        reverse("changed_residents"), {"date_from": "9999-12-30", "date_to": "9999-12-31"}
    )
    assert screen.status_code == 400
    export = signed_in(supervisor).get(
        reverse("changed_resident_export"),
        {"date_from": "0001-01-01", "date_to": "9999-12-31", "encoding": "utf-8"},
    )
    assert export.status_code == 302  # back to the form, with the error
    for params in ({"birth_date": "9999-12-31"}, {"birth_date_from": "0001-01-01"}):
        assert signed_in(supervisor).get(reverse("person_search"), params).status_code == 200
    records = signed_in(supervisor).get("/audit/", {"date_from": "9999-12-31"})
    assert records.status_code == 400
    changed = bearer(supervisor).get(
        "/api/v1/code-requests", {"changed_from": "0001-01-01T00:00:00+14:00"}
    )
    assert changed.status_code == 400


# --- 9. Bodies over the limit --------------------------------------------------------------


class CountingInput(io.BytesIO):
    """wsgi.input that counts what was read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.read_bytes += len(line)
        return line


def wsgi_post(
    path: str, body: bytes, key: str, *, chunked: bool
) -> tuple[int, dict[str, str], bytes, int]:
    """The full Django stack (every middleware) as gunicorn calls it."""
    source = CountingInput(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "CONTENT_TYPE": "application/json",
        "HTTP_AUTHORIZATION": f"Token {key}",
        "wsgi.input": source,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(headers)
        return None

    content = b"".join(WSGIHandler()(environ, start_response))
    return answer["status"], answer["headers"], content, source.read_bytes


def test_a_large_body_is_413_problem_json_without_being_read(
    transactional_db: None, jyuki: KeyedClient
) -> None:
    for size in (64 * 1024 + 1, 3 * 1024 * 1024):
        status, headers, content, read = wsgi_post(
            "/api/v1/address-changes", b"{" + b" " * (size - 2) + b"}", jyuki.key, chunked=False
        )
        assert status == 413
        assert headers["Content-Type"] == "application/problem+json"
        assert json.loads(content)["errors"][0]["code"] == "body_too_large"
        assert read == 0


def test_a_chunked_body_is_read_to_the_limit_and_no_further(
    transactional_db: None, jyuki: KeyedClient
) -> None:
    status, headers, _, read = wsgi_post(
        "/api/v1/address-changes", b"[" + b"1," * 600_000 + b"1]", jyuki.key, chunked=True
    )
    assert status == 413 and headers["Content-Type"] == "application/problem+json"
    assert read <= 64 * 1024 + 1
    body = json.dumps(address_change_body(number_system="01")).encode()
    status, _, content, _ = wsgi_post("/api/v1/address-changes", body, jyuki.key, chunked=True)
    assert status == 201, content
    assert Person.objects.count() == 1


# --- 15. CSV injection -----------------------------------------------------------------------


def test_formula_cells_are_neutralised_in_the_export(jyuki: KeyedClient, supervisor: Any) -> None:
    register(jyuki, name='=HYPERLINK("http://evil.example","x")', address="+1-2 横浜市")
    register(jyuki, name="@SUM(1+1)", address="-3 横浜市")
    today = timezone.localdate().isoformat()
    for encoding in ("utf-8", "cp932"):
        response = signed_in(supervisor).get(
            reverse("changed_resident_export"),
            {"date_from": today, "date_to": today, "encoding": encoding},
        )
        raw = response.getvalue()
        text = raw.decode("utf-8-sig" if encoding == "utf-8" else "cp932")
        assert "'=HYPERLINK" in text and "'@SUM(1+1)" in text
        assert "'+1-2 横浜市" in text and "'-3 横浜市" in text
        for line in text.splitlines()[1:]:
            for cell in line.split(",")[1:]:
                assert not cell.lstrip('"').startswith(("=", "+", "-", "@"))


# --- 11. Forwarded headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "trusted"), [("203.0.113.9", False), ("127.0.0.1", True), ("10.0.0.5", True)]
)
def test_forwarded_headers_are_believed_from_trusted_proxies_only(
    clerk: Any, settings: Any, remote: str, trusted: bool
) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    browser = signed_in(clerk)
    response = browser.get(
        reverse("person_search"),
        {"name": "やまだ"},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    if trusted:
        assert response.status_code == 200
        assert AccessRecord.objects.get().source_address == "198.51.100.7"
    else:
        assert response.status_code == 301  # not https: sent to https, the header ignored
        assert response["Location"].startswith("https://")


@pytest.mark.parametrize("written", WRITTEN)
def test_a_number_typed_as_a_user_name_is_not_recorded(db: None, written: str) -> None:
    from django.test import Client

    response = Client().post("/accounts/login/", {"username": written, "password": "x"})
    assert response.status_code == 200  # the form again, with its error
    record = AccessRecord.objects.get(action="sign_in_failed")
    assert record.username == NUMBER_SHAPED_GIVEN
