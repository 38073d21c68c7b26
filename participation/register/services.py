"""The association register: associations, people, categories, history, import, edit links.

Every change to an association goes through `_apply()`, which writes an `AssociationChange` row
saying what changed, when and through whom, so the detail page can always answer "who changed this".
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from email_validator import EmailNotValidError, validate_email
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from participation import tokens
from participation.errors import Invalid, NotFound, WrongState
from participation.mail import services as mail
from participation.register import importing
from participation.register.models import (
    LANGUAGES,
    Association,
    AssociationChange,
    Category,
    Person,
)

EDIT_PURPOSE = "association_edit"

NAME_MAX = 200
REGISTRY_MAX = 20
AREA_MAX = 120
EMAIL_MAX = 254
WEBSITE_MAX = 300
DESCRIPTION_MAX = 1000
CATEGORY_NAME_MAX = 120

# What a staff member or the association itself may change, in the order pages show them.
FIELDS = (
    "name",
    "registry_number",
    "category",
    "area",
    "email",
    "website",
    "description",
    "active",
)
LINK_FIELDS = FIELDS[:-1]  # through the edit link the association cannot deactivate itself
MERGE_FIELDS = FIELDS

SOURCES = ("staff", "edit_link", "import", "merge")
STATUSES = ("", "active", "inactive", "merged")
SORTS = ("name", "-name", "updated")

# Yhdistysrekisteri numbers: digits, optionally grouped by thousands with dots ("123.456").
REGISTRY_RE = re.compile(r"^(?:\d{1,9}|\d{1,3}(?:\.\d{3}){1,2})$")

# The five groups of a partnership forum; names in Finnish, Swedish and English.
DEFAULT_CATEGORIES = (
    (
        "seniors",
        "Eläkeläis- ja senioriyhdistykset",
        "Pensionärs- och seniorföreningar",
        "Seniors' associations",
    ),
    (
        "social_health",
        "Sosiaali- ja terveysyhdistykset",
        "Social- och hälsoföreningar",
        "Social and health associations",
    ),
    (
        "hobbies",
        "Harrastusyhdistykset (liikunta, kulttuuri)",
        "Hobbyföreningar (idrott, kultur)",
        "Hobbies such as sports and culture",
    ),
    (
        "residents",
        "Asukas-, kylä- ja vanhempainyhdistykset",
        "Invånar-, by- och föräldraföreningar",
        "Residents', village and parents' associations",
    ),
    ("others", "Muut yhdistykset", "Övriga föreningar", "Other associations"),
)


# --- values ---------------------------------------------------------------------------------


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def normalise_registry_number(value: str) -> str:
    """'123456', '123.456' and ' 123.456 ' all become '123.456'. Raises ValueError if malformed."""
    value = value.strip().replace(" ", "")
    if not value:
        return ""
    if not REGISTRY_RE.match(value):
        raise ValueError(value)
    return f"{int(value.replace('.', '')):,}".replace(",", ".")


def normalise_email(value: str) -> str:
    """Lower-cased, validated syntax (no DNS look-up). Raises ValueError."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(value) from exc


def normalise_website(value: str) -> str:
    """An http(s) address; 'www.example.fi' gets https:// in front. Raises ValueError."""
    value = value.strip()
    if not value:
        return ""
    if "://" not in value:
        value = "https://" + value
    parsed = urlparse(value)
    host = parsed.hostname or ""
    if (
        parsed.scheme not in {"http", "https"}
        or "." not in host
        or any(c.isspace() for c in value)
        or parsed.username
        or parsed.password
    ):
        raise ValueError(value)
    return value


