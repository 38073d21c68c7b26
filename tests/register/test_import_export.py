"""Importing associations from CSV and XLSX (all or nothing), and exporting the list."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from participation.register import exporting
from participation.register.models import Association, AssociationChange
from tests.conftest import csrf_token

HEADER = "name,registry_number,category,area,email,website,description,active"
GOOD = [
    "Esimerkkilän Eläkkeensaajat ry,201.345,seniors,Keskusta,elakkeensaajat@example.fi,,Kerhoja,yes",
    'FC Esimerkkilä ry,198456,"Harrastusyhdistykset (liikunta, kulttuuri)",Keskusta,fc@example.fi,fc.example,,',
    "Kylätoimikunta Mäkikylä,,RESIDENTS,Mäkikylä,kyla@makikyla.example,,,no",
]
BAD_NAME = ",,seniors,Keskusta,ei-nimea@example.fi,,,"
BAD_EMAIL = "Rantalan Soutajat ry,,hobbies,Rantala,soutajat(at)example.fi,,,"
FIXED_NAME = "Mäkikylän Senioritoverit ry,,seniors,Keskusta,ei-nimea@example.fi,,,"
FIXED_EMAIL = "Rantalan Soutajat ry,,hobbies,Rantala,soutajat@example.fi,,,"


def _csv(lines: list[str], *, bom: bool = False, delimiter: str = ",") -> bytes:
    text = "\r\n".join(lines) + "\r\n"
    if delimiter != ",":
        rows = list(csv.reader(io.StringIO(text)))
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter).writerows(rows)
        text = out.getvalue()
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def _upload(post: Any, data: bytes, filename: str = "yhdistykset.csv") -> Any:
    return post("/staff/associations/import", {"file": (io.BytesIO(data), filename)})


def _upload_raw(client: Any, data: bytes, filename: str) -> Any:
    """A multipart body built in memory (the test client spools big ones to an unclosed file)."""
    boundary, body = encode_multipart(
        {"csrf_token": csrf_token(client), "file": FileStorage(io.BytesIO(data), filename)}
    )
    return client.post(
        "/staff/associations/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def _count(db: Any) -> int:
    return db.scalar(select(func.count(Association.id))) or 0


@pytest.fixture
def coordinator(login_as: Any, categories: Any) -> Any:
    return login_as("coordinator", name="Kaisa Koordinaattori")


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(
    client: Any, post: Any, coordinator: Any, db: Any
) -> None:
    # Rows 2-4 are good; row 5 has no name and row 6 a broken e-mail address.
    response = _upload(post, _csv([HEADER, *GOOD, BAD_NAME, BAD_EMAIL]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Mitään ei tuotu" in html
    assert "Tiedoston 5 rivistä 2 on virheellisiä." in html
    assert "Rivi 5<" in html and "Nimi puuttuu." in html
    assert (
        "Rivi 6<" in html and "Sähköpostiosoite soutajat(at)example.fi ei ole kelvollinen." in html
    )
    assert "Rivi 2<" not in html and "Rivi 3<" not in html
    assert _count(db) == 0

    fixed = _upload(post, _csv([HEADER, *GOOD, FIXED_NAME, FIXED_EMAIL]))
    assert fixed.status_code == 302
    assert _count(db) == 5
    listing = client.get(fixed.headers["Location"]).get_data(as_text=True)
    assert "5 yhdistystä tuotiin." in listing
    fc = db.scalar(select(Association).where(Association.name == "FC Esimerkkilä ry"))
    assert fc.registry_number == "198.456" and fc.website == "https://fc.example"
    assert fc.category.key == "hobbies" and fc.active
    village = db.scalar(select(Association).where(Association.name == "Kylätoimikunta Mäkikylä"))
    assert village.category.key == "residents" and not village.active
    change = db.scalar(select(AssociationChange).where(AssociationChange.association_id == fc.id))
    assert change.source == "import"
    detail = client.get(f"/staff/associations/{fc.id}").get_data(as_text=True)
    assert "Tuo tiedostosta" in detail and "Kaisa Koordinaattori" in detail


def test_every_kind_of_bad_row_is_reported_with_its_reason(
    post: Any, coordinator: Any, make_association: Any, db: Any
) -> None:
    make_association(name="Olemassa ry", registry_number="111.222", email="olemassa@example.fi")
    lines = [
        HEADER,
        "Uusi ry,111222,,,,,,",  # 2: registry number taken
        "OLEMASSA RY,,,,Olemassa@example.fi,,,",  # 3: same name and e-mail
        "Tupla ry,333.444,,,,,,",  # 4: fine by itself
        "Tupla kaksi ry,333444,,,,,,",  # 5: same number as row 4
        "Kategoria ry,,urheilu,,,,,",  # 6: unknown category
        "Numero ry,12-34,,,,,,",  # 7: malformed number
        "Pitkä ry,,,,,," + "x" * 1001 + ",",  # 8: description too long
        "Tila ry,,,,,,,ehkä",  # 9: active neither yes nor no
        "Sivu ry,,,,,javascript:alert(1),,",  # 10: bad website
        "Samanimi ry,,,,sama@example.fi,,,",  # 11
        "samanimi RY,,,,sama@example.fi,,,",  # 12: same as row 11
    ]
    html = _upload(post, _csv(lines)).get_data(as_text=True)
    expected = {
        "Rivi 2": "Rekisterinumero 111.222 on jo rekisterissä yhdistyksellä Olemassa ry.",
        "Rivi 3": "Yhdistys Olemassa ry on jo rekisterissä tällä sähköpostiosoitteella.",
        "Rivi 5": "Rekisterinumero 333.444 on myös rivillä 4.",
        "Rivi 6": "Tuntematon luokka urheilu.",
        "Rivi 7": "Rekisterinumero 12-34 on virheellinen (numeroita, esim. 123.456).",
        "Rivi 8": "Kentän ”kuvaus” arvo on liian pitkä (enintään 1000 merkkiä).",
        "Rivi 9": "Sarakkeen active arvo on ehkä; käytä arvoa kyllä tai ei.",
        "Rivi 10": "Verkko-osoite javascript:alert(1) ei ole kelvollinen.",
        "Rivi 12": "Sama nimi ja sähköpostiosoite ovat myös rivillä 11.",
    }
    for row, reason in expected.items():
        assert f"{row}<" in html, row
        assert reason in html, reason
    assert "Rivi 4<" not in html and "Rivi 11<" not in html
    assert _count(db) == 1


def test_semicolon_csv_with_bom_as_finnish_excel_saves_it(
    post: Any, coordinator: Any, db: Any
) -> None:
    data = _csv([HEADER, *GOOD], bom=True, delimiter=";")
    assert data.startswith(b"\xef\xbb\xbf") and b";" in data
    assert _upload(post, data).status_code == 302
    names = set(db.scalars(select(Association.name)))
    assert names == {
        "Esimerkkilän Eläkkeensaajat ry",
        "FC Esimerkkilä ry",
        "Kylätoimikunta Mäkikylä",
    }


def test_finnish_column_names_are_understood(post: Any, coordinator: Any, db: Any) -> None:
    data = "Nimi;Rekisterinumero;Luokka;Alue;Sähköposti\nKyläseura ry;123.456;Muut yhdistykset;Ylikylä;seura@example.fi\n".encode()
    assert _upload(post, data).status_code == 302
    row = db.scalar(select(Association))
    assert (row.name, row.area, row.category.key) == ("Kyläseura ry", "Ylikylä", "others")


def test_xlsx_import(post: Any, coordinator: Any, db: Any) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        ["name", "registry_number", "category", "area", "email", "website", "description", "active"]
    )
    sheet.append(
        [
            "Excel-yhdistys ry",
            123456,
            "Övriga föreningar",
            "Keskusta",
            "excel@example.fi",
            None,
            None,
            True,
        ]
    )
    # "234.567" typed into an English-locale Excel is stored as a number.
    sheet.append(["Desimaaliyhdistys ry", 234.567, "seniors", None, None, None, None, None])
    sheet.append([None, None, None, None, None, None, None, None])
    sheet.append(["Kolmas ry", "98.765", "hobbies", "Rantala", None, None, "Soutua", "no"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    response = _upload(post, buffer.getvalue(), "yhdistykset.xlsx")
    assert response.status_code == 302
    rows = {a.name: a for a in db.scalars(select(Association))}
    assert set(rows) == {"Excel-yhdistys ry", "Desimaaliyhdistys ry", "Kolmas ry"}
    assert rows["Excel-yhdistys ry"].registry_number == "123.456"
    assert rows["Excel-yhdistys ry"].category.key == "others"
    assert rows["Desimaaliyhdistys ry"].registry_number == "234.567"
    assert not rows["Kolmas ry"].active


def test_xlsx_bad_rows_are_reported_by_their_sheet_row(
    post: Any, coordinator: Any, db: Any
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "email"])
    sheet.append(["Hyvä ry", "hyva@example.fi"])
    sheet.append([None, "nimeton@example.fi"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    html = _upload(post, buffer.getvalue(), "lista.xlsx").get_data(as_text=True)
    assert "Rivi 3<" in html and "Nimi puuttuu." in html
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"%PDF-1.7\n\x00\x01binary", "yhdistykset.pdf", "Valitse CSV- tai XLSX-tiedosto."),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "kuva.csv",
            "Tiedosto ei ole CSV-tekstitiedosto. Valitse CSV- tai XLSX-tiedosto.",
        ),
        (
            "nimi;alue\nÄijälä;x\n".encode("cp1252"),
            "latin1.csv",
            "Tiedosto ei ole UTF-8-tekstiä. Tallenna se Excelissä muodossa ”CSV UTF-8” ja yritä uudelleen.",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
            "vanha.xls",
            "Tämä on vanha Excel-tiedosto (.xls). Tallenna se .xlsx-muodossa tai muodossa CSV UTF-8.",
        ),
        (
            b"PK\x03\x04not really a zip",
            "rikki.xlsx",
            "XLSX-tiedosto on vioittunut, tai se ei ole Excel-tiedosto.",
        ),
        (
            b"area,email\nKeskusta,a@example.fi\n",
            "ilman-nimea.csv",
            "Ensimmäisellä rivillä on oltava sarakkeiden nimet, ja yhden niistä on oltava ”name” tai ”nimi”.",
        ),
        (b"", "tyhja.csv", "Tiedosto on tyhjä."),
    ],
)
def test_files_that_are_not_association_lists_get_a_message(
    post: Any, coordinator: Any, db: Any, data: bytes, filename: str, message: str
) -> None:
    response = _upload(post, data, filename)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _count(db) == 0


def test_too_many_rows_get_a_message(post: Any, coordinator: Any, db: Any) -> None:
    lines = ["name"] + [f"Yhdistys {n} ry" for n in range(5001)]
    html = _upload(post, _csv(lines)).get_data(as_text=True)
    # Finnish groups thousands with a no-break space.
    assert "Tiedostossa on yli 5\u00a0000 riviä. Jaa se pienempiin tiedostoihin." in html
    assert _count(db) == 0


def test_a_file_must_be_chosen(post: Any, coordinator: Any) -> None:
    html = post("/staff/associations/import", {}).get_data(as_text=True)
    assert "Valitse tuotava tiedosto." in html


@pytest.mark.parametrize("megabytes", [11, 20])
def test_an_oversized_upload_gets_the_too_large_page_not_an_error(
    app: Any, client: Any, coordinator: Any, megabytes: int, db: Any
) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 10 * 1024 * 1024
    data = b"name\n" + b"x" * (megabytes * 1024 * 1024)
    response = _upload_raw(client, data, "iso.csv")
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "Liian suuri" in html and "(enintään 10 MB)" in html


def test_the_import_template_has_the_columns(client: Any, coordinator: Any) -> None:
    response = client.get("/staff/associations/import/template.csv")
    assert response.status_code == 200
    text = response.data.decode("utf-8-sig")
    assert (
        text.splitlines()[0]
        == "name;registry_number;category;area;email;website;description;active"
    )


# --- export -----------------------------------------------------------------------------------

HOSTILE = {
    "name": '=HYPERLINK("http://evil.example","click")',
    "area": "+358 40 123",
    "description": "-2+3",
    "website": "",
}


@pytest.fixture
def hostile(make_association: Any) -> Any:
    make_association(**HOSTILE, email="kaava@example.fi")
    make_association(name="@SUM(1+1) ry", area="-Sarkain", email="at@example.fi")
    make_association(
        name="Äijälän Öljymäen Kyläyhdistys ry", area="Keskusta", email="kyla@example.fi"
    )
    make_association(name="Lepäävä ry", active=False, area="Keskusta")


def test_csv_export_neutralises_formulas_and_has_a_bom(
    client: Any, coordinator: Any, hostile: Any
) -> None:
    response = client.get("/staff/associations/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["name", "registry_number", "category"]
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + HOSTILE["name"] in cells
    assert "'+358 40 123" in cells and "'-2+3" in cells
    assert "'@SUM(1+1) ry" in cells and "'-Sarkain" in cells
    assert "Äijälän Öljymäen Kyläyhdistys ry" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for cell in cells)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("a=1", "a=1"), ("", ""), (5, 5)],
)
def test_neutralise(value: Any, expected: Any) -> None:
    assert exporting.neutralise(value) == expected
    if isinstance(value, str):
        sheet = load_workbook(io.BytesIO(exporting.to_xlsx(["h"], [[value]], title="t"))).active
        # XML parsers differ on a carriage return (lxml keeps it, ElementTree makes it a line
        # feed); the apostrophe in front is what counts.
        got = sheet["A2"].value
        assert (got and got.replace("\r", "\n")) == (
            (expected or None) and expected.replace("\r", "\n")
        )


def test_xlsx_export_neutralises_formulas_and_follows_the_filters(
    client: Any, coordinator: Any, hostile: Any
) -> None:
    response = client.get("/staff/associations/export.xlsx?status=active")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data), read_only=False).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "name"
    names = [row[0] for row in values[1:]]
    assert "Lepäävä ry" not in names  # the filter applies to the export
    assert "'" + HOSTILE["name"] in names and "'@SUM(1+1) ry" in names
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert not any(
        isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@", "\t")) for c in cells
    )

    only_village = client.get("/staff/associations/export.xlsx?q=äijälän")
    sheet = load_workbook(io.BytesIO(only_village.data)).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == [
        "name",
        "Äijälän Öljymäen Kyläyhdistys ry",
    ]


def test_an_export_can_be_imported_again(
    client: Any, post: Any, coordinator: Any, make_association: Any, db: Any
) -> None:
    make_association(
        name="Kierrätys ry", registry_number="555.666", category="seniors", area="Ylikylä"
    )
    exported = client.get("/staff/associations/export.csv").data
    db.execute(Association.__table__.delete())
    db.commit()
    assert _upload(post, exported).status_code == 302
    row = db.scalar(select(Association))
    assert (row.name, row.registry_number, row.area, row.category.key) == (
        "Kierrätys ry",
        "555.666",
        "Ylikylä",
        "seniors",
    )


def test_unknown_export_format_is_not_found(client: Any, coordinator: Any) -> None:
    assert client.get("/staff/associations/export.pdf").status_code == 404
