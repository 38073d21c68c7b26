"""The default consent texts, for the demo municipality and every new installation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from participation.privacy.services import ensure_default_consent_texts


def load_demo(session: Session, *, now: dt.datetime) -> int:
    return ensure_default_consent_texts(session, now)