def parse_active(value: Any) -> bool:
    """Spreadsheet truth values in the three UI languages. Raises ValueError."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().casefold()
    if text in {"", "1", "x", "yes", "y", "true", "kyllä", "k", "ja", "active", "aktiivinen"}:
        return True
    if text in {"0", "no", "n", "false", "ei", "e", "nej", "inactive", "passiivinen"}:
        return False
    raise ValueError(text)


def _association_search_text(a: Association) -> str:
    return fold(
        " ".join([a.name, a.registry_number, a.registry_number.replace(".", ""), a.area, a.email])
    )


def _person_search_text(p: Person) -> str:
    return fold(f"{p.name} {p.email}")


def _too_long(n: int) -> str:
    return _("Use at most %(n)s characters.", n=n)


# --- categories -----------------------------------------------------------------------------


def ensure_default_categories(session: Session) -> list[Category]:
    """Create the five default categories that are missing (by key); return all, in order."""
    existing = {c.key: c for c in session.scalars(select(Category))}
    position = max((c.position for c in existing.values()), default=0)
    for key, fi, sv, en in DEFAULT_CATEGORIES:
        if key not in existing:
            position += 1
            session.add(Category(key=key, name_fi=fi, name_sv=sv, name_en=en, position=position))
    session.flush()
    return list_categories(session)


def list_categories(session: Session, *, active_only: bool = False) -> list[Category]:
    stmt = select(Category).order_by(Category.position, Category.id)
    if active_only:
        stmt = stmt.where(Category.active.is_(True))
    return list(session.scalars(stmt))


def count_by_category(session: Session) -> dict[int, int]:
    """How many unmerged associations each category has."""
    rows = session.execute(
        select(Association.category_id, func.count(Association.id))
        .where(Association.merged_into_id.is_(None), Association.category_id.is_not(None))
        .group_by(Association.category_id)
    )
    return {category_id: count for category_id, count in rows}


def get_category(session: Session, category_id: int) -> Category:
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound(_("No such category."))
    return category


def _clean_category_names(
    session: Session, names: Mapping[str, str], *, current: Category | None
) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    values = {f"name_{lang}": (names.get(f"name_{lang}") or "").strip() for lang in LANGUAGES}
    if not values["name_fi"]:
        errors["name_fi"] = [_("Enter the name in Finnish.")]
    for key, value in values.items():
        if len(value) > CATEGORY_NAME_MAX:
            errors.setdefault(key, []).append(_too_long(CATEGORY_NAME_MAX))
    if not errors:
        wanted = fold(values["name_fi"])
        for other in session.scalars(select(Category)):
            if other is not current and fold(other.name_fi) == wanted:
                errors["name_fi"] = [_("A category with this name already exists.")]
    if errors:
        raise Invalid(_("Check the category's names."), errors)
    return values


def _category_key(session: Session, name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:30] or "category"
    taken = set(session.scalars(select(Category.key)))
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}_{n}"
    return key


def create_category(session: Session, names: Mapping[str, str]) -> Category:
    """Raises Invalid when the Finnish name is missing, too long or already used."""
    values = _clean_category_names(session, names, current=None)
    position = session.scalar(select(func.max(Category.position))) or 0
    category = Category(
        key=_category_key(session, values["name_fi"]), position=position + 1, **values
    )
    session.add(category)
    session.flush()
    return category


def rename_category(session: Session, category_id: int, names: Mapping[str, str]) -> Category:
    """Raises NotFound, or Invalid as create_category. The key stays, so imports keep working."""
    category = get_category(session, category_id)
    for key, value in _clean_category_names(session, names, current=category).items():
        setattr(category, key, value)
    session.flush()
    return category


def move_category(session: Session, category_id: int, direction: str) -> None:
    """Swap the category with its neighbour ("up" or "down"). Raises NotFound or Invalid."""
    if direction not in {"up", "down"}:
        raise Invalid(_("Unknown direction."))
    ordered = list_categories(session)
    index = next((i for i, c in enumerate(ordered) if c.id == category_id), None)
    if index is None:
        raise NotFound(_("No such category."))
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, category in enumerate(ordered, start=1):
        category.position = position
    session.flush()


def set_category_active(session: Session, category_id: int, active: bool) -> Category:
    """An inactive category is no longer offered; associations in it keep it. Raises NotFound."""
    category = get_category(session, category_id)
    category.active = active
    session.flush()
    return category


def _category_lookup(categories: Iterable[Category]) -> dict[str, Category]:
    """Key and every language's name, case-folded, to the category (for imports)."""
    lookup: dict[str, Category] = {}
    for c in categories:
        for name in (c.key, c.name_fi, c.name_sv, c.name_en):
            if name:
                lookup.setdefault(fold(name.strip()), c)
    return lookup


