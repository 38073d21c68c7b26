"""Drafts: Markdown or Word turned into sanitised sections, and frozen versions of them.

Word goes through mammoth and Markdown through markdown-it-py (raw HTML off); both come out as
HTML that nh3 cuts down to a small allow-list before it is split at the top headings. Nothing
typed by staff is ever stored as HTML: a section is edited as Markdown (converted back from its
HTML) and the edit becomes a new version, so a round's text never moves under its comments.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from participation.errors import Conflict, Invalid, NotFound
from participation.rounds.models import Draft, DraftVersion, Round, Section

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A .docx is a zip: refuse one that would unpack to more than this (a "zip bomb").
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
MAX_MARKDOWN_CHARS = 500_000
MAX_SECTIONS = 300
TITLE_MAX = 300
HEADING_MAX = 300
NOTE_MAX = 300
ANCHOR_MAX = 80

BODY_TAGS = {
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "a",
    "blockquote",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
# While splitting, the top headings must survive; they become section headings, never body.
SPLIT_TAGS = BODY_TAGS | {"h1", "h2"}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer"
HEADINGS = {f"h{n}": n for n in range(1, 7)}

_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


def _only_absolute_links(tag: str, attribute: str, value: str) -> str | None:
    # nh3 passes relative URLs through; a draft links only to full addresses.
    if tag == "a" and attribute == "href":
        return value if value.strip().lower().startswith(_LINK_PREFIXES) else None
    return value


_LINK_PREFIXES = ("http://", "https://", "mailto:")


def clean_html(fragment: str, tags: set[str]) -> str:
    """`fragment` cut down to `tags`: no scripts, styles or handlers; links only to http(s)
    and mailto, marked nofollow (also the evening summary's sanitiser)."""
    return nh3.clean(
        fragment,
        tags=tags,
        clean_content_tags={"script", "style"},
        attributes={"a": {"href"}},
        attribute_filter=_only_absolute_links,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()


def sanitise(fragment: str) -> str:
    """HTML cut down to what a section body may hold: no images, styles, scripts or handlers;
    links only to http(s) and mailto, marked nofollow."""
    return clean_html(fragment, BODY_TAGS)


# --- reading a document ---------------------------------------------------------------------


@dataclass
class ParsedSection:
    heading: str
    level: int
    body_html: str
    anchor: str = ""


@dataclass
class ParsedDraft:
    source_format: str
    sections: list[ParsedSection]
    # The document's own title (a lone h1 above h2 sections), offered when none was typed.
    title: str = ""


def markdown_to_html(text: str) -> str:
    return _markdown.render(text)


def _not_word() -> Invalid:
    message = _("The file is not a Word document (.docx). Save it in Word as .docx and try again.")
    return Invalid(message, {"file": [message]})


def docx_to_html(data: bytes) -> str:
    """Raises Invalid for anything that is not a readable .docx."""
    import mammoth

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _not_word() from exc
    if "word/document.xml" not in names:
        raise _not_word()
    if unpacked > MAX_UNPACKED_BYTES:
        message = _("The Word document is too large to read. Split it or remove its pictures.")
        raise Invalid(message, {"file": [message]})
    try:
        # Pictures are not carried over: they become nothing rather than data: URLs.
        result = mammoth.convert_to_html(
            io.BytesIO(data), convert_image=mammoth.images.img_element(lambda image: {})
        )
    except Exception as exc:  # mammoth raises many kinds of errors for broken files
        raise _not_word() from exc
    return result.value


class _Splitter(HTMLParser):
    """Cuts sanitised HTML at top-level headings of the chosen levels, re-serialising the rest.

    The pieces are sanitised again afterwards, so this only has to be correct, not safe.
    """

    VOID = {"br"}

    def __init__(self, levels: set[int]) -> None:
        super().__init__(convert_charrefs=True)
        self.levels = levels
        self.depth = 0
        # (level, heading text, body parts); level 0 is the text before the first heading.
        self.pieces: list[tuple[int, list[str], list[str]]] = [(0, [], [])]
        self.in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        level = HEADINGS.get(tag)
        if self.depth == 0 and level in self.levels:
            self.pieces.append((level, [], []))
            self.in_heading = True
        elif not self.in_heading:
            attributes = "".join(
                f' {name}="{html.escape(value or "", quote=True)}"' for name, value in attrs
            )
            self.pieces[-1][2].append(f"<{tag}{attributes}>")
        if tag not in self.VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        self.depth = max(0, self.depth - 1)
        if self.in_heading:
            if self.depth == 0:
                self.in_heading = False
            return
        self.pieces[-1][2].append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if self.in_heading:
            self.pieces[-1][1].append(data)
        else:
            self.pieces[-1][2].append(html.escape(data, quote=False))


def _top_levels(cleaned: str) -> tuple[set[int], bool]:
    """The heading levels to split at, and whether a lone h1 is the document's title."""
    present = {int(m) for m in re.findall(r"<h([1-6])>", cleaned)}
    if not present:
        return set(), False
    # "# Title" opening the document, then "## Chapter"s: the h1 names the document.
    lone_h1 = 1 in present and 2 in present and len(re.findall(r"<h1>", cleaned)) == 1
    if lone_h1 and cleaned.lstrip().startswith("<h1>"):
        return {1, 2}, True
    top = {level for level in present if level <= 2} or {min(present)}
    return top, False


def anchor_for(text: str, taken: set[str]) -> str:
    """A readable #anchor from a heading ("Tilat ja välineet" → "tilat-ja-valineet"), unique."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:ANCHOR_MAX] or "section"
    slug = slug.strip("-")
    if slug[0].isdigit():
        slug = f"s-{slug}"[:ANCHOR_MAX]
    candidate, n = slug, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate = slug[: ANCHOR_MAX - len(suffix)] + suffix
        n += 1
    taken.add(candidate)
    return candidate


def split_sections(raw_html: str) -> tuple[list[ParsedSection], str]:
    """Sections from HTML: one per top heading, the text before the first one an introduction.
    Returns the sections and the document's title when a lone h1 stood above h2 sections."""
    cleaned = clean_html(raw_html, SPLIT_TAGS)
    levels, h1_is_title = _top_levels(cleaned)
    splitter = _Splitter(levels)
    splitter.feed(cleaned)
    splitter.close()
    title = ""
    sections: list[ParsedSection] = []
    pieces = splitter.pieces
    if h1_is_title:
        # The h1 names the document; the text between it and the first h2 is the introduction.
        intro_level, intro_heading, intro_body = pieces[0]
        title_piece = next(i for i, p in enumerate(pieces) if p[0] == 1)
        title = " ".join("".join(pieces[title_piece][1]).split())
        pieces = [
            (0, [], intro_body + pieces[title_piece][2]),
            *(p for i, p in enumerate(pieces[1:], start=1) if i != title_piece),
        ]
    section_level = 2 if h1_is_title else (min(levels) if levels else 2)
    for level, heading_parts, body_parts in pieces:
        heading = " ".join("".join(heading_parts).split())[:HEADING_MAX]
        body = sanitise("".join(body_parts))
        if level == 0:
            if not _has_text(body):
                continue
            heading, level = _("Introduction"), section_level
        sections.append(ParsedSection(heading=heading or "–", level=level, body_html=body))
    return sections, title


def _has_text(fragment: str) -> bool:
    return bool(re.sub(r"<[^>]+>", "", fragment).strip())


def _finish(sections: list[ParsedSection]) -> list[ParsedSection]:
    if not sections:
        message = _("The document has no text. Check the file or the pasted text.")
        raise Invalid(message, {"text": [message], "file": [message]})
    if len(sections) > MAX_SECTIONS:
        message = _("The document has more than %(n)s sections.", n=MAX_SECTIONS)
        raise Invalid(message, {"text": [message], "file": [message]})
    taken: set[str] = set()
    for section in sections:
        section.anchor = anchor_for(section.heading, taken)
    return sections


def parse_markdown(text: str, *, source_format: str = "pasted") -> ParsedDraft:
    if len(text) > MAX_MARKDOWN_CHARS:
        message = _("The text is too long (at most %(n)s characters).", n=MAX_MARKDOWN_CHARS)
        raise Invalid(message, {"text": [message]})
    sections, title = split_sections(markdown_to_html(text))
    return ParsedDraft(source_format, _finish(sections), title)


def parse_upload(filename: str, data: bytes) -> ParsedDraft:
    """A .md or .docx file as sections. Raises Invalid (too large, wrong kind, unreadable)."""
    if len(data) > MAX_UPLOAD_BYTES:
        message = _(
            "The file is too large (at most %(mb)s MB). Remove pictures from it or split it.",
            mb=MAX_UPLOAD_BYTES // (1024 * 1024),
        )
        raise Invalid(message, {"file": [message]})
    name = (filename or "").lower()
    if name.endswith(".docx"):
        sections, title = split_sections(docx_to_html(data))
        return ParsedDraft("docx", _finish(sections), title)
    if name.endswith((".md", ".markdown", ".txt")):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            message = _("Save the Markdown file as UTF-8 text and try again.")
            raise Invalid(message, {"file": [message]}) from exc
        return parse_markdown(text, source_format="markdown")
    message = _("Upload a Markdown (.md) or Word (.docx) file.")
    raise Invalid(message, {"file": [message]})


# --- back to Markdown, for the edit box ------------------------------------------------------


_ESCAPE = re.compile(r"([\\`*_\[\]])")
_LINE_START = re.compile(r"^(\s*)([#>+-]|\d+[.)])", re.MULTILINE)


@dataclass
class _Block:
    tag: str
    parts: list[str] = field(default_factory=list)


class _ToMarkdown(HTMLParser):
    """The allow-listed HTML of a section body as Markdown that renders back to the same HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.inline: list[str] = []
        self.lists: list[list[int | str]] = []  # [kind, counter]
        self.quote = 0
        self.links: list[str] = []
        self.table: list[list[str]] | None = None
        self.cell: list[str] | None = None
        self.heading = 0
        self.pending_item = ""

    # inline text
    def _emit(self, text: str) -> None:
        (self.cell if self.cell is not None else self.inline).append(text)

    def _flush(self) -> None:
        text = "".join(self.inline).strip()
        self.inline = []
        if not text and not self.pending_item:
            return
        text = _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
        if self.heading:
            text = "#" * self.heading + " " + text
        prefix = self.pending_item
        indent = "   " * max(0, len(self.lists) - 1)
        if prefix:
            lines = text.split("\n")
            text = "\n".join([prefix + lines[0], *(indent + "   " + ln for ln in lines[1:])])
            self.pending_item = ""
        elif self.lists:
            text = "\n".join(indent + "   " + ln for ln in text.split("\n"))
        if self.quote:
            text = "\n".join(("> " * self.quote + ln).rstrip() for ln in text.split("\n"))
        self.out.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("p", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "table"):
            self._flush()
        if tag in ("h3", "h4", "h5", "h6"):
            self.heading = HEADINGS[tag]
        elif tag == "blockquote":
            self.quote += 1
        elif tag in ("ul", "ol"):
            self.lists.append([tag, 0])
        elif tag == "li" and self.lists:
            kind = self.lists[-1]
            kind[1] = int(kind[1]) + 1
            marker = f"{kind[1]}. " if kind[0] == "ol" else "- "
            self.pending_item = "   " * (len(self.lists) - 1) + marker
        elif tag == "strong":
            self._emit("**")
        elif tag == "em":
            self._emit("*")
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
            self._emit("[")
        elif tag == "br":
            self._emit("\\\n")
        elif tag == "table":
            self.table = []
        elif tag == "tr" and self.table is not None:
            self.table.append([])
        elif tag in ("td", "th") and self.table is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "h3", "h4", "h5", "h6", "li"):
            self._flush()
            self.heading = 0
        elif tag == "blockquote":
            self._flush()
            self.quote = max(0, self.quote - 1)
        elif tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
        elif tag == "strong":
            self._emit("**")
        elif tag == "em":
            self._emit("*")
        elif tag == "a":
            href = self.links.pop() if self.links else ""
            self._emit(f"]({href.replace(' ', '%20').replace(')', '%29')})")
        elif tag in ("td", "th") and self.table is not None and self.cell is not None:
            text = "".join(self.cell).replace("\n", " ").replace("|", "\\|").strip()
            if self.table:
                self.table[-1].append(text)
            self.cell = None
        elif tag == "table" and self.table is not None:
            rows, self.table = [r for r in self.table if r], None
            if rows:
                width = max(len(r) for r in rows)
                rows = [r + [""] * (width - len(r)) for r in rows]
                lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
                lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
                self.out.append("\n".join(lines))

    def handle_data(self, data: str) -> None:
        if self.table is not None and self.cell is None:
            return
        text = _ESCAPE.sub(r"\\\1", data)
        if self.cell is None:
            text = re.sub(r"\s*\n\s*", " ", text)
        self._emit(text)


def html_to_markdown(fragment: str) -> str:
    parser = _ToMarkdown()
    parser.feed(sanitise(fragment))
    parser.close()
    parser._flush()
    blocks: list[str] = []
    for block in parser.out:
        # List items of one list stay together; everything else is a paragraph of its own.
        is_item = bool(re.match(r"^(>\s)*\s*(- |\d+\. )", block))
        if blocks and is_item and blocks[-1].endswith("\x00item"):
            blocks[-1] = blocks[-1][: -len("\x00item")] + "\n" + block + "\x00item"
        else:
            blocks.append(block + ("\x00item" if is_item else ""))
    return "\n\n".join(b.removesuffix("\x00item") for b in blocks).strip() + "\n"


# --- stored drafts ----------------------------------------------------------------------------


def _check_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        message = _("Give the draft a title.")
        raise Invalid(message, {"title": [message]})
    if len(title) > TITLE_MAX:
        message = _("Use at most %(n)s characters.", n=TITLE_MAX)
        raise Invalid(message, {"title": [message]})
    return title


def _check_note(note: str) -> str:
    note = " ".join((note or "").split())
    if len(note) > NOTE_MAX:
        message = _("Use at most %(n)s characters.", n=NOTE_MAX)
        raise Invalid(message, {"note": [message]})
    return note


def read_source(*, text: str = "", filename: str = "", data: bytes | None = None) -> ParsedDraft:
    """The document from an uploaded file or pasted Markdown. Raises Invalid."""
    if data:
        if (text or "").strip():
            message = _("Give either a file or pasted text, not both.")
            raise Invalid(message, {"file": [message]})
        return parse_upload(filename, data)
    if not (text or "").strip():
        message = _("Paste the draft's text or choose a file.")
        raise Invalid(message, {"text": [message]})
    return parse_markdown(text)


def _add_version(
    session: Session, draft: Draft, parsed: ParsedDraft, note: str, now: dt.datetime
) -> DraftVersion:
    number = (
        session.scalar(
            select(func.max(DraftVersion.number)).where(DraftVersion.draft_id == draft.id)
        )
        or 0
    ) + 1
    version = DraftVersion(
        draft_id=draft.id,
        number=number,
        source_format=parsed.source_format,
        note=note,
        created_at=now,
        sections=[
            Section(
                position=i,
                level=s.level,
                heading=s.heading[:HEADING_MAX],
                anchor=s.anchor,
                body_html=s.body_html,
            )
            for i, s in enumerate(parsed.sections, start=1)
        ],
    )
    try:
        with session.begin_nested():
            draft.versions.append(version)  # keeps a loaded draft's list of versions current
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            _("Someone saved another version at the same moment. Reload the page and check it.")
        ) from exc
    return version


def create_draft(
    session: Session,
    *,
    title: str,
    parsed: ParsedDraft,
    note: str = "",
    staff_user_id: int | None,
    now: dt.datetime,
) -> Draft:
    """A draft with its first version. An empty title takes the document's own. Raises Invalid."""
    title = _check_title(title or parsed.title)
    draft = Draft(title=title, created_at=now, created_by_id=staff_user_id)
    session.add(draft)
    session.flush()
    _add_version(session, draft, parsed, _check_note(note), now)
    return draft


def add_version(
    session: Session, draft_id: int, *, parsed: ParsedDraft, note: str, now: dt.datetime
) -> DraftVersion:
    """A new version from a new upload or paste. Raises NotFound, Invalid or Conflict."""
    draft = get_draft(session, draft_id)
    return _add_version(session, draft, parsed, _check_note(note), now)


def edit_section(
    session: Session,
    draft_id: int,
    section_id: int,
    *,
    heading: str,
    markdown: str,
    note: str = "",
    now: dt.datetime,
) -> DraftVersion:
    """A new version: the newest one's sections with this one's heading and text replaced.

    Only a section of the newest version can be edited (older ones are history). Raises
    NotFound, WrongState-like Conflict for an old version, Invalid for an empty heading.
    """
    draft = get_draft(session, draft_id)
    latest = draft.versions[-1]
    target = next((s for s in latest.sections if s.id == section_id), None)
    if target is None:
        if session.get(Section, section_id) is None:
            raise NotFound(_("No such section."))
        raise Conflict(_("Only the newest version can be edited. Open it and edit there."))
    heading = " ".join((heading or "").split())
    errors: dict[str, list[str]] = {}
    if not heading:
        errors["heading"] = [_("Give the section a heading.")]
    elif len(heading) > HEADING_MAX:
        errors["heading"] = [_("Use at most %(n)s characters.", n=HEADING_MAX)]
    if len(markdown or "") > MAX_MARKDOWN_CHARS:
        errors["body"] = [
            _("The text is too long (at most %(n)s characters).", n=MAX_MARKDOWN_CHARS)
        ]
    if errors:
        raise Invalid(next(iter(errors.values()))[0], errors)
    # Headings typed into the body are kept as sub-headings: h1/h2 would start a new section.
    body = sanitise(_demote(markdown_to_html(markdown or "")))
    sections = []
    for s in latest.sections:
        edited = s.id == section_id
        sections.append(
            ParsedSection(
                heading=heading if edited else s.heading,
                level=s.level,
                body_html=body if edited else s.body_html,
                anchor=s.anchor,
            )
        )
    if heading != target.heading:
        # A new heading gets a new anchor; the others keep theirs, so links to them still work.
        index = next(i for i, s in enumerate(latest.sections) if s.id == section_id)
        taken = {s.anchor for i, s in enumerate(sections) if i != index}
        sections[index].anchor = anchor_for(heading, taken)
    default_note = _("Edited: %(heading)s", heading=heading)
    return _add_version(
        session,
        draft,
        ParsedDraft("pasted", sections),
        _check_note(note) or default_note[:NOTE_MAX],
        now,
    )


def _demote(fragment: str) -> str:
    return re.sub(r"<(/?)h[12]>", r"<\1h3>", fragment)


def get_draft(session: Session, draft_id: int) -> Draft:
    """The draft with its versions and their sections. Raises NotFound."""
    draft = session.scalar(
        select(Draft)
        .where(Draft.id == draft_id)
        .options(selectinload(Draft.versions).selectinload(DraftVersion.sections))
    )
    if draft is None:
        raise NotFound(_("No such draft."))
    return draft


def get_version(session: Session, version_id: int) -> DraftVersion:
    version = session.scalar(
        select(DraftVersion)
        .where(DraftVersion.id == version_id)
        .options(selectinload(DraftVersion.sections))
    )
    if version is None:
        raise NotFound(_("No such draft version."))
    return version


@dataclass(frozen=True)
class DraftRow:
    draft: Draft
    versions: int
    rounds: int


def list_drafts(session: Session, *, page: int, per_page: int) -> tuple[list[DraftRow], int]:
    """Drafts, newest first, with their number of versions and rounds: three queries."""
    total = session.scalar(select(func.count(Draft.id))) or 0
    drafts = list(
        session.scalars(
            select(Draft)
            .order_by(Draft.created_at.desc(), Draft.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    ids = [d.id for d in drafts]
    versions = dict(
        session.execute(
            select(DraftVersion.draft_id, func.count(DraftVersion.id))
            .where(DraftVersion.draft_id.in_(ids))
            .group_by(DraftVersion.draft_id)
        ).all()
    )
    rounds = dict(
        session.execute(
            select(DraftVersion.draft_id, func.count(Round.id))
            .join(Round, Round.draft_version_id == DraftVersion.id)
            .where(DraftVersion.draft_id.in_(ids))
            .group_by(DraftVersion.draft_id)
        ).all()
    )
    return [DraftRow(d, versions.get(d.id, 0), rounds.get(d.id, 0)) for d in drafts], total


def list_version_choices(session: Session) -> list[tuple[DraftVersion, Draft]]:
    """Every version of every draft, newest draft and version first: for a round's picker."""
    rows = session.execute(
        select(DraftVersion, Draft)
        .join(Draft, Draft.id == DraftVersion.draft_id)
        .order_by(Draft.created_at.desc(), Draft.id.desc(), DraftVersion.number.desc())
    ).all()
    return [(v, d) for v, d in rows]


def count_rounds_by_version(session: Session, draft_id: int) -> dict[int, int]:
    return dict(
        session.execute(
            select(Round.draft_version_id, func.count(Round.id))
            .join(DraftVersion, DraftVersion.id == Round.draft_version_id)
            .where(DraftVersion.draft_id == draft_id)
            .group_by(Round.draft_version_id)
        ).all()
    )
