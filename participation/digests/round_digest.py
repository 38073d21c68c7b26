"""The comment round's digest (kommenttikooste): plain data for its PDF and its mails.

Everything is read here in a handful of queries into dicts, lists and strings, so nothing is
loaded lazily while the template is rendered or WeasyPrint lays it out. Hidden and withdrawn
comments never enter the context; a private person's name only when they allowed it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import forms as engine
from participation.errors import NotFound
from participation.formbuilder.models import FormDefinition, FormResponse
from participation.register.models import Association
from participation.rounds.models import (
    DECISIONS,
    Comment,
    Draft,
    DraftVersion,
    Participant,
    Round,
    Section,
)
from participation.rounds.review import DECISION_LABELS  # the labels staff pick decisions by


def get_round(session: Session, round_id: int) -> Round:
    """Raises NotFound."""
    round_ = session.get(Round, round_id)
    if round_ is None:
        raise NotFound()
    return round_


def visible_comments(session: Session, round_id: int) -> list[dict[str, Any]]:
    """The round's comments that may be shown (neither hidden nor withdrawn), oldest first, with
    their author as the digest may name them."""
    rows = session.execute(
        select(
            Comment.id,
            Comment.section_id,
            Comment.participant_id,
            Comment.body,
            Comment.decision,
            Comment.decision_reason,
            Participant.name,
            Participant.name_public,
            Participant.anonymised_at,
            Association.name.label("association"),
        )
        .join(Participant, Participant.id == Comment.participant_id)
        .outerjoin(Association, Association.id == Participant.association_id)
        .where(
            Comment.round_id == round_id,
            Comment.hidden_at.is_(None),
            Comment.withdrawn_at.is_(None),
        )
        .order_by(Comment.created_at, Comment.id)
    ).all()
    return [
        {
            "id": row.id,
            "section_id": row.section_id,
            "participant_id": row.participant_id,
            "body": row.body,
            "decision": row.decision if row.decision in DECISIONS else None,
            "decision_reason": row.decision_reason or "",
            # The person's own name only with their consent; the association always.
            "name": row.name if row.name_public and row.anonymised_at is None else None,
            "association": row.association,
        }
        for row in rows
    ]


def build_round_context(session: Session, round_id: int, *, language: str = "fi") -> dict[str, Any]:
    """Plain data for templates/digests/round.html. Raises NotFound."""
    round_ = get_round(session, round_id)
    version = session.get(DraftVersion, round_.draft_version_id)
    draft = session.get(Draft, version.draft_id) if version else None
    sections = session.execute(
        select(Section.id, Section.heading, Section.anchor)
        .where(Section.version_id == round_.draft_version_id)
        .order_by(Section.position)
    ).all()
    comments = visible_comments(session, round_id)
    number_comments(comments, [s.id for s in sections])

    by_section: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for comment in comments:
        by_section[comment["section_id"]].append(comment)
    groups = []
    known = {s.id for s in sections}
    whole = by_section.get(None, []) + [
        c for sid, cs in by_section.items() if sid is not None and sid not in known for c in cs
    ]
    if whole:
        groups.append(_group(_("The draft as a whole"), "whole-draft", whole))
    groups.extend(_group(s.heading, f"s-{s.id}", by_section.get(s.id, [])) for s in sections)

    participants = session.execute(
        select(Participant.id, Participant.association_id, Participant.response_id).where(
            Participant.round_id == round_id
        )
    ).all()
    commenters = {c["participant_id"] for c in comments}
    took_part = [p for p in participants if p.id in commenters or p.response_id is not None]
    association_ids = {p.association_id for p in took_part if p.association_id is not None}
    association_names = (
        sorted(
            session.scalars(select(Association.name).where(Association.id.in_(association_ids))),
            key=str.casefold,
        )
        if association_ids
        else []
    )
    decisions = Counter(c["decision"] for c in comments if c["decision"])
    named_people = sorted(
        {c["name"] for c in comments if c["name"] and not c["association"]}, key=str.casefold
    )
    return {
        "language": language,
        "municipality": current_app.config["MUNICIPALITY_NAME"],
        "round": {
            "id": round_.id,
            "title": round_.title,
            "intro": round_.intro,
            "opens_at": round_.opens_at,
            "closes_at": round_.closes_at,
            "draft_title": draft.title if draft else "",
            "version": version.number if version else None,
        },
        "figures": {
            "comments": len(comments),
            "participants": len(took_part),
            "associations": len(association_ids),
            "residents": sum(1 for p in took_part if p.association_id is None),
            "decided": sum(decisions.values()),
            "decisions": [
                {"key": key, "label": str(DECISION_LABELS[key]), "count": decisions[key]}
                for key in DECISIONS
            ],
        },
        "sections": groups,
        "questions": _questions(session, round_, [p.response_id for p in took_part], language),
        "associations": association_names,
        "named_people": named_people,
    }


def number_comments(comments: list[dict[str, Any]], section_ids: list[int]) -> None:
    """Number the comments in the order the digest prints them (the whole draft first, then by
    section, oldest first), so a mail can point at the PDF's "comment 12"."""
    position = {section_id: index for index, section_id in enumerate(section_ids)}
    ordered = sorted(comments, key=lambda c: position.get(c["section_id"], -1))
    for number, comment in enumerate(ordered, start=1):
        comment["number"] = number