# --- associations: listing ------------------------------------------------------------------


@dataclass(frozen=True)
class AssociationFilter:
    q: str = ""
    category_id: int | None = None
    area: str = ""
    status: str = ""
    sort: str = "name"

    def as_args(self) -> dict[str, str]:
        """The non-default values as query arguments, for pager and export links."""
        args = {
            "q": self.q,
            "category": str(self.category_id or ""),
            "area": self.area,
            "status": self.status,
            "sort": "" if self.sort == "name" else self.sort,
        }
        return {k: v for k, v in args.items() if v}

    def args_with(self, **changes: str) -> dict[str, str]:
        """as_args() with some values replaced, e.g. the sort order for a column link."""
        args = self.as_args() | changes
        return {k: v for k, v in args.items() if v and not (k == "sort" and v == "name")}

    @property
    def active(self) -> bool:
        return bool(self.q or self.category_id or self.area or self.status)


def parse_filter(args: Mapping[str, Any]) -> AssociationFilter:
    """Filters from query arguments; anything unknown falls back to the default."""
    try:
        category_id = int(args.get("category") or 0) or None
    except (TypeError, ValueError):
        category_id = None
    status = args.get("status") or ""
    sort = args.get("sort") or "name"
    return AssociationFilter(
        q=(args.get("q") or "").strip()[:200],
        category_id=category_id,
        area=(args.get("area") or "").strip()[:AREA_MAX],
        status=status if status in STATUSES else "",
        sort=sort if sort in SORTS else "name",
    )


def _text_match(columns: tuple[Any, ...], words: list[str]) -> list[Any]:
    return [or_(*(col.contains(word, autoescape=True) for col in columns)) for word in words]


def _association_query(flt: AssociationFilter) -> Select[tuple[Association]]:
    stmt = select(Association)
    if flt.status == "merged":
        stmt = stmt.where(Association.merged_into_id.is_not(None))
    else:
        stmt = stmt.where(Association.merged_into_id.is_(None))
        if flt.status == "active":
            stmt = stmt.where(Association.active.is_(True))
        elif flt.status == "inactive":
            stmt = stmt.where(Association.active.is_(False))
    if flt.q:
        # search_text is case-folded by Python; lower() covers rows written before it existed.
        columns = (
            Association.search_text,
            func.lower(Association.name),
            func.lower(Association.email),
        )
        stmt = stmt.where(*_text_match(columns, fold(flt.q).split()))
    if flt.category_id:
        stmt = stmt.where(Association.category_id == flt.category_id)
    if flt.area:
        stmt = stmt.where(func.lower(Association.area) == flt.area.lower())
    return stmt


def _ordered(stmt: Select[tuple[Association]], sort: str) -> Select[tuple[Association]]:
    if sort == "-name":
        return stmt.order_by(func.lower(Association.name).desc(), Association.id.desc())
    if sort == "updated":
        return stmt.order_by(Association.updated_at.desc(), Association.id.desc())
    return stmt.order_by(func.lower(Association.name), Association.id)


def search_associations(
    session: Session, flt: AssociationFilter, *, page: int, per_page: int
) -> tuple[list[Association], int]:
    """One page of the filtered list and the total; three queries whatever the page size."""
    stmt = _association_query(flt)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        _ordered(stmt, flt.sort)
        .options(joinedload(Association.category), selectinload(Association.people))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).unique()
    return list(rows), total


def list_areas(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(Association.area)
            .where(Association.area != "", Association.merged_into_id.is_(None))
            .distinct()
            .order_by(Association.area)
        )
    )


def list_association_choices(session: Session) -> list[Association]:
    """Every association not merged away, by name: for pickers (merge, a person's associations)."""
    return list(
        session.scalars(
            select(Association)
            .where(Association.merged_into_id.is_(None))
            .order_by(func.lower(Association.name), Association.id)
        )
    )


def get_association(session: Session, association_id: int) -> Association:
    """The association with its category, people and merge target. Raises NotFound."""
    association = session.scalar(
        select(Association)
        .where(Association.id == association_id)
        .options(
            joinedload(Association.category),
            joinedload(Association.merged_into),
            selectinload(Association.people),
        )
    )
    if association is None:
        raise NotFound(_("No such association."))
    return association


