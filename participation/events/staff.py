"""The staff's side of registrations: the filtered list with its counts (seats per group,
answers per question), the figures of an event (registered, attended, no-shows, associations
present), the CSV/XLSX export, the printable sign-in sheet and the door's check-in list.

Registration changes themselves (phone registrations, moves, cancellations, attendance,
walk-ins) are the rules of `participation.events.services`; the views call those directly.

An event has at most a few hundred registrations, so free-text search is done in Python with
`casefold()`: SQLite's lower() folds ASCII only, and "Ämmälä" must be found as "ämmälä".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from forms.aggregate import aggregate
from forms.schema import text as localised
from participation.digests import pdf
from participation.errors import NotFound
from participation.events.models import (
    CANCELLED,
    CONFIRMED,
    STATUSES,
    WAITLISTED,
    Event,
    EventGroup,
    Registration,
)
from participation.events.services import event_form
from participation.formbuilder.models import FormResponse
from participation.pagination import Page
from participation.register.models import Association, Category

HELSINKI = ZoneInfo("Europe/Helsinki")
SEARCH_MAX = 100
# Empty rows at the end of a sign-in sheet, for walk-ins to write their names on.
BLANK_ROWS = 5

STATUS_LABELS = {
    CONFIRMED: _l("Confirmed"),
    WAITLISTED: _l("On the waitlist"),
    CANCELLED: _l("Cancelled"),
}
SOURCE_LABELS = {
    "web": _l("Online"),
    "staff": _l("Added by staff"),
    "walk_in": _l("Walk-in"),
}
# Filter values that are not ids.
NO_GROUP = "none"
NO_ASSOCIATION = "none"
ATTENDED_CHOICES = ("yes", "no")
# Question types whose answers are counted per option; texts are listed with the name.
CHOICE_TYPES = ("yes_no", "single_choice", "multiple_choice")
TEXT_TYPES = ("short_text", "long_text")


def shown_email(address: str) -> str:
    """The address as staff see it: "" for the placeholder of a walk-in who gave none (the
    reserved .invalid domain is never mailed)."""
    return "" if address.endswith(".invalid") else address


def _fold(value: str | None) -> str:
    return " ".join((value or "").casefold().split())


# --- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationFilter:
    status: str = ""  # "" or one of STATUSES
    group: str = ""  # "", NO_GROUP or a group id
    association: str = ""  # "", NO_ASSOCIATION or an association id
    attended: str = ""  # "", "yes" or "no"
    q: str = ""

    def as_args(self) -> dict[str, str]:
        """The non-default values as query arguments, for the pager, forms and export links."""
        args = {
            "status": self.status,
            "group": self.group,
            "association": self.association,
            "attended": self.attended,
            "q": self.q,
        }
        return {k: v for k, v in args.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def _id_or(value: str, special: str) -> str:
    if value == special:
        return value
    return value if value.isdigit() and len(value) < 12 else ""


def parse_filter(args: Mapping[str, Any]) -> RegistrationFilter:
    """Filters from query arguments; anything unknown falls back to "all"."""
    status = str(args.get("status") or "")
    attended = str(args.get("attended") or "")
    return RegistrationFilter(
        status=status if status in STATUSES else "",
        group=_id_or(str(args.get("group") or ""), NO_GROUP),
        association=_id_or(str(args.get("association") or ""), NO_ASSOCIATION),
        attended=attended if attended in ATTENDED_CHOICES else "",
        q=" ".join(str(args.get("q") or "").split())[:SEARCH_MAX],
    )


# --- the list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationRow:
    """One registration as the staff's list shows it: `number` is its place in arrival order."""

    registration: Registration
    number: int
    association: str
    group: str

    @property
    def id(self) -> int:
        return self.registration.id

    @property
    def email(self) -> str:
        return shown_email(self.registration.email)


def _rows_query(event_id: int) -> Select[Any]:
    return (
        select(Registration, Association.name)
        .outerjoin(Association, Association.id == Registration.association_id)
        .where(Registration.event_id == event_id)
        .options(selectinload(Registration.group))
        .order_by(Registration.id)
    )


