"""Exporting the association list, and writing a list as CSV or XLSX for Excel, with formula
injection neutralised.

A cell that begins with =, +, -, @, a tab or a carriage return would be run as a formula by a
spreadsheet (CSV injection); such cells get a leading apostrophe so they show as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload, selectinload

from participation.register.listing import AssociationFilter, _association_query, _ordered
from participation.register.models import Association

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

EXPORT_COLUMNS = (
    "name",
    "registry_number",
    "category",
    "area",
    "email",
    "website",
    "description",
    "active",
    "people",
    "updated",
)


def export_associations(
    session: Session, flt: AssociationFilter, *, locale: str
) -> tuple[list[str], list[list[str]]]:
    """The whole filtered list (no paging) as a header and rows of plain text; the column names
    are those the import reads, so an export can be edited and imported elsewhere."""
    rows = session.scalars(
        _ordered(_association_query(flt), flt.sort).options(
            joinedload(Association.category), selectinload(Association.people)
        )
    ).unique()
    yes, no = _("yes"), _("no")
    data = [
        [
            a.name,
            a.registry_number,
            a.category.name(locale) if a.category else "",
            a.area,
            a.email,
            a.website,
            a.description,
            yes if a.active else no,
            "; ".join(p.name for p in a.people),
            a.updated_at.date().isoformat(),
        ]
        for a in rows
    ]
    return list(EXPORT_COLUMNS), data


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(DANGEROUS_START):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM so Excel shows ä and ö, and semicolons as Finnish Excel expects."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return (BOM + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))

    def cells(values: Sequence[Any]) -> list[Any]:
        out = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=None)
            # Every value is written as a string: openpyxl would otherwise turn "=…" into a formula.
            cell.value = "" if value is None else neutralise(str(value))
            cell.data_type = "s"
            out.append(cell)
        return out

    sheet.append(cells(header))
    for row in rows:
        sheet.append(cells(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(title: str) -> str:
    cleaned = "".join(c for c in title if c not in "[]:*?/\\")
    return (cleaned or "Sheet")[:31]
