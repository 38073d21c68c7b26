"""Importing an uploaded association list: CSV (UTF-8, with or without BOM, comma or semicolon,
as Finnish Excel saves it) or XLSX.

`read_table` judges only the file (type, encoding, header, size) and reads it into rows of text
keyed by our column names; `import_associations` then checks every row's values, reports every bad
row, and adds the associations only when there are none.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from participation.errors import Invalid
from participation.register.models import Association, Category
from participation.register.services import (
    _apply,
    _category_lookup,
    _new_association,
    list_categories,
)
from participation.register.values import (
    AREA_MAX,
    CATEGORY_NAME_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    NAME_MAX,
    REGISTRY_MAX,
    WEBSITE_MAX,
    fold,
    normalise_email,
    normalise_registry_number,
    normalise_website,
    parse_active,
)

MAX_ROWS = 5000
# An XLSX is a zip: refuse one that would unpack to far more than any real list (zip bombs).
MAX_UNPACKED = 100 * 1024 * 1024
# Formatting can leave a sheet with thousands of empty rows after the data; stop reading there.
MAX_BLANK_RUN = 1000

COLUMNS = (
    "name",
    "registry_number",
    "category",
    "area",
    "email",
    "website",
    "description",
    "active",
)
# Header names accepted per column (letters and digits only, case-folded), in our languages.
ALIASES = {
    "name": {"name", "nimi", "namn", "yhdistys", "association", "förening"},
    "registry_number": {
        "registrynumber",
        "registryno",
        "rekisterinumero",
        "reknro",
        "yhdistysrekisterinumero",
        "registernummer",
    },
    "category": {"category", "luokka", "kategoria", "ryhmä", "kategori", "grupp"},
    "area": {"area", "alue", "område", "kylä", "district"},
    "email": {"email", "sähköposti", "epost", "mail"},
    "website": {
        "website",
        "www",
        "web",
        "url",
        "verkkosivu",
        "verkkosivut",
        "kotisivu",
        "webbplats",
    },
    "description": {"description", "kuvaus", "toiminta", "beskrivning", "verksamhet"},
    "active": {"active", "aktiivinen", "toiminnassa", "aktiv"},
}
_LOOKUP = {alias: column for column, aliases in ALIASES.items() for alias in aliases}

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
BOM = b"\xef\xbb\xbf"


@dataclass
class Table:
    """Data rows as (row number as a spreadsheet shows it, {column: text})."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _header_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def read_table(filename: str, data: bytes) -> Table:
    """Raises Invalid when the file is not a readable CSV or XLSX list of associations."""
    if not data.strip():
        raise Invalid(_("The file is empty."))
    suffix = PurePath(filename or "").suffix.lower()
    if data.startswith(OLE_MAGIC):
        raise Invalid(_("This is an old Excel file (.xls). Save it as .xlsx or as CSV UTF-8."))
    if data.startswith(XLSX_MAGIC):
        records = _xlsx_records(data)
    elif suffix in {".csv", ".txt", ""}:
        records = _csv_records(data)
    else:
        raise Invalid(_("Choose a CSV or XLSX file."))
    return _table(records)


def _csv_records(data: bytes) -> list[tuple[int, list[Any]]]:
    if b"\x00" in data:
        raise Invalid(_("The file is not a CSV text file. Choose a CSV or XLSX file."))
    try:
        text = data.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(
            _("The file is not UTF-8 text. In Excel, save it as “CSV UTF-8” and try again.")
        ) from exc
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first_line.count)
    records: list[tuple[int, list[Any]]] = []
    filled = 0
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for index, record in enumerate(reader, start=1):
            records.append((index, record))
            filled += not _blank(record)
            if filled > MAX_ROWS + 1:  # enough to say it is too long; read no further
                break
    except csv.Error as exc:
        raise Invalid(_("The CSV file could not be read: %(reason)s", reason=str(exc))) from exc
    return records


