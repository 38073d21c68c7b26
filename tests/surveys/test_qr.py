"""The printable QR code of a survey's public link: an inline SVG the CSP allows (no style
attributes), the URL in text, the .svg download, for both staff roles."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any

import segno

from participation.surveys.qr import qr_svg
from tests.surveys.factories import make_survey

SVG = "{http://www.w3.org/2000/svg}"


def test_qr_page_shows_the_code_and_the_url_to_a_contact_person(
    client: Any, login_as: Any, db: Any, now: dt.datetime
) -> None:
    survey = make_survey(db, now=now, title="Palaute <script>alert(1)</script>")
    db.commit()
    login_as("contact_person")
    assert client.get(f"/staff/surveys/{survey.id}/qr").status_code == 403  # another's survey
    survey.created_by_id = login_as("contact_person").id
    db.commit()
    admin = client.get(f"/staff/surveys/{survey.id}").get_data(as_text=True)
    assert f'href="/staff/surveys/{survey.id}/qr"' in admin

    response = client.get(f"/staff/surveys/{survey.id}/qr")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    public_url = f"http://localhost/surveys/{survey.slug}"
    assert re.search(rf'class="qr-url">\s*{re.escape(public_url)}\s*<', html)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert not re.search(r"\sstyle=", html)
    svg = re.search(r"<svg\b.*?</svg>", html, re.S).group(0)
    root = ET.fromstring(svg)  # noqa: S314 (our own page: well-formed XML)
    assert root.tag == "svg" and root.get("role") == "img"
    title = root.find("title")
    assert title is not None and root.get("aria-labelledby") == title.get("id")
    assert "Palaute <script>alert(1)</script>" in title.text
    assert root.get("viewBox") and root.find(".//path") is not None
    assert all("style" not in element.attrib for element in root.iter())

    download = client.get(f"/staff/surveys/{survey.id}/qr.svg")
    assert download.status_code == 200 and download.mimetype == "image/svg+xml"
    assert "attachment" in download.headers["Content-Disposition"]
    document = ET.fromstring(download.get_data())  # noqa: S314 (our own file)
    assert document.tag == f"{SVG}svg" and document.find(f"{SVG}title") is not None
    assert all("style" not in element.attrib for element in document.iter())


def test_no_qr_code_without_a_public_link(
    client: Any, login_as: Any, db: Any, now: dt.datetime
) -> None:
    survey = make_survey(db, now=now, public_link=False)
    db.commit()
    login_as("coordinator")
    assert f"/staff/surveys/{survey.id}/qr" not in client.get(
        f"/staff/surveys/{survey.id}"
    ).get_data(as_text=True)
    assert client.get(f"/staff/surveys/{survey.id}/qr").status_code == 404
    assert client.get(f"/staff/surveys/{survey.id}/qr.svg").status_code == 404


def _dark_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules drawn by segno's path ("M4 4.5h7m1 0h2m-29 1h1…": horizontal runs
    half a module below each row's top, relative moves between them)."""
    root = ET.fromstring(svg)  # noqa: S314 (our own markup)
    (path,) = [p for p in root.iter() if p.get("stroke")]
    x = y = 0.0
    dark = set()
    for op, a, b in re.findall(r"([MmHh])(-?[\d.]+)(?:\s+(-?[\d.]+))?", path.get("d")):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            for step in range(int(float(a))):
                dark.add((int(x) + step, int(y)))
            x += float(a)
    return dark


def test_the_code_holds_the_url() -> None:
    url = "https://osallistu.esimerkkila.example/surveys/AbCdEf123456"
    code = segno.make(url, error="m", micro=False)
    assert code.designator.endswith("M")
    expected = {
        (col + 4, row + 4)  # the four-module quiet zone
        for row, line in enumerate(code.matrix)
        for col, bit in enumerate(line)
        if bit
    }
    assert _dark_modules(qr_svg(url, title="A", inline=True)) == expected
    assert _dark_modules(qr_svg(url + "x", title="A", inline=True)) != expected