def _group(heading: str, anchor: str, comments: list[dict[str, Any]]) -> dict[str, Any]:
    comments = sorted(comments, key=lambda c: c["number"])
    return {
        "heading": heading,
        "anchor": anchor,
        "comments": comments,
        "decided": sum(1 for c in comments if c["decision"]),
    }


def _questions(
    session: Session, round_: Round, response_ids: list[int | None], language: str
) -> list[dict[str, Any]]:
    """The general questions' answers, summarised by the form engine, as plain rows."""
    if round_.form_id is None:
        return []
    form = session.get(FormDefinition, round_.form_id)
    if form is None:
        return []
    ids = [i for i in response_ids if i is not None]
    answers = (
        session.scalars(select(FormResponse.answers).where(FormResponse.id.in_(ids))).all()
        if ids
        else []
    )
    summary = engine.aggregate(form.schema, answers)
    questions = []
    for question in form.questions:
        result = summary.get(question.get("key"))
        if result is None:
            continue
        labels = {o["key"]: engine.text(o["label"], language) for o in question.get("options", [])}
        labels.update({"yes": _("Yes"), "no": _("No")})
        row: dict[str, Any] = {
            "label": engine.text(question["label"], language),
            "type": question["type"],
            "answered": result["answered"],
            "rows": [],
            "texts": [],
            "figures": [],
        }
        if "counts" in result and question["type"] != "date":
            row["rows"] = [
                {
                    "label": labels.get(c["key"], c["key"]),
                    "count": c["count"],
                    "percent": round(100 * c["share"]),
                }
                for c in result["counts"]
            ]
        elif question["type"] == "date":
            row["rows"] = [
                {"label": c["date"], "count": c["count"], "percent": None} for c in result["counts"]
            ]
        elif question["type"] == "rating":
            row["rows"] = [
                {"label": str(d["value"]), "count": d["count"], "percent": round(100 * d["share"])}
                for d in result["distribution"]
            ]
            if result["mean"] is not None:
                row["figures"] = [(_("Mean"), f"{result['mean']:.1f}")]
        elif question["type"] == "ranking":
            row["rows"] = [
                {"label": labels.get(s["key"], s["key"]), "count": s["score"], "percent": None}
                for s in result["scores"]
            ]
            row["score"] = True
        elif question["type"] == "number" and result["count"]:
            row["figures"] = [
                (_("Mean"), f"{result['mean']:.1f}"),
                (_("Median"), f"{result['median']:g}"),
                (_("Smallest"), f"{result['min']:g}"),
                (_("Largest"), f"{result['max']:g}"),
            ]
        row["texts"] = list(result.get("texts", []))
        questions.append(row)
    return questions