def _xlsx_records(data: bytes) -> list[tuple[int, list[Any]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            unpacked = sum(info.file_size for info in infos)
    except zipfile.BadZipFile as exc:
        raise Invalid(_("The XLSX file is damaged or not an Excel file.")) from exc
    if "xl/workbook.xml" not in names:
        raise Invalid(_("The file is not an XLSX workbook. Choose a CSV or XLSX file."))
    if unpacked > MAX_UNPACKED:
        raise Invalid(_("The XLSX file is too large when unpacked. Save the list as CSV."))

    from openpyxl import load_workbook

    records: list[tuple[int, list[Any]]] = []
    blank_run = filled = 0
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions that do not matter for reading values.
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                for index, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                    values = list(row)
                    blank = _blank(values)
                    blank_run = blank_run + 1 if blank else 0
                    if blank_run > MAX_BLANK_RUN:
                        break
                    records.append((index, values))
                    filled += not blank
                    if filled > MAX_ROWS + 1:
                        break
            finally:
                workbook.close()
    except Invalid:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise Invalid(_("The XLSX file is damaged or not an Excel file.")) from exc
    return records


def _blank(values: list[Any]) -> bool:
    return all(v is None or str(v).strip() == "" for v in values)


def _text(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if column == "registry_number" and not value.is_integer():
            # "123.456" typed into an English-locale Excel becomes the number 123.456.
            return f"{value:.3f}"
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _table(records: list[tuple[int, list[Any]]]) -> Table:
    records = [(n, values) for n, values in records if not _blank(values)]
    if not records:
        raise Invalid(_("The file is empty."))
    if len(records) - 1 > MAX_ROWS:
        raise Invalid(
            _(
                "The file has more than %(n)s rows. Split it into smaller files.",
                n=f"{MAX_ROWS:,}".replace(",", "\u00a0"),
            )
        )
    _header_number, header = records[0]
    positions: dict[str, int] = {}
    table = Table()
    for index, title in enumerate(header):
        title_text = _text(title, "").strip()
        column = _LOOKUP.get(_header_key(title_text))
        if column and column not in positions:
            positions[column] = index
        elif title_text:
            table.ignored.append(title_text)
    if "name" not in positions:
        raise Invalid(
            _(
                "The first row must name the columns, and one of them must be “name”. "
                "The columns read are: %(columns)s.",
                columns=", ".join(COLUMNS),
            )
        )
    for number, values in records[1:]:
        cells = {}
        for column, index in positions.items():
            with contextlib.suppress(IndexError):
                cells[column] = _text(values[index], column).strip()
        table.rows.append((number, cells))
    return table


# --- importing the rows ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    row: int
    reasons: list[str]


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    problems: list[ImportProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def import_associations(
    session: Session,
    filename: str,
    data: bytes,
    *,
    now: dt.datetime,
    staff_user_id: int | None,
) -> ImportResult:
    """Import a CSV or XLSX file all or nothing: every row is checked first, and only a file
    without a single bad row adds anything (in the caller's transaction).

    Raises Invalid when the file itself cannot be read (type, encoding, no name column, too
    many rows); bad rows are reported in the result instead.
    """
    table = read_table(filename, data)
    categories = _category_lookup(list_categories(session))
    existing = session.execute(
        select(Association.name, Association.registry_number, Association.email).where(
            Association.merged_into_id.is_(None)
        )
    ).all()
    by_number = {row.registry_number: row.name for row in existing if row.registry_number}
    by_email_name = {(row.email, fold(row.name)): row.name for row in existing if row.email}
    seen_number: dict[str, int] = {}
    seen_email_name: dict[tuple[str, str], int] = {}
    result = ImportResult(rows=len(table.rows), ignored_columns=table.ignored)
    clean_rows: list[dict[str, Any]] = []

    for number, cells in table.rows:
        reasons: list[str] = []
        values = _clean_import_row(cells, categories, reasons)
        registry = values.get("registry_number", "")
        key = (values.get("email", ""), fold(values.get("name", "")))
        if registry:
            if registry in by_number:
                reasons.append(
                    _(
                        "Registry number %(number)s is already registered for %(name)s.",
                        number=registry,
                        name=by_number[registry],
                    )
                )
            elif registry in seen_number:
                reasons.append(
                    _(
                        "Registry number %(number)s is also on row %(row)s.",
                        number=registry,
                        row=seen_number[registry],
                    )
                )
            seen_number.setdefault(registry, number)
        if key[0] and key[1]:
            if key in by_email_name:
                reasons.append(
                    _(
                        "%(name)s is already registered with this e-mail address.",
                        name=by_email_name[key],
                    )
                )
            elif key in seen_email_name:
                reasons.append(
                    _(
                        "The same name and e-mail address are also on row %(row)s.",
                        row=seen_email_name[key],
                    )
                )
            seen_email_name.setdefault(key, number)
        if reasons:
            result.problems.append(ImportProblem(number, reasons))
        else:
            clean_rows.append(values)

    if result.problems:
        return result
    for values in clean_rows:
        association = _new_association(now)
        session.add(association)
        _apply(
            session,
            association,
            values,
            source="import",
            now=now,
            staff_user_id=staff_user_id,
            extra={"created": [None, True]},
        )
    session.flush()
    result.created = len(clean_rows)
    return result


def _clean_import_row(
    cells: Mapping[str, str], categories: Mapping[str, Category], reasons: list[str]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    limits = {
        "name": (NAME_MAX, _("name")),
        "registry_number": (REGISTRY_MAX, _("registry number")),
        "category": (CATEGORY_NAME_MAX, _("category")),
        "area": (AREA_MAX, _("area")),
        "email": (EMAIL_MAX, _("e-mail")),
        "website": (WEBSITE_MAX, _("website")),
        "description": (DESCRIPTION_MAX, _("description")),
    }
    too_long: set[str] = set()
    for name, (limit, label) in limits.items():
        value = cells.get(name, "").strip()
        if len(value) > limit:
            reasons.append(
                _("The %(field)s is too long (at most %(n)s characters).", field=label, n=limit)
            )
            too_long.add(name)
        values[name] = value
    if not values["name"]:
        reasons.append(_("The name is missing."))
    checks: tuple[tuple[str, Callable[[str], str], Callable[[str], str]], ...] = (
        (
            "registry_number",
            normalise_registry_number,
            lambda v: _(
                "The registry number %(value)s is malformed (digits, e.g. 123.456).", value=v
            ),
        ),
        (
            "email",
            lambda v: normalise_email(v) if v else "",
            lambda v: _("The e-mail address %(value)s is not valid.", value=v),
        ),
        (
            "website",
            normalise_website,
            lambda v: _("The web address %(value)s is not valid.", value=v),
        ),
    )
    for name, normalise, message in checks:
        if name in too_long:
            values[name] = ""
            continue
        try:
            values[name] = normalise(values[name])
        except ValueError:
            reasons.append(message(values[name]))
            values[name] = ""
    category_name = values.pop("category")
    values["category"] = None
    if category_name:
        category = categories.get(fold(category_name))
        if category is None:
            reasons.append(_("Unknown category %(value)s.", value=category_name))
        elif not category.active:
            reasons.append(_("The category %(value)s is no longer in use.", value=category_name))
        else:
            values["category"] = category
    try:
        values["active"] = parse_active(cells.get("active", ""))
    except ValueError:
        reasons.append(
            _("The active column says %(value)s; use yes or no.", value=cells.get("active", ""))
        )
    return values