def _matches(q: str, *values: str | None) -> bool:
    return all(any(word in _fold(v) for v in values) for word in _fold(q).split())


def _filtered(session: Session, event: Event, flt: RegistrationFilter) -> list[RegistrationRow]:
    """Every registration of the event passing the filters, in arrival order, numbered by their
    place among all the event's registrations (so a number stays the same under any filter)."""
    rows = session.execute(_rows_query(event.id)).all()
    out = []
    for number, (registration, association_name) in enumerate(rows, start=1):
        if flt.status and registration.status != flt.status:
            continue
        if flt.group == NO_GROUP and registration.group_id is not None:
            continue
        if flt.group.isdigit() and registration.group_id != int(flt.group):
            continue
        if flt.association == NO_ASSOCIATION and registration.association_id is not None:
            continue
        if flt.association.isdigit() and registration.association_id != int(flt.association):
            continue
        if flt.attended and (registration.attended_at is not None) != (flt.attended == "yes"):
            continue
        if flt.q and not _matches(flt.q, registration.name, registration.email, association_name):
            continue
        out.append(
            RegistrationRow(
                registration,
                number,
                association_name or "",
                registration.group.name if registration.group else "",
            )
        )
    return out


def list_registrations(
    session: Session, event: Event, flt: RegistrationFilter, *, page: int, per_page: int
) -> Page:
    """One page of the filtered registrations (RegistrationRow), in arrival order. A page past
    the end shows the last one."""
    rows = _filtered(session, event, flt)
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    return Page(rows[start : start + per_page], page, per_page, len(rows))


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def list_filter_associations(session: Session, event: Event) -> list[Choice]:
    """The associations that have registered for the event, by name, for the filter."""
    rows = session.execute(
        select(Association.id, Association.name)
        .join(Registration, Registration.association_id == Association.id)
        .where(Registration.event_id == event.id)
        .distinct()
    ).all()
    return [Choice(str(i), name) for i, name in sorted(rows, key=lambda r: _fold(r[1]))]


def list_active_associations(session: Session) -> list[Choice]:
    """Associations someone may be registered for (active, not merged away), by name."""
    rows = session.execute(
        select(Association.id, Association.name).where(
            Association.active.is_(True), Association.merged_into_id.is_(None)
        )
    ).all()
    return [Choice(str(i), name) for i, name in sorted(rows, key=lambda r: _fold(r[1]))]


# --- counts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCount:
    group: EventGroup
    taken: int  # confirmed seats
    waitlisted: int  # waitlisted seats

    @property
    def full(self) -> bool:
        return self.group.capacity is not None and self.taken >= self.group.capacity


@dataclass(frozen=True)
class OptionCount:
    label: str
    count: int


@dataclass(frozen=True)
class NamedText:
    name: str
    association: str
    text: str


@dataclass(frozen=True)
class AnswerCount:
    """One question: `options` counted per person for choices, `texts` with names for texts."""

    key: str
    label: str
    type: str
    answered: int
    options: list[OptionCount] = field(default_factory=list)
    texts: list[NamedText] = field(default_factory=list)
    sensitive: bool = False


@dataclass(frozen=True)
class Counts:
    capacity: int | None
    taken: int  # confirmed seats
    registrations: int  # confirmed registrations
    waitlisted: int  # waitlisted seats
    cancelled: int  # cancelled registrations
    groups: list[GroupCount]
    without_group: int  # confirmed seats outside any group
    answers: list[AnswerCount]


def _answers_by_registration(
    session: Session, registrations: list[Registration]
) -> dict[int, dict[str, Any]]:
    ids = [r.response_id for r in registrations if r.response_id is not None]
    if not ids:
        return {}
    responses = dict(
        session.execute(
            select(FormResponse.id, FormResponse.answers).where(FormResponse.id.in_(ids))
        ).all()
    )
    return {
        r.id: dict(responses.get(r.response_id) or {})
        for r in registrations
        if r.response_id is not None
    }


def _option_label(question: Mapping[str, Any], key: str, locale: str) -> str:
    if question["type"] == "yes_no":
        return _("yes") if key == "yes" else _("no")
    for option in question.get("options") or []:
        if option["key"] == key:
            return localised(option["label"], locale)
    return key


