"""Fixtures for the digest tests: a closed round with comments of every kind, a canary HTTP
server that records any request made to it, and PDF read-back helpers."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pypdf import PdfReader

from tests.digests import factories as f


class Canary:
    """An HTTP server on 127.0.0.1 that answers everything and remembers every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                canary.requests.append(self.path)
                body = b"body { background: red; }"
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    server = Canary()
    server.start()
    yield server
    server.stop()


def hostile_texts(canary_url: str) -> list[str]:
    return [
        "<script>alert('x')</script>",
        '<img src="file:///etc/passwd">',
        '<link rel="attachment" href="file:///etc/passwd">',
        f'<style>@import url("{canary_url}/import.css"); body {{ background: url({canary_url}/bg.png) }}</style>',
        f'<div style="background-image: url({canary_url}/inline.png)">x</div>',
        f'<link rel="stylesheet" href="{canary_url}/sheet.css">',
    ]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split())  # line breaks inside a comment are layout, not content


def has_embedded_files(data: bytes) -> bool:
    reader = PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    names = root.get("/Names")
    if names is not None and "/EmbeddedFiles" in names.get_object():
        return True
    raw = data.replace(b" ", b"")
    return b"/EmbeddedFile" in raw or b"/FileAttachment" in raw or b"/AF[" in raw


@pytest.fixture
def sample_round(db: Any, now: dt.datetime) -> dict[str, Any]:
    """A closed round: visible, hidden and withdrawn comments; a private person, a public name,
    an association member; invited associations (one shares a participant's address, one has
    none); answers to the general questions."""
    creator = f.make_user(db)
    round_ = f.make_round(
        db, now=now, sections=["Johdanto", "Tilat ja avustukset"], creator_id=creator.id
    )
    intro, rooms = f.sections_of(db, round_)
    club = f.make_association(db, "Porin Pallo ry", "pallo@example.org")
    village = f.make_association(db, "Kylätoimikunta ry", "kyla@example.org")
    silent = f.make_association(db, "Hiljainen seura ry", "")
    for association in (club, village, silent):
        f.invite(db, round_, association, now)
    private = f.add_participant(
        db,
        round_,
        name="Salainen Henkilö",
        email="salainen@example.org",
        now=now,
        answers={"q_matters": "VAPAATEKSTIOMEGA", "q_missing": True, "q_forms": ["o_forum"]},
    )
    public = f.add_participant(
        db,
        round_,
        name="Julkinen Nimi",
        email="julkinen@example.org",
        now=now,
        language="sv",
        name_public=True,
        answers={"q_missing": False, "q_forms": ["o_forum", "o_rooms"], "q_rating": 4},
    )
    member = f.add_participant(
        db,
        round_,
        name="Jäsen Jäseninen",
        email="KYLA@example.org",  # the same address as the invited village association
        now=now,
        association=village,
    )
    comments = {
        "alpha": f.add_comment(
            db,
            private,
            "KOMMENTTIALFA tilat",
            now=now,
            section=rooms,
            decision="taken",
            reason="PERUSTELUALFA",
        ),
        "beta": f.add_comment(
            db,
            private,
            "KOMMENTTIBEETA johdanto",
            now=now,
            section=intro,
            decision="not_taken",
            reason="PERUSTELUBEETA",
        ),
        "whole": f.add_comment(db, public, "KOMMENTTIKOKO koko luonnos", now=now),
        "member": f.add_comment(
            db,
            member,
            "KOMMENTTIJASEN",
            now=now,
            section=rooms,
            decision="partly",
            reason="PERUSTELUJASEN",
        ),
        "hidden": f.add_comment(
            db,
            private,
            "PIILOTETTUHIDDEN",
            now=now,
            section=rooms,
            hidden=True,
            decision="noted",
            reason="PIILOPERUSTELU",
        ),
        "withdrawn": f.add_comment(
            db, public, "PERUTTUWITHDRAWN", now=now, section=intro, withdrawn=True
        ),
    }
    db.commit()
    return {
        "round": round_,
        "creator": creator,
        "sections": (intro, rooms),
        "participants": {"private": private, "public": public, "member": member},
        "associations": {"club": club, "village": village, "silent": silent},
        "comments": comments,
    }
