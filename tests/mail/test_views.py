from __future__ import annotations

import datetime as dt
from typing import Any

from participation.mail.models import OutboxMessage


def test_outbox_lists_and_shows_messages(client: Any, db: Any, login_as: Any) -> None:
    login_as("coordinator")
    now = dt.datetime.now(dt.UTC)
    for n in range(30):
        db.add(
            OutboxMessage(
                recipient=f"r{n}@example.org",
                subject=f"Aihe {n} <script>",
                body_text="x",
                purpose="t",
                created_at=now,
                next_attempt_at=now,
            )
        )
    db.commit()
    html = client.get("/staff/outbox").get_data(as_text=True)
    assert "Aihe 29 &lt;script&gt;" in html and "<script>" not in html.split("</head>")[1]
    assert "Aihe 0 " not in html  # on page two
    assert "Aihe 0 &lt;" in client.get("/staff/outbox?page=2").get_data(as_text=True)
    message = db.query(OutboxMessage).filter_by(recipient="r3@example.org").one()
    assert "r3@example.org" in client.get(f"/staff/outbox/{message.id}").get_data(as_text=True)