def count_answers(
    session: Session, event: Event, registrations: list[Registration], *, locale: str
) -> list[AnswerCount]:
    """The registration questions summed over `registrations` (the confirmed ones: those who
    come). Choices are counted per person, so a party of three answering "coffee: yes" makes
    three coffees; texts (diets, accessibility needs) are listed with whose they are."""
    definition = event_form(session, event)
    if definition is None:
        return []
    schema = definition.schema
    answers = _answers_by_registration(session, registrations)
    # The form engine's tally, each answer given once per seat.
    weighted = [answers.get(r.id, {}) for r in registrations for _seat in range(r.seats)]
    tallies = aggregate(schema, weighted)
    associations = _association_names(session, {r.association_id for r in registrations})
    out = []
    for question in schema.get("questions", []):
        key, qtype = question["key"], question["type"]
        if qtype == "info" or key not in tallies:
            continue
        tally = tallies[key]
        options: list[OptionCount] = []
        texts: list[NamedText] = []
        answered = sum(1 for r in registrations if _is_answered(answers.get(r.id, {}).get(key)))
        if qtype in CHOICE_TYPES:
            options = [
                OptionCount(_option_label(question, c["key"], locale), c["count"])
                for c in tally["counts"]
            ]
        elif qtype in TEXT_TYPES:
            texts = [
                NamedText(
                    r.name,
                    associations.get(r.association_id, "") if r.association_id else "",
                    str(answers[r.id][key]).strip(),
                )
                for r in sorted(registrations, key=lambda r: _fold(r.name))
                if isinstance(answers.get(r.id, {}).get(key), str) and answers[r.id][key].strip()
            ]
        out.append(
            AnswerCount(
                key=key,
                label=localised(question["label"], locale),
                type=qtype,
                answered=answered,
                options=options,
                texts=texts,
                sensitive=key in (event.sensitive_keys or []),
            )
        )
    return out


def _is_answered(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list):
        return bool(value)
    return True


def _association_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(
        session.execute(
            select(Association.id, Association.name).where(Association.id.in_(wanted))
        ).all()
    )


def count_registrations(session: Session, event: Event, *, locale: str) -> Counts:
    """Seats taken and waitlisted, overall and per group, and the answers of those coming."""
    registrations = list(
        session.scalars(
            select(Registration).where(Registration.event_id == event.id).order_by(Registration.id)
        )
    )
    confirmed = [r for r in registrations if r.status == CONFIRMED]
    waitlisted = [r for r in registrations if r.status == WAITLISTED]

    def seats(rows: list[Registration], group_id: int | None) -> int:
        return sum(r.seats for r in rows if r.group_id == group_id)

    return Counts(
        capacity=event.capacity,
        taken=sum(r.seats for r in confirmed),
        registrations=len(confirmed),
        waitlisted=sum(r.seats for r in waitlisted),
        cancelled=sum(1 for r in registrations if r.status == CANCELLED),
        groups=[
            GroupCount(g, seats(confirmed, g.id), seats(waitlisted, g.id)) for g in event.groups
        ],
        without_group=seats(confirmed, None),
        answers=count_answers(session, event, confirmed, locale=locale),
    )


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryPresent:
    """Associations present under one register category ("" for those without one)."""

    category: str
    associations: list[str]


@dataclass(frozen=True)
class Figures:
    registered: int  # confirmed seats (walk-ins included: they are confirmed at the door)
    attended: int  # seats of registrations marked attended
    no_shows: int | None  # confirmed seats not marked attended; None until the event is over
    waitlisted: int  # waitlisted seats
    cancelled: int  # cancelled registrations
    walk_ins: int
    associations_present: int
    by_category: list[CategoryPresent]
    past: bool


