"""Benchmark: our whole digest render against bare WeasyPrint on the very same HTML.

A temporary SQLite database gets a closed round of 1,000 comments over 30 sections (decided,
with answers to the general questions). "Ours" is services.render_digest as the worker runs it:
the plain-data context, the template, WeasyPrint in a child process under its limits, and the
PDF stored. "Bare" is WeasyPrint rendering the final HTML in this process. Each is run once to
warm up (the forkserver starts, fonts load), then alternately; medians are compared.

    python bench/digest.py        # prints pages, seconds and, last, ratio=ours/bare
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNS = 3


def main() -> None:
    from weasyprint import HTML

    from participation import create_app, migrate
    from participation.digests import pdf, services
    from participation.digests.models import PENDING, Digest
    from participation.extensions import db
    from tests.digests import factories

    tmp = Path(tempfile.mkdtemp(prefix="bench-digest-"))
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "SECRET_KEY": "bench",
            "QUEUE_IMMEDIATE": True,
            "MAIL_URL": f"file://{tmp / 'outbox'}",
        }
    )
    migrate.upgrade(app)
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        session = db.session
        round_ = factories.make_round(session, now=now, sections=30)
        factories.fill_round(session, round_, now=now, comments=1000, participants=400)
        digest = Digest(kind="round", subject_id=round_.id, title="Kommenttikooste: penkki")
        session.add(digest)
        session.commit()
        html = services.render_html(session, digest)
        options = services.render_options()
        fetcher = pdf.StaticOnlyFetcher(
            base_url=options["base_url"] + "/",
            static_dir=Path(options["static_dir"]),
            static_url_path=options["static_url_path"],
        )

        def ours() -> tuple[float, int]:
            session.query(Digest).filter_by(id=digest.id).update({"status": PENDING})
            session.commit()
            start = time.perf_counter()
            done = services.render_digest(session, digest.id, now=now)
            elapsed = time.perf_counter() - start
            assert done is not None and done.status == "ready", done and done.error
            return elapsed, done.pages

        def bare() -> tuple[float, int]:
            start = time.perf_counter()
            document = HTML(
                string=html, base_url=options["base_url"] + "/", url_fetcher=fetcher
            ).render(pdf_variant="pdf/ua-1")
            document.write_pdf(pdf_variant="pdf/ua-1")
            return time.perf_counter() - start, len(document.pages)

        ours()
        bare()  # warm-up
        our_times, bare_times = [], []
        for _ in range(RUNS):
            seconds, pages = ours()
            our_times.append(seconds)
            seconds, bare_pages = bare()
            bare_times.append(seconds)
        assert pages == bare_pages, (pages, bare_pages)
        ours_s, bare_s = statistics.median(our_times), statistics.median(bare_times)
        print(f"comments=1000 sections=30 pages={pages} html={len(html) // 1024} KiB")
        print(f"ours: {' '.join(f'{t:.2f}' for t in our_times)} s, median {ours_s:.2f} s")
        print(f"bare: {' '.join(f'{t:.2f}' for t in bare_times)} s, median {bare_s:.2f} s")
        print(f"pages/s ours={pages / ours_s:.1f} bare={pages / bare_s:.1f}")
        print(f"ratio={ours_s / bare_s:.3f}")


if __name__ == "__main__":
    main()
