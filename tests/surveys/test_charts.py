"""The bar chart: well-formed SVG with role="img" and a title, the same figures in the drawing,
its description and the table beside it, and hostile labels kept as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from participation.surveys.charts import bar_chart
from participation.surveys.results import Bar

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    # The whole figure (SVG and table) is well-formed XML, as WeasyPrint and browsers need.
    return ET.fromstring(str(markup))  # noqa: S314 (our own markup)


def test_svg_is_accessible_and_figures_match(app: Any, db: Any) -> None:
    rows = [Bar("Foorumit", 3, 0.75), Bar("Uutiskirje", 1, 0.25), Bar("Tilat", 0, 0.0)]
    figure = _parse(bar_chart(rows, title="Mistä kuulit?", chart_id="chart-q1"))
    svg = figure.find(f".//{SVG}svg")
    assert svg is not None
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "chart-q1-title chart-q1-desc"
    assert svg.find(f"{SVG}title").text == "Mistä kuulit?"
    desc = svg.find(f"{SVG}desc").text
    assert "Foorumit: 3 (75 %)" in desc and "Tilat: 0 (0 %)" in desc
    # No style attributes (the CSP), no scripts, no external references.
    for element in figure.iter():
        assert "style" not in element.attrib
        assert not any("href" in name for name in element.attrib)
        assert not element.tag.endswith("script")
    # Each bar is labelled with its count and share; the longest bar is the largest count.
    values = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-value"]
    assert values == ["3 (75 %)", "1 (25 %)", "0 (0 %)"]
    widths = [r.get("width") for r in svg.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]
    assert widths == ["78.00%", "26.00%", "0.00%"]
    # The same figures as a table.
    table = figure.find("table")
    assert table.find("caption").text == "Mistä kuulit?"
    body = [[c.text for c in tr] for tr in table.find("tbody")]
    assert body == [["Foorumit", "3", "75 %"], ["Uutiskirje", "1", "25 %"], ["Tilat", "0", "0 %"]]


def test_counts_without_shares_and_hostile_labels(app: Any, db: Any) -> None:
    markup = bar_chart(
        [("<script>alert(1)</script>", 5, None), ("=1+1", 2, None)],
        title='"><img src=x>',
        label_header="Vaihtoehto",
        value_header="Pisteet",
        chart_id="chart-r",
    )
    assert "<script>" not in markup and "<img" not in markup
    figure = _parse(markup)
    svg = figure.find(f".//{SVG}svg")
    assert svg.find(f"{SVG}title").text == '"><img src=x>'
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert labels == ["<script>alert(1)</script>", "=1+1"]
    # Points are not shares: no share column, the figure alone on the bar.
    assert [th.text for th in figure.find("table/thead/tr")] == ["Vaihtoehto", "Pisteet"]
    values = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "chart-value"]
    assert values == ["5", "2"]


def test_long_labels_are_cut_in_the_drawing_only(app: Any, db: Any) -> None:
    label = "Yhdistysten yhteinen uutiskirje, joka kertoo avustuksista ja tiloista kuukausittain"
    figure = _parse(bar_chart([Bar(label, 1, 1.0)], title="T", chart_id="c", with_table=True))
    drawn = next(t.text for t in figure.iter(f"{SVG}text") if t.get("class") == "chart-label")
    assert drawn.endswith("…") and len(drawn) <= 60
    assert figure.find("table/tbody/tr/th").text == label


def test_empty_chart_still_parses(app: Any, db: Any) -> None:
    figure = _parse(bar_chart([], title="Ei vastauksia", chart_id="e"))
    assert figure.find(f".//{SVG}svg").get("role") == "img"