def event_figures(session: Session, event: Event, *, now: dt.datetime, locale: str) -> Figures:
    """The figures of an event: who registered, who came, who did not, which associations
    were present (by register category, in the register's order; uncategorised last)."""
    registrations = list(
        session.scalars(select(Registration).where(Registration.event_id == event.id))
    )
    active = [r for r in registrations if r.status != CANCELLED]
    confirmed = [r for r in active if r.status == CONFIRMED]
    attended = [r for r in active if r.attended_at is not None]
    past = now >= event.ends_at
    present_ids = {r.association_id for r in attended if r.association_id is not None}
    rows = (
        session.execute(
            select(Association.name, Category)
            .outerjoin(Category, Category.id == Association.category_id)
            .where(Association.id.in_(present_ids))
        ).all()
        if present_ids
        else []
    )
    by_category: dict[int | None, tuple[Category | None, list[str]]] = {}
    for name, category in rows:
        key = category.id if category is not None else None
        by_category.setdefault(key, (category, []))[1].append(name)
    ordered = sorted(
        by_category.values(),
        key=lambda item: (
            item[0] is None,
            item[0].position if item[0] else 0,
            item[0].id if item[0] else 0,
        ),
    )
    return Figures(
        registered=sum(r.seats for r in confirmed),
        attended=sum(r.seats for r in attended),
        no_shows=sum(r.seats for r in confirmed if r.attended_at is None) if past else None,
        waitlisted=sum(r.seats for r in active if r.status == WAITLISTED),
        cancelled=len(registrations) - len(active),
        walk_ins=sum(1 for r in active if r.source == "walk_in"),
        associations_present=len(present_ids),
        by_category=[
            CategoryPresent(category.name(locale) if category else "", sorted(names, key=_fold))
            for category, names in ordered
        ],
        past=past,
    )


# --- export ---------------------------------------------------------------------------------


def _answer_text(question: Mapping[str, Any], value: Any, locale: str) -> str:
    """An answer as plain text for a spreadsheet cell."""
    if value is None:
        return ""
    qtype = question["type"]
    if qtype == "yes_no" and isinstance(value, bool):
        return _("yes") if value else _("no")
    if qtype == "single_choice" and isinstance(value, str):
        return _option_label(question, value, locale)
    if qtype in ("multiple_choice", "ranking") and isinstance(value, list):
        return "; ".join(_option_label(question, str(v), locale) for v in value)
    if qtype == "consent":
        return _("yes") if value is True else ""
    return str(value)


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(HELSINKI).strftime("%Y-%m-%d %H:%M") if moment else ""


def export_registrations(
    session: Session, event: Event, flt: RegistrationFilter, *, locale: str
) -> tuple[list[str], list[list[str]]]:
    """The filtered registrations with their answers as a header and rows of plain text for
    exporting.to_csv / to_xlsx (which neutralise formulas)."""
    definition = event_form(session, event)
    questions = [
        q
        for q in (definition.schema.get("questions", []) if definition else [])
        if q["type"] != "info"
    ]
    header = [
        _("Number"),
        _("Status"),
        _("Name"),
        _("E-mail"),
        _("Association"),
        _("Group"),
        _("People"),
        _("Registered by"),
        _("Registered at"),
        _("Attended"),
        *[localised(q["label"], locale) for q in questions],
    ]
    rows = _filtered(session, event, flt)
    answers = _answers_by_registration(session, [row.registration for row in rows])
    data = []
    for row in rows:
        r = row.registration
        given = answers.get(r.id, {})
        data.append(
            [
                str(row.number),
                str(STATUS_LABELS[r.status]),
                r.name,
                shown_email(r.email),
                row.association,
                row.group,
                str(r.seats),
                str(SOURCE_LABELS.get(r.source, r.source)),
                _local(r.created_at),
                _local(r.attended_at),
                *[_answer_text(q, given.get(q["key"]), locale) for q in questions],
            ]
        )
    return header, data


# --- the sign-in sheet ----------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    name: str
    association: str
    seats: int


@dataclass(frozen=True)
class Sheet:
    """One page group of the sign-in sheet: a breakout group, or everyone."""

    title: str
    facilitator: str
    rows: list[SheetRow]


