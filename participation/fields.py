"""Form fields shared by every capability's forms."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from wtforms.fields import DateTimeLocalField

HELSINKI = ZoneInfo("Europe/Helsinki")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class HelsinkiDateTimeField(DateTimeLocalField):
    """A date and time typed in Helsinki time; `data` is an aware UTC datetime."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", [LOCAL_FORMAT, "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        raw = valuelist[0].strip()
        for fmt in self.format:
            try:
                local = dt.datetime.strptime(raw, fmt)
            except ValueError:
                continue
            self.data = local.replace(tzinfo=HELSINKI).astimezone(dt.UTC)
            return
        self.data = None
        raise ValueError(_l("Enter a date and time, e.g. 31.1.2027 at 16.00."))

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, dt.datetime):
            return self.data.astimezone(HELSINKI).strftime(LOCAL_FORMAT)
        return ""