# --- associations: history ------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryItem:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    changed_at: dt.datetime
    source: str
    actor: str
    created: bool
    items: list[HistoryItem]


def _display(field_name: str, value: Any, categories: Mapping[str, Category], locale: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if field_name == "category":
        category = categories.get(value)
        return category.name(locale) if category else str(value)
    return str(value)


def list_history(
    session: Session, association_id: int, *, locale: str, limit: int = 200
) -> list[HistoryEntry]:
    """The newest changes first, as display strings; two queries."""
    rows = session.scalars(
        select(AssociationChange)
        .where(AssociationChange.association_id == association_id)
        .options(joinedload(AssociationChange.staff_user))
        .order_by(AssociationChange.changed_at.desc(), AssociationChange.id.desc())
        .limit(limit)
    ).all()
    categories = {c.key: c for c in session.scalars(select(Category))}
    entries = []
    for row in rows:
        items = [
            HistoryItem(
                name,
                _display(name, pair[0], categories, locale),
                _display(name, pair[1], categories, locale),
            )
            for name, pair in (row.changes or {}).items()
            if name != "created" and isinstance(pair, list) and len(pair) == 2
        ]
        order = {name: i for i, name in enumerate(FIELDS)}
        items.sort(key=lambda item: order.get(item.field, len(order)))
        entries.append(
            HistoryEntry(
                changed_at=row.changed_at,
                source=row.source,
                actor=row.staff_user.name if row.staff_user else "",
                created="created" in (row.changes or {}),
                items=items,
            )
        )
    return entries


# --- associations: changes ------------------------------------------------------------------


def _field_value(association: Association, name: str) -> Any:
    if name == "category":
        return association.category.key if association.category else None
    return getattr(association, name)


def _apply(
    session: Session,
    association: Association,
    values: Mapping[str, Any],
    *,
    source: str,
    now: dt.datetime,
    staff_user_id: int | None,
    extra: Mapping[str, list[Any]] | None = None,
) -> dict[str, list[Any]]:
    """Set the values that differ and record them; returns {field: [old, new]} (maybe empty)."""
    changes: dict[str, list[Any]] = {}
    for name in FIELDS:
        if name not in values:
            continue
        new = values[name]
        old = _field_value(association, name)
        new_key = (new.key if new else None) if name == "category" else new
        if old != new_key:
            changes[name] = [old, new_key]
            setattr(association, name, new)
    changes.update(extra or {})
    if changes:
        association.search_text = _association_search_text(association)
        association.updated_at = now
        if association.id is None:
            session.add(association)
            session.flush()
        session.add(
            AssociationChange(
                association_id=association.id,
                changed_at=now,
                source=source,
                staff_user_id=staff_user_id,
                changes=changes,
            )
        )
    return changes


def clean_association_data(
    session: Session,
    data: Mapping[str, Any],
    *,
    current: Association | None = None,
    fields: Iterable[str] = FIELDS,
) -> dict[str, Any]:
    """Validated, normalised values for `fields`; "category" is an id (str or int) or empty.

    Raises Invalid with a message per field: missing or too long name, malformed registry
    number, e-mail or web address, unknown category, too long text, and duplicates of another
    association by registry number or by e-mail and name.
    """
    fields = tuple(fields)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def text(name: str, limit: int) -> str:
        value = str(data.get(name) or "").strip()
        if len(value) > limit:
            errors.setdefault(name, []).append(_too_long(limit))
        return value

    if "name" in fields:
        values["name"] = text("name", NAME_MAX)
        if not values["name"]:
            errors.setdefault("name", []).append(_("Enter the association's name."))
    if "registry_number" in fields:
        raw = text("registry_number", REGISTRY_MAX)
        try:
            values["registry_number"] = normalise_registry_number(raw)
        except ValueError:
            errors.setdefault("registry_number", []).append(
                _("Enter the registry number as digits, for example 123.456.")
            )
    if "category" in fields:
        values["category"] = _clean_category(session, data.get("category"), current, errors)
    if "area" in fields:
        values["area"] = text("area", AREA_MAX)
    if "email" in fields:
        raw = text("email", EMAIL_MAX)
        try:
            values["email"] = normalise_email(raw) if raw else ""
        except ValueError:
            errors.setdefault("email", []).append(_("Enter a valid e-mail address."))
    if "website" in fields:
        raw = text("website", WEBSITE_MAX)
        try:
            values["website"] = normalise_website(raw)
        except ValueError:
            errors.setdefault("website", []).append(
                _("Enter a web address such as https://www.example.fi.")
            )
    if "description" in fields:
        values["description"] = text("description", DESCRIPTION_MAX)
    if "active" in fields:
        values["active"] = bool(data.get("active"))

    if not errors:
        _check_duplicates(session, values, current, errors)
    if errors:
        raise Invalid(_("Check the association's information."), errors)
    return values


def _clean_category(
    session: Session, raw: Any, current: Association | None, errors: dict[str, list[str]]
) -> Category | None:
    if raw in (None, ""):
        return None
    try:
        category = session.get(Category, int(raw))
    except (TypeError, ValueError):
        category = None
    keeps_current = current is not None and category is not None and current.category is category
    if category is None or not (category.active or keeps_current):
        errors["category"] = [_("Choose a category from the list.")]
        return None
    return category


def _check_duplicates(
    session: Session,
    values: Mapping[str, Any],
    current: Association | None,
    errors: dict[str, list[str]],
) -> None:
    others = select(Association).where(Association.merged_into_id.is_(None))
    if current is not None and current.id is not None:
        others = others.where(Association.id != current.id)
    number = values.get("registry_number")
    if number:
        twin = session.scalar(others.where(Association.registry_number == number).limit(1))
        if twin is not None:
            errors["registry_number"] = [
                _("%(name)s already has this registry number.", name=twin.name)
            ]
    name = values.get("name", current.name if current else "")
    email = values.get("email", current.email if current else "")
    if name and email:
        for twin in session.scalars(others.where(Association.email == email)):
            if fold(twin.name) == fold(name):
                errors.setdefault("name", []).append(
                    _(
                        "%(name)s is already registered with this e-mail address.",
                        name=twin.name,
                    )
                )
                break


def _new_association(now: dt.datetime) -> Association:
    return Association(
        name="",
        registry_number="",
        area="",
        email="",
        website="",
        description="",
        active=True,
        search_text="",
        created_at=now,
        updated_at=now,
    )


def create_association(
    session: Session,
    data: Mapping[str, Any],
    *,
    now: dt.datetime,
    staff_user_id: int | None = None,
    source: str = "staff",
) -> Association:
    """Raises Invalid (see clean_association_data)."""
    values = clean_association_data(session, data)
    association = _new_association(now)
    session.add(association)
    _apply(
        session,
        association,
        values,
        source=source,
        now=now,
        staff_user_id=staff_user_id,
        extra={"created": [None, True]},
    )
    session.flush()
    return association


def update_association(
    session: Session,
    association_id: int,
    data: Mapping[str, Any],
    *,
    now: dt.datetime,
    staff_user_id: int | None,
) -> Association:
    """A staff member's edit. Raises NotFound, WrongState for a merged row, or Invalid."""
    association = get_association(session, association_id)
    if association.merged_into_id is not None:
        raise WrongState(
            _("This association has been merged into another and is kept only for its history.")
        )
    values = clean_association_data(session, data, current=association)
    _apply(session, association, values, source="staff", now=now, staff_user_id=staff_user_id)
    session.flush()
    return association


# --- merging --------------------------------------------------------------------------------


def find_duplicate_candidates(session: Session, association_id: int) -> list[Association]:
    """Other unmerged associations sharing the registry number, the e-mail or the name."""
    a = get_association(session, association_id)
    conditions = [func.lower(Association.name) == a.name.lower()]
    if a.registry_number:
        conditions.append(Association.registry_number == a.registry_number)
    if a.email:
        conditions.append(Association.email == a.email)
    return list(
        session.scalars(
            select(Association)
            .where(
                Association.id != a.id,
                Association.merged_into_id.is_(None),
                or_(*conditions),
            )
            .order_by(func.lower(Association.name), Association.id)
        )
    )


@dataclass(frozen=True)
class ComparedField:
    field: str
    kept: str
    duplicate: str

    @property
    def differs(self) -> bool:
        return self.kept != self.duplicate


@dataclass(frozen=True)
class Comparison:
    keep: Association
    duplicate: Association
    fields: list[ComparedField]

    @property
    def differing(self) -> list[ComparedField]:
        return [f for f in self.fields if f.differs]


def compare_associations(
    session: Session, keep_id: int, duplicate_id: int, *, locale: str
) -> Comparison:
    """Both associations' values side by side, as display text, for choosing what to keep.

    Raises Invalid for the same association twice, NotFound, WrongState if either is merged.
    """
    if keep_id == duplicate_id:
        raise Invalid(_("Choose two different associations."))
    keep = get_association(session, keep_id)
    duplicate = get_association(session, duplicate_id)
    for a in (keep, duplicate):
        if a.merged_into_id is not None:
            raise WrongState(_("%(name)s has already been merged.", name=a.name))
    categories = {c.key: c for c in [keep.category, duplicate.category] if c is not None}
    fields = [
        ComparedField(
            name,
            _display(name, _field_value(keep, name), categories, locale),
            _display(name, _field_value(duplicate, name), categories, locale),
        )
        for name in MERGE_FIELDS
    ]
    return Comparison(keep, duplicate, fields)


def merge_associations(
    session: Session,
    *,
    keep_id: int,
    duplicate_id: int,
    take_from_duplicate: Iterable[str],
    now: dt.datetime,
    staff_user_id: int | None,
) -> Association:
    """Merge `duplicate` into `keep`: the chosen fields' values come from the duplicate, its
    people move over, and it is marked merged and inactive; both histories record the merge.

    Raises Invalid for the same association twice, NotFound, WrongState if either is merged.
    """
    if keep_id == duplicate_id:
        raise Invalid(_("Choose two different associations."))
    keep = get_association(session, keep_id)
    duplicate = get_association(session, duplicate_id)
    for a in (keep, duplicate):
        if a.merged_into_id is not None:
            raise WrongState(_("%(name)s has already been merged.", name=a.name))
    taken = {name: getattr(duplicate, name) for name in take_from_duplicate if name in MERGE_FIELDS}
    moved = [p for p in duplicate.people if p not in keep.people]
    extra: dict[str, list[Any]] = {"merged_from": [None, duplicate.name]}
    if moved:
        extra["person_added"] = [None, ", ".join(p.name for p in moved)]
    _apply(session, keep, taken, source="merge", now=now, staff_user_id=staff_user_id, extra=extra)
    keep.people.extend(moved)
    duplicate.people.clear()
    _apply(
        session,
        duplicate,
        {"active": False},
        source="merge",
        now=now,
        staff_user_id=staff_user_id,
        extra={"merged_into": [None, keep.name]},
    )
    duplicate.merged_into_id = keep.id
    # Anything merged into the duplicate earlier now points at the kept association.
    session.execute(
        update(Association)
        .where(Association.merged_into_id == duplicate.id)
        .values(merged_into_id=keep.id)
    )
    session.flush()
    return keep


# --- people ---------------------------------------------------------------------------------


def search_people(
    session: Session, q: str, *, page: int, per_page: int
) -> tuple[list[Person], int]:
    stmt = select(Person)
    if q.strip():
        columns = (Person.search_text, func.lower(Person.name), func.lower(Person.email))
        stmt = stmt.where(*_text_match(columns, fold(q).split()))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(selectinload(Person.associations))
        .order_by(func.lower(Person.name), Person.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


def get_person(session: Session, person_id: int) -> Person:
    """Raises NotFound."""
    person = session.scalar(
        select(Person).where(Person.id == person_id).options(selectinload(Person.associations))
    )
    if person is None:
        raise NotFound(_("No such person."))
    return person


def find_person_by_email(session: Session, email: str) -> Person | None:
    try:
        address = normalise_email(email)
    except ValueError:
        return None
    return session.scalar(select(Person).where(Person.email == address))


def _clean_person(
    session: Session, data: Mapping[str, Any], *, current: Person | None
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Enter the person's name.")]
    elif len(name) > NAME_MAX:
        errors["name"] = [_too_long(NAME_MAX)]
    email = str(data.get("email") or "").strip()
    try:
        if len(email) > EMAIL_MAX:
            raise ValueError(email)
        email = normalise_email(email)
    except ValueError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    else:
        twin = session.scalar(select(Person).where(Person.email == email))
        if twin is not None and twin is not current:
            errors["email"] = [_("Another person already has this e-mail address.")]
    language = data.get("language") or "fi"
    if language not in LANGUAGES:
        errors["language"] = [_("Choose a language from the list.")]
    ids = {int(i) for i in data.get("association_ids") or () if str(i).isdigit()}
    associations = (
        list(
            session.scalars(
                select(Association).where(
                    Association.id.in_(ids), Association.merged_into_id.is_(None)
                )
            )
        )
        if ids
        else []
    )
    if len(associations) != len(ids):
        errors["association_ids"] = [_("Choose associations from the list.")]
    if errors:
        raise Invalid(_("Check the person's information."), errors)
    return {"name": name, "email": email, "language": language, "associations": associations}


def _set_people_links(
    session: Session,
    person: Person,
    associations: list[Association],
    *,
    now: dt.datetime,
    staff_user_id: int | None,
    source: str = "staff",
) -> None:
    """Set the person's associations, recording the addition or removal on each association."""
    old, new = set(person.associations), set(associations)
    for a in new - old:
        _apply(session, a, {}, source=source, now=now, staff_user_id=staff_user_id,
               extra={"person_added": [None, person.name]})  # fmt: skip
    for a in old - new:
        _apply(session, a, {}, source=source, now=now, staff_user_id=staff_user_id,
               extra={"person_removed": [person.name, None]})  # fmt: skip
    person.associations = sorted(new, key=lambda a: fold(a.name))


def create_person(
    session: Session, data: Mapping[str, Any], *, now: dt.datetime, staff_user_id: int | None
) -> Person:
    """Raises Invalid (missing name, bad or taken e-mail, unknown language or association)."""
    values = _clean_person(session, data, current=None)
    person = Person(
        name=values["name"],
        email=values["email"],
        language=values["language"],
        created_at=now,
        updated_at=now,
    )
    person.search_text = _person_search_text(person)
    session.add(person)
    session.flush()
    _set_people_links(session, person, values["associations"], now=now, staff_user_id=staff_user_id)
    session.flush()
    return person


def update_person(
    session: Session,
    person_id: int,
    data: Mapping[str, Any],
    *,
    now: dt.datetime,
    staff_user_id: int | None,
) -> Person:
    """Raises NotFound or Invalid (as create_person)."""
    person = get_person(session, person_id)
    values = _clean_person(session, data, current=person)
    person.name, person.email, person.language = values["name"], values["email"], values["language"]
    person.search_text = _person_search_text(person)
    person.updated_at = now
    _set_people_links(session, person, values["associations"], now=now, staff_user_id=staff_user_id)
    session.flush()
    return person


def find_or_create_person(
    session: Session, *, email: str, name: str, language: str = "fi", now: dt.datetime
) -> Person:
    """For other capabilities (a commenter, a registrant): the person with this e-mail, created
    if new. Raises Invalid for a bad e-mail or name."""
    person = find_person_by_email(session, email)
    if person is not None:
        return person
    values = _clean_person(
        session, {"name": name, "email": email, "language": language}, current=None
    )
    person = Person(
        name=values["name"],
        email=values["email"],
        language=values["language"],
        created_at=now,
        updated_at=now,
    )
    person.search_text = _person_search_text(person)
    session.add(person)
    session.flush()
    return person


# --- import ---------------------------------------------------------------------------------


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
    table = importing.read_table(filename, data)
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


# --- export ---------------------------------------------------------------------------------

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


# --- edit links -----------------------------------------------------------------------------


def _edit_link_mail(
    session: Session,
    associations: list[Association],
    *,
    to: str,
    now: dt.datetime,
    lifetime: dt.timedelta,
    link_for: Callable[[str], str],
    locale: str,
) -> None:
    links = [
        (
            a.name,
            link_for(
                tokens.issue_link(
                    session, purpose=EDIT_PURPOSE, subject_id=a.id, lifetime=lifetime, now=now
                )
            ),
        )
        for a in associations
    ]
    mail.queue_mail(
        session,
        to=to,
        template="register_edit_link",
        purpose="register_edit_link",
        locale=locale,
        now=now,
        links=links,
        hours=int(lifetime.total_seconds() // 3600),
    )


def request_edit_link(
    session: Session,
    email: str,
    *,
    now: dt.datetime,
    lifetime: dt.timedelta,
    link_for: Callable[[str], str],
    locale: str,
) -> int:
    """Mail an edit link for every active association registered with `email`, in one message
    to that registered address. Returns the number of links sent, which the caller must not
    show: an unknown address gets the same page, and about the same work is done for it (the
    mail is rendered and thrown away) so the response time does not tell either.
    """
    try:
        address = normalise_email(email)
    except ValueError:
        address = ""
    associations = (
        list(
            session.scalars(
                select(Association)
                .where(
                    Association.email == address,
                    Association.active.is_(True),
                    Association.merged_into_id.is_(None),
                )
                .order_by(Association.name)
            )
        )
        if address
        else []
    )
    if associations:
        _edit_link_mail(
            session,
            associations,
            to=address,
            now=now,
            lifetime=lifetime,
            link_for=link_for,
            locale=locale,
        )
        return len(associations)
    with force_locale(locale):
        render_template(
            "mail/register_edit_link.txt",
            links=[("", link_for(tokens.token_hash(tokens.new_token())))],
            hours=int(lifetime.total_seconds() // 3600),
        )
    return 0


def send_edit_link(
    session: Session,
    association_id: int,
    *,
    now: dt.datetime,
    lifetime: dt.timedelta,
    link_for: Callable[[str], str],
    locale: str,
) -> Association:
    """Staff send the link to the association's registered address.

    Raises NotFound, or WrongState when the association is merged, inactive or has no e-mail.
    """
    association = get_association(session, association_id)
    if association.merged_into_id is not None or not association.active:
        raise WrongState(_("Edit links are sent only to active associations."))
    if not association.email:
        raise WrongState(_("The association has no e-mail address to send the link to."))
    _edit_link_mail(
        session,
        [association],
        to=association.email,
        now=now,
        lifetime=lifetime,
        link_for=link_for,
        locale=locale,
    )
    return association


def open_edit_link(session: Session, token: str, *, now: dt.datetime) -> Association:
    """The association the link edits, without spending it (GET shows the form).

    Raises tokens.LinkExpired, or tokens.LinkInvalid when tampered, used, or the association is
    gone, merged or inactive.
    """
    link = tokens.check_link(session, token, purpose=EDIT_PURPOSE, now=now)
    association = session.get(Association, link.subject_id)
    if association is None or association.merged_into_id is not None or not association.active:
        raise tokens.LinkInvalid()
    return association


def save_by_edit_link(
    session: Session,
    token: str,
    data: Mapping[str, Any],
    *,
    now: dt.datetime,
    locale: str,
) -> Association:
    """Save the association's own edit and spend the link, in the caller's transaction.

    Bad input raises Invalid and leaves the link unspent, so the person can correct and send
    again. A changed e-mail address is told to the old address too. Raises LinkExpired or
    LinkInvalid as open_edit_link (also when a parallel post spent the link first).
    """
    association = open_edit_link(session, token, now=now)
    values = clean_association_data(session, data, current=association, fields=LINK_FIELDS)
    tokens.use_link(session, token, purpose=EDIT_PURPOSE, now=now)
    old_email = association.email
    changes = _apply(session, association, values, source="edit_link", now=now, staff_user_id=None)
    if "email" in changes and old_email:
        mail.queue_mail(
            session,
            to=old_email,
            template="register_email_changed",
            purpose="register_email_changed",
            locale=locale,
            now=now,
            association=association.name,
            new_email=association.email,
        )
    session.flush()
    return association