def signin_sheets(session: Session, event: Event, group_id: int | None) -> list[Sheet]:
    """The confirmed registrations by name, for one group (`group_id`) or for everyone (None).
    Waitlisted and cancelled registrations are never on the sheet. Raises NotFound for a group
    not of this event."""
    groups = {g.id: g for g in event.groups}
    if group_id is not None and group_id not in groups:
        raise NotFound(_("No such group."))
    stmt = (
        select(Registration, Association.name)
        .outerjoin(Association, Association.id == Registration.association_id)
        .where(Registration.event_id == event.id, Registration.status == CONFIRMED)
    )
    if group_id is not None:
        stmt = stmt.where(Registration.group_id == group_id)
    rows = sorted(
        (SheetRow(r.name, name or "", r.seats) for r, name in session.execute(stmt).all()),
        key=lambda row: (_fold(row.name), _fold(row.association)),
    )
    if group_id is None:
        return [Sheet(_("All participants"), "", rows)]
    group = groups[group_id]
    return [Sheet(group.name, group.facilitator, rows)]


def render_signin_sheet(
    session: Session, event: Event, group_id: int | None, *, locale: str
) -> pdf.RenderedPdf:
    """The sign-in sheet as a tagged PDF, in `locale`. Raises NotFound, pdf.RenderFailed."""
    from participation.digests.services import render_options

    sheets = signin_sheets(session, event, group_id)
    with force_locale(locale):
        title = _("Sign-in sheet: %(title)s", title=event.title)
        if group_id is not None:
            title = f"{title} – {sheets[0].title}"
        html = render_template(
            "events/signin_sheet.html",
            title=title,
            language=locale,
            event={
                "title": event.title,
                "starts_at": event.starts_at,
                "ends_at": event.ends_at,
                "place": event.place,
            },
            sheets=sheets,
            show_seats=event.allow_party,
            blank_rows=BLANK_ROWS,
            municipality=current_app.config["MUNICIPALITY_NAME"],
            static_url=current_app.static_url_path,
        )
    return pdf.render_pdf(html, title=title, language=locale, **render_options())


# --- the door -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DoorCounts:
    attended: int  # people marked attended (confirmed or not)
    registered: int  # confirmed seats


@dataclass(frozen=True)
class DoorList:
    confirmed: list[RegistrationRow]
    waitlisted: list[RegistrationRow]
    counts: DoorCounts
    q: str


def door_counts(session: Session, event: Event) -> DoorCounts:
    registrations = session.scalars(
        select(Registration).where(
            Registration.event_id == event.id, Registration.status != CANCELLED
        )
    )
    return _door_counts(registrations)


def _door_counts(registrations: Iterable[Registration]) -> DoorCounts:
    attended = registered = 0
    for r in registrations:
        if r.attended_at is not None:
            attended += r.seats
        if r.status == CONFIRMED:
            registered += r.seats
    return DoorCounts(attended, registered)


def door_list(session: Session, event: Event, q: str = "") -> DoorList:
    """Everyone who may come, by name, matching `q` (words of the name, association or
    address): the confirmed and, apart, the waitlisted. Cancelled ones are never listed."""
    q = " ".join((q or "").split())[:SEARCH_MAX]
    everyone = _filtered(session, event, RegistrationFilter())
    counts = _door_counts(r.registration for r in everyone if r.registration.status != CANCELLED)
    rows = [
        r for r in everyone if _matches(q, r.registration.name, r.registration.email, r.association)
    ]

    def by_name(status: str) -> list[RegistrationRow]:
        return sorted(
            (row for row in rows if row.registration.status == status),
            key=lambda row: (_fold(row.registration.name), row.id),
        )

    return DoorList(by_name(CONFIRMED), by_name(WAITLISTED), counts, q)


def door_row(session: Session, event: Event, registration_id: int) -> RegistrationRow:
    """One registration of the event as the door shows it. Raises NotFound."""
    found = session.execute(_rows_query(event.id).where(Registration.id == registration_id)).first()
    if found is None:
        raise NotFound(_("No such registration."))
    registration, association_name = found
    number = session.scalar(
        select(func.count(Registration.id)).where(
            Registration.event_id == event.id, Registration.id <= registration_id
        )
    )
    return RegistrationRow(
        registration,
        int(number or 0),
        association_name or "",
        registration.group.name if registration.group else "",
    )
