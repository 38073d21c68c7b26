"""render_pdf: a tagged PDF from HTML, a fetcher that serves only our static files, limits."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from participation.digests.pdf import (
    STATIC_DIR,
    RefusedURL,
    RenderFailed,
    StaticOnlyFetcher,
    render_pdf,
)
from tests.digests.conftest import has_embedded_files, hostile_texts, pdf_text

BASE = "http://osallistu.example"


def _fetcher() -> StaticOnlyFetcher:
    return StaticOnlyFetcher(base_url=BASE + "/", static_dir=STATIC_DIR, static_url_path="/static")


def test_fetcher_serves_our_static_css_and_data_urls() -> None:
    fetcher = _fetcher()
    response = fetcher.fetch(BASE + "/static/css/digest.css?v=2")
    assert response.content_type == "text/css"
    assert response.read() == (STATIC_DIR / "css" / "digest.css").read_bytes()
    response.close()
    data = fetcher.fetch("data:text/plain;base64,SGVp")
    assert data.read() == b"Hei"
    data.close()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "https://example.org/style.css",
        "ftp://example.org/x",
        BASE + "/secret",  # our own site, but not a static file
        BASE + "/static/../instance/secret_key",
        BASE + "/static/%2e%2e/participation/config.py",
        BASE + "/static/css/%2E%2E/%2E%2E/pyproject.toml",
        BASE + "/static/..%2f..%2fetc/passwd",
        BASE + "/static/%2fetc%2fpasswd",
        BASE + "/static/css",  # a directory
        BASE + "/static/css/missing.css",
        BASE + "/staticx/css/app.css",
        "http://osallistu.example.evil.org/static/css/app.css",
    ],
)
def test_fetcher_refuses_everything_else(url: str) -> None:
    with pytest.raises(RefusedURL):
        _fetcher().fetch(url)


def test_fetcher_refuses_the_network_without_a_request(canary: Any) -> None:
    for url in (canary.url + "/x.css", canary.url.replace("127.0.0.1", "localhost") + "/y.css"):
        with pytest.raises(RefusedURL):
            _fetcher().fetch(url)
    # Even a canary that pretends to be our site is never asked: the static prefix is a file path.
    fetcher = StaticOnlyFetcher(
        base_url=canary.url + "/", static_dir=STATIC_DIR, static_url_path="/static"
    )
    assert fetcher.fetch(canary.url + "/static/css/digest.css").read().startswith(b"/*")
    assert canary.requests == []


def test_fetcher_refuses_a_symlink_out_of_static(tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "evil.css").symlink_to("/etc/passwd")
    fetcher = StaticOnlyFetcher(base_url=BASE, static_dir=static, static_url_path="/static")
    with pytest.raises(RefusedURL):
        fetcher.fetch(BASE + "/static/evil.css")


HTML = """<!doctype html><html lang="sv"><head><title>Ignored title</title>
<link rel="stylesheet" href="/static/css/digest.css"></head><body>
<h1>Första delen</h1><p>Text ett.</p><h2>Avsnitt A</h2><p>Text två.</p>
<section class="part"><h1>Andra delen</h1><p>Text tre.</p></section></body></html>"""


def test_render_pdf_is_tagged_titled_and_bookmarked() -> None:
    rendered = render_pdf(HTML, base_url=BASE, title="Sammandrag <2026>", language="sv")
    reader = PdfReader(io.BytesIO(rendered.pdf))
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] == True  # noqa: E712  (a pypdf BooleanObject)
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "sv"
    assert reader.metadata.title == "Sammandrag <2026>"
    outline = reader.outline
    assert [outline[0]["/Title"], outline[1][0]["/Title"], outline[2]["/Title"]] == [
        "Första delen",
        "Avsnitt A",
        "Andra delen",
    ]
    assert rendered.pages == len(reader.pages) >= 1
    # The stylesheet was served by the fetcher: a part starts a page, which is numbered.
    assert rendered.pages == 2
    assert "2 / 2" in pdf_text(rendered.pdf)


def test_hostile_markup_fetches_nothing_and_embeds_nothing(canary: Any) -> None:
    """Even raw, unescaped hostile markup (as if escaping had failed) reaches no file and no
    server, and attaches nothing."""
    body = "".join(hostile_texts(canary.url))
    html = (
        f'<html lang="fi"><head><title>t</title><link rel="attachment" href="file:///etc/passwd">'
        f'<link rel="stylesheet" href="{canary.url}/head.css"><base href="{canary.url}/">'
        f'</head><body><h1>Otsikko</h1>{body}<img src="relative.png" alt="">'
        f'<a rel="attachment" href="file:///etc/hostname">liite</a></body></html>'
    )
    rendered = render_pdf(html, base_url=BASE, title="t", language="fi")
    assert canary.requests == []
    assert not has_embedded_files(rendered.pdf)
    assert "root:" not in pdf_text(rendered.pdf)


def test_a_render_over_the_time_limit_fails_with_a_reason() -> None:
    html = "<html><body>" + "<p>Kappale tekstiä, joka vie aikaa.</p>" * 20000 + "</body></html>"
    with pytest.raises(RenderFailed) as failed:
        render_pdf(html, base_url=BASE, title="t", language="fi", time_limit=0.5)
    assert "longer than 0.5 seconds" in failed.value.reason


def test_a_render_over_the_memory_limit_fails_with_a_reason() -> None:
    html = "<html><body>" + "<p>Teksti</p>" * 2000 + "</body></html>"
    with pytest.raises(RenderFailed) as failed:
        render_pdf(html, base_url=BASE, title="t", language="fi", memory_mb=64)
    assert "memory" in failed.value.reason or "MB" in failed.value.reason
