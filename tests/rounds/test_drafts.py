"""Drafts: Markdown and Word into sanitised sections, frozen versions, editing as Markdown."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import docx
import pytest

from participation.errors import Conflict, Invalid
from participation.rounds import drafts
from participation.rounds.models import Section


def _docx(build: Any) -> bytes:
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_markdown_is_split_at_the_top_headings_with_an_introduction() -> None:
    parsed = drafts.parse_markdown(
        "Alkusanat ennen otsikkoa.\n\n# Tausta\n\nTekstiä **lihavoitu**.\n\n## Tilat ja välineet\n\n"
        "- yksi\n- kaksi\n\n### Kylätalot\n\nAlaotsikon teksti.\n"
    )
    headings = [s.heading for s in parsed.sections]
    assert headings == ["Introduction", "Tausta", "Tilat ja välineet"]
    intro, background, premises = parsed.sections
    assert intro.body_html == "<p>Alkusanat ennen otsikkoa.</p>"
    assert "<strong>lihavoitu</strong>" in background.body_html
    # Deeper headings stay inside their section.
    assert "<h3>Kylätalot</h3>" in premises.body_html and "<li>kaksi</li>" in premises.body_html
    assert [s.anchor for s in parsed.sections] == ["introduction", "tausta", "tilat-ja-valineet"]


def test_the_top_level_present_is_used_when_there_are_no_h1_or_h2() -> None:
    parsed = drafts.parse_markdown("### Yksi\n\nA\n\n#### Ali\n\nB\n\n### Kaksi\n\nC\n")
    assert [s.heading for s in parsed.sections] == ["Yksi", "Kaksi"]
    assert "<h4>Ali</h4>" in parsed.sections[0].body_html


def test_a_word_document_becomes_sections() -> None:
    def build(d: Any) -> None:
        d.add_heading("Esimerkkilän yhdistysohjelma", 1)
        d.add_paragraph("Johdanto ennen lukuja.")
        d.add_heading("Tausta", 2)
        p = d.add_paragraph("Yhdistyksiä on ")
        p.add_run("paljon").bold = True
        d.add_paragraph("ensimmäinen kohta", style="List Bullet")
        d.add_heading("Tilat", 2)
        d.add_paragraph("<script>alert('x')</script> salit iltaisin")

    parsed = drafts.parse_upload("ohjelma.docx", _docx(build))
    assert parsed.source_format == "docx"
    # A lone h1 above the h2 sections is the document's title, offered as the draft's title.
    assert parsed.title == "Esimerkkilän yhdistysohjelma"
    assert [s.heading for s in parsed.sections] == ["Introduction", "Tausta", "Tilat"]
    assert "<strong>paljon</strong>" in parsed.sections[1].body_html
    assert "<li>ensimmäinen kohta</li>" in parsed.sections[1].body_html
    assert "&lt;script&gt;" in parsed.sections[2].body_html
    assert "<script" not in parsed.sections[2].body_html


def test_hostile_markup_is_removed_and_links_made_safe() -> None:
    raw = (
        '<p onclick="steal()" style="color:red">Hei <img src="file:///etc/passwd" onerror="x()">'
        '<a href="javascript:alert(1)">js</a> <a href="/relative">rel</a> '
        '<a href="https://example.fi/a">ok</a> <a href="mailto:a@example.fi">mail</a></p>'
        "<script>bad()</script><style>p{}</style><iframe src='https://evil.example'></iframe>"
        '<table><tr><td>solu</td></tr></table><div class="x">div</div>'
    )
    clean = drafts.sanitise(raw)
    for banned in ("onclick", "style", "<img", "javascript:", "/relative", "<script", "bad()",
                   "<iframe", "<div", "class="):  # fmt: skip
        assert banned not in clean, banned
    assert '<a href="https://example.fi/a" rel="nofollow noopener noreferrer">ok</a>' in clean
    assert 'href="mailto:a@example.fi"' in clean
    assert "<td>solu</td>" in clean and "div" in clean
    # Markdown's own raw HTML is shown as text, never as markup.
    parsed = drafts.parse_markdown(
        "# Otsikko\n\n<script>alert(1)</script> ![kuva](http://x/y.png)\n"
    )
    assert "&lt;script&gt;" in parsed.sections[0].body_html
    assert "<img" not in parsed.sections[0].body_html


def test_uploads_that_cannot_be_read_get_a_clear_message() -> None:
    with pytest.raises(Invalid) as not_word:
        drafts.parse_upload("ohjelma.docx", b"%PDF-1.7 not a word file")
    assert "file" in not_word.value.errors and ".docx" in not_word.value.message
    zipped = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("hello.txt", "not word")
    with pytest.raises(Invalid) as plain_zip:
        drafts.parse_upload("ohjelma.docx", zipped.getvalue())
    assert "file" in plain_zip.value.errors
    with pytest.raises(Invalid) as too_large:
        drafts.parse_upload("iso.md", b"a" * (drafts.MAX_UPLOAD_BYTES + 1))
    assert "5 MB" in too_large.value.message
    with pytest.raises(Invalid):
        drafts.parse_upload("kuva.png", b"\x89PNG")
    with pytest.raises(Invalid):
        drafts.parse_upload("latin1.md", "# Äiti\n".encode("latin-1"))
    with pytest.raises(Invalid):
        drafts.parse_markdown("   \n\n")


def test_versions_are_frozen_and_editing_makes_a_new_one(
    db: Any, make_draft: Any, now: dt.datetime
) -> None:
    draft = make_draft()
    first = draft.versions[0]
    premises = next(s for s in first.sections if s.heading == "Tilat")
    before = [(s.id, s.heading, s.body_html) for s in first.sections]

    second = drafts.edit_section(
        db,
        draft.id,
        premises.id,
        heading="Tilat ja salit",
        markdown="Salit ovat **maksuttomia**.\n\n# Iso otsikko\n\n<b>ei html:ää</b>",
        now=now,
    )
    db.commit()
    assert second.number == 2 and "Tilat ja salit" in second.note
    db.expire_all()
    again = drafts.get_draft(db, draft.id)
    assert [(s.id, s.heading, s.body_html) for s in again.versions[0].sections] == before
    edited = next(s for s in again.versions[1].sections if s.heading == "Tilat ja salit")
    assert "<strong>maksuttomia</strong>" in edited.body_html
    # A heading typed into the body is a sub-heading, never a new section.
    assert "<h3>Iso otsikko</h3>" in edited.body_html and "&lt;b&gt;" in edited.body_html
    assert len(again.versions[1].sections) == len(again.versions[0].sections)
    assert edited.anchor == "tilat-ja-salit"

    with pytest.raises(Conflict):  # an old version's section is history
        drafts.edit_section(db, draft.id, premises.id, heading="X", markdown="Y", now=now)
    with pytest.raises(Invalid) as empty:
        drafts.edit_section(db, draft.id, edited.id, heading=" ", markdown="Y", now=now)
    assert "heading" in empty.value.errors
    assert db.query(Section).filter_by(version_id=first.id).count() == len(before)


def test_the_edit_box_gets_markdown_that_renders_back_the_same() -> None:
    parsed = drafts.parse_markdown(
        "# Luku\n\nTeksti *kursiivilla* ja [linkki](https://example.fi/a_b).\\\nUusi rivi.\n\n"
        "1. eka\n2. toka\n\n- a\n   - sisempi\n\n> lainaus\n\n### Ala\n\n| a | b |\n| --- | --- |\n"
        "| 1 | 2 \\| 3 |\n\nTähti * ja alaviiva_ jäävät tekstiksi. 3. ei lista\n"
    )
    body = parsed.sections[0].body_html
    markdown = drafts.html_to_markdown(body)
    assert drafts.sanitise(drafts.markdown_to_html(markdown)) == body
