"""Benchmark: a digest mailing to 500 recipients, end to end, against its bare minimum.

A temporary SQLite database gets a closed round of 1,000 comments over 30 sections by 480
participants, with 20 invited associations: 500 recipients. A local aiosmtpd server receives.

"Ours": publish_round_digest (500 personalised outbox rows in one transaction), the worker's
render_digest task (the PDF made once in a child process, stored) and the delivery it triggers
(each message claimed, built with the PDF attached, sent and recorded, one by one).
"Bare": WeasyPrint rendering the same digest's HTML once in this process, then the same 500
messages (prebuilt bodies, the same PDF) sent over one reused SMTP connection.

    python bench/mailing.py       # prints messages/s and, last, ratio=ours/bare
"""

from __future__ import annotations

import datetime as dt
import smtplib
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RECIPIENTS = 500
ASSOCIATIONS = 20


class CountingHandler:
    """Accepts everything and counts; parses nothing, so the server costs both sides alike."""

    def __init__(self) -> None:
        self.messages = 0
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages += 1
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


def main() -> None:
    from aiosmtpd.controller import Controller
    from weasyprint import HTML

    from participation import create_app, migrate
    from participation.digests import pdf, services, tasks
    from participation.extensions import db
    from participation.mail.models import OutboxMessage
    from tests.conftest import free_port
    from tests.digests import factories

    handler = CountingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-mailing-"))
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "SECRET_KEY": "bench",
            "QUEUE_IMMEDIATE": True,  # the tasks run here, as the worker would run them
            "MAIL_URL": f"smtp://127.0.0.1:{port}",
            "BASE_URL": "http://127.0.0.1:5000",
        }
    )
    migrate.upgrade(app)
    now = dt.datetime.now(dt.UTC)
    try:
        with app.app_context(), app.test_request_context("/"):
            session = db.session
            round_ = factories.make_round(session, now=now, sections=30)
            factories.fill_round(
                session,
                round_,
                now=now,
                comments=1000,
                participants=RECIPIENTS - ASSOCIATIONS,
                associations=ASSOCIATIONS,
            )
            session.commit()
            round_id = round_.id
            session.expunge_all()

            # Warm up the forkserver and fonts with a small render, as a running worker has.
            pdf.render_pdf("<p>x</p>", base_url="http://x", title="x", language="fi")

            # --- ours: publish → render → deliver, as the view and the worker do it.
            start = time.perf_counter()
            mailing = services.publish_round_digest(session, round_id, now=now, staff_user_id=None)
            session.commit()
            published = time.perf_counter()
            tasks.render_digest(mailing.digest_id)  # renders, then delivers (immediate mode)
            ours = time.perf_counter() - start
            sent = session.query(OutboxMessage).filter_by(mailing_id=mailing.id, status="sent")
            assert sent.count() == RECIPIENTS, sent.count()
            assert handler.messages == RECIPIENTS
            digest = services.get_digest(session, mailing.digest_id)
            print(
                f"ours: {ours:.2f} s for {RECIPIENTS} messages "
                f"(publish {published - start:.2f} s), PDF {digest.pages} pages, "
                f"{digest.size // 1024} KiB"
            )

            # --- bare: one in-process render of the same HTML, then 500 sends, one connection.
            rows = session.query(OutboxMessage).filter_by(mailing_id=mailing.id).all()
            bodies = [(r.recipient, r.subject, r.body_text) for r in rows]
            html = services.render_html(session, digest)
            options = services.render_options()
            fetcher = pdf.StaticOnlyFetcher(
                base_url=options["base_url"] + "/",
                static_dir=Path(options["static_dir"]),
                static_url_path=options["static_url_path"],
            )
            session.commit()
            start = time.perf_counter()
            data = HTML(
                string=html, base_url=options["base_url"] + "/", url_fetcher=fetcher
            ).write_pdf(pdf_variant="pdf/ua-1")
            rendered = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for n, (to, subject, body) in enumerate(bodies):
                    message = EmailMessage()
                    message["From"] = "osallistu@example.invalid"
                    message["To"] = to
                    message["Subject"] = subject
                    message["Message-ID"] = f"<bare{n}@example.invalid>"
                    message.set_content(body)
                    message.add_attachment(
                        data, maintype="application", subtype="pdf", filename="digest.pdf"
                    )
                    smtp.send_message(message)
            bare = time.perf_counter() - start
            print(
                f"bare: {bare:.2f} s (render {rendered - start:.2f} s, "
                f"sends {bare - (rendered - start):.2f} s)"
            )
            print(f"messages/s ours={RECIPIENTS / ours:.1f} bare={RECIPIENTS / bare:.1f}")
            print(f"ratio={ours / bare:.3f}")
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
