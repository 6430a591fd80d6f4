"""The changed-resident list as CSV or .xlsx (list creation 41), for Excel users.

Names and addresses that would start a formula are neutralised (CSV injection, OWASP).

UTF-8 with a byte order mark (Excel reads it as UTF-8 only with the BOM), streamed. Or
Shift_JIS as Windows writes it (CP932), built whole and refused with a report when a
character has no CP932 form: a resident's name is never silently changed into "?". CP932 has
no variation selectors: a letter sent with one (an IVS, which chooses how the letter is drawn)
is written as its plain letter, the 縮退 every Shift_JIS system applies, and the screen says
so. Or an Excel workbook, where the integrated number is a text cell (Excel keeps its leading
zeros), the dates are dates, and every text is a string cell, never a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from primitives.text import variation_selectors_dropped
from primitives.vocabulary import Sex

from .models import AddressVersion
from .selectors import ChangedResidents

CHANGED_RESIDENT_ENCODINGS = {"utf-8": "UTF-8 (BOM)", "cp932": "Shift_JIS (CP932)"}
XLSX = "xlsx"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A worksheet holds 1,048,576 rows; the first is the header.
XLSX_MAX_ROWS = 1_048_575
_FIELDS = ("name", "name_kana", "birth_date", "sex", "address")


def _header() -> list[str]:
    return [
        _("統合宛名番号"),
        _("氏名"),
        _("氏名カナ"),
        _("生年月日"),
        _("性別"),
        _("住所"),
        _("異動登録日時"),
    ]


# A cell that starts with one of these is a formula to Excel (CSV injection); OWASP's
# advice: put a single quote before it, which Excel shows as text and does not evaluate.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: str) -> str:
    """A free-text cell as a spreadsheet may open it safely."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


# What a file holds (the header's columns), read alone: the rest of a version is not needed.
_READ = (
    "name", "name_kana", "birth_date", "sex", "address", "registered_at",
    "person__integrated_number",
)  # fmt: skip


def _sex_labels() -> dict[str, str]:
    """Each sex code's label in the active language, once per export: Django's
    get_sex_display() hashes every lazy choice for every row, which was 29 % of a CSV
    export's time."""
    return {value: str(label) for value, label in Sex.choices}


def _record(version: AddressVersion, sexes: dict[str, str]) -> list[str]:
    changed = getattr(version, "changed_in_period", None) or version.registered_at
    return [
        version.person.integrated_number,
        neutralised(version.name),
        neutralised(version.name_kana),
        version.birth_date.isoformat(),
        sexes.get(version.sex, version.sex),
        neutralised(version.address),
        timezone.localtime(changed).strftime("%Y-%m-%d %H:%M:%S"),
    ]


class _Line:
    """A csv writer target that hands back each line written."""

    def __init__(self) -> None:
        self.value = ""

    def write(self, value: str) -> None:
        self.value = value


def _lines(rows: ChangedResidents) -> Iterator[tuple[AddressVersion | None, str]]:
    """The header line (with no version), then each version with its line."""
    line = _Line()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow(_header())
    yield None, line.value
    sexes = _sex_labels()
    for version in rows.iterator(chunk_size=2000, only=_READ):
        writer.writerow(_record(version, sexes))
        yield version, line.value


def changed_residents_csv_utf8(rows: ChangedResidents) -> Iterator[bytes]:
    yield "\ufeff".encode()
    for _version, text in _lines(rows):
        yield text.encode("utf-8")


@dataclass(frozen=True)
class UnencodableCharacter:
    integrated_number: str
    field: str
    character: str

    @property
    def code_point(self) -> str:
        return f"U+{ord(self.character):04X}"


class Unencodable(Exception):
    def __init__(self, problems: list[UnencodableCharacter]) -> None:
        super().__init__(f"{len(problems)} characters have no CP932 form")
        self.problems = problems


def changed_residents_csv_cp932(rows: ChangedResidents) -> bytes:
    """The whole file in CP932, or Unencodable naming every character that has no form."""
    problems: list[UnencodableCharacter] = []
    out = bytearray()
    for version, text in _lines(rows):
        try:
            out += variation_selectors_dropped(text).encode("cp932")
        except UnicodeEncodeError:
            assert version is not None  # noqa: S101 (the header is CP932)
            problems += _unencodable(version)
    if problems:
        raise Unencodable(problems)
    return bytes(out)


def _unencodable(version: AddressVersion) -> list[UnencodableCharacter]:
    labels = dict(zip(_FIELDS, _header()[1:6], strict=True))
    found = []
    for field in _FIELDS:
        for character in variation_selectors_dropped(str(getattr(version, field))):
            try:
                character.encode("cp932")
            except UnicodeEncodeError:
                found.append(
                    UnencodableCharacter(version.person.integrated_number, labels[field], character)
                )
    return found


def changed_residents_xlsx(rows: ChangedResidents) -> bytes:
    """The list as one sheet: a bold header, the integrated number as text (format @), the
    birth date as a date, the change as a local date-time, and the rest as string cells
    (a name starting with = stays a name: no formula is ever written)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("異動者一覧"))
    for column, width in zip("ABCDEFG", (18, 18, 22, 12, 8, 48, 20), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    sheet.append([_cell(sheet, title, font=bold) for title in _header()])
    sexes = _sex_labels()
    for version in rows.iterator(chunk_size=2000, only=_READ):
        changed = getattr(version, "changed_in_period", None) or version.registered_at
        sheet.append(
            [
                _cell(sheet, version.person.integrated_number, number_format="@"),
                _cell(sheet, version.name),
                _cell(sheet, version.name_kana),
                _cell(sheet, version.birth_date, number_format="yyyy-mm-dd"),
                _cell(sheet, sexes.get(version.sex, version.sex)),
                _cell(sheet, version.address),
                _cell(
                    sheet,
                    timezone.localtime(changed).replace(tzinfo=None),
                    number_format="yyyy-mm-dd hh:mm:ss",
                ),
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _cell(
    sheet: object, value: object, *, number_format: str = "", font: Font | None = None
) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text, even when it starts with "="
    if number_format:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell
