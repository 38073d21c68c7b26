"""The association register: associations and their history, creating and changing them,
and the categories they belong to.

Every change to an association goes through `_apply()`, which writes an `AssociationChange` row
saying what changed, when and through whom, so the detail page can always answer "who changed this".
The filtered list is in `listing`, people in `people`, merging in `merging`, the file import in
`importing`, the export in `exporting`, and the associations' own edit links in `links`.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from participation.errors import Invalid, NotFound, WrongState
from participation.register.models import LANGUAGES, Association, AssociationChange, Category
from participation.register.values import (
    AREA_MAX,
    CATEGORY_NAME_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    NAME_MAX,
    REGISTRY_MAX,
    WEBSITE_MAX,
    _too_long,
    fold,
    normalise_email,
    normalise_registry_number,
    normalise_website,
)

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

SOURCES = ("staff", "edit_link", "import", "merge")

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


def _association_search_text(a: Association) -> str:
    return fold(
        " ".join([a.name, a.registry_number, a.registry_number.replace(".", ""), a.area, a.email])
    )


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


# --- associations ---------------------------------------------------------------------------


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
    """A stored value as text in `locale`, which may differ from the request's (a history or a
    comparison shown in one language must not mix in another)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        with force_locale(locale):
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
