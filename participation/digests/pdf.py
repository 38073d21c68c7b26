"""HTML to tagged PDF with WeasyPrint, in a child process with a time and a memory limit.

The HTML is ours (templates with autoescaped user text), but WeasyPrint's advisories were all ways
around a URL fetcher guard, so the fetcher trusts nothing: it serves files from the app's own
static folder and `data:` URLs, follows no redirects and refuses everything else. Renders run in
a child forked from a forkserver that has WeasyPrint imported already, so a render that runs away
is killed without taking the worker with it, and starting one costs milliseconds, not the second
WeasyPrint's import takes.
"""

from __future__ import annotations

import gc
import mimetypes
import multiprocessing
import resource
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from weasyprint import HTML, URLFetcher
from weasyprint.urls import URLFetcherResponse

ROOT = Path(__file__).resolve().parent.parent.parent
STATIC_DIR = ROOT / "static"
STATIC_URL_PATH = "/static"
TIME_LIMIT = 120.0  # seconds of wall time
MEMORY_LIMIT_MB = 2048  # address space of the child


@dataclass(frozen=True)
class RenderedPdf:
    pdf: bytes
    pages: int


class RenderFailed(Exception):
    """The render did not finish; `reason` says why in words staff can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RefusedURL(ValueError):
    """Raised by the fetcher; WeasyPrint then skips the resource (and logs it)."""


class StaticOnlyFetcher(URLFetcher):
    """Serves `<base_url><static_url_path>/...` from `static_dir` and `data:` URLs; refuses the rest.

    Nothing goes over the network and no redirect is ever followed: there is no HTTP handler to
    follow one. Paths are resolved and must stay inside `static_dir` (no `..`, no symlink out).
    """

    def __init__(self, *, base_url: str, static_dir: Path, static_url_path: str) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False, timeout=5)
        self.static_dir = static_dir.resolve()
        self.prefix = urljoin(base_url, static_url_path.rstrip("/") + "/")

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            return super().fetch(url, headers)  # urllib's DataHandler, the only protocol allowed
        if not url.startswith(self.prefix):
            raise RefusedURL(f"refused URL outside the static files: {url[:200]}")
        relative = unquote(urlsplit(url[len(self.prefix) :]).path)
        if "\\" in relative or "\x00" in relative:
            raise RefusedURL(f"refused static path: {url[:200]}")
        path = (self.static_dir / relative).resolve()
        if not path.is_relative_to(self.static_dir) or not path.is_file():
            raise RefusedURL(f"refused static path: {url[:200]}")
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mimetype})


def _write(html: str, options: dict[str, Any]) -> RenderedPdf:
    """The render itself (in whichever process calls it); the benchmark's bare run skips this."""
    fetcher = StaticOnlyFetcher(
        base_url=options["base_url"],
        static_dir=Path(options["static_dir"]),
        static_url_path=options["static_url_path"],
    )
    document = HTML(string=html, base_url=options["base_url"], url_fetcher=fetcher).render(
        pdf_variant="pdf/ua-1"
    )
    document.metadata.title = options["title"]
    document.metadata.lang = options["language"]
    # `<link rel=attachment>` would embed a file; a digest never carries one.
    document.metadata.attachments = []
    pdf = document.write_pdf(pdf_variant="pdf/ua-1")
    return RenderedPdf(pdf, len(document.pages))


def _child(html: str, options: dict[str, Any], conn: Any) -> None:
    """Runs in the child: set the limits, render, send back ("ok", bytes, pages) or ("error", why)."""
    limit = options["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(options["time_limit"]) + 5  # a backstop should the parent vanish
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    reply: tuple[Any, ...]
    try:
        rendered = _write(html, options)
    except MemoryError:
        reply = ("error", "memory")
    except Exception as exc:  # noqa: BLE001  (any failure is reported, not raised in the child)
        reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
    else:
        reply = ("ok", rendered.pdf, rendered.pages)
    # Sent outside the handlers: by now the failed render's objects (held by the traceback
    # inside an `except`) are freed, so reporting a MemoryError does not run out of memory too.
    if reply == ("error", "memory"):
        gc.collect()
        reply = ("error", f"the render needed more than {options['memory_mb']} MB of memory")
    try:
        conn.send(reply)
    finally:
        conn.close()


_context_lock = threading.Lock()
_context: Any = None


def _mp_context() -> Any:
    """A forkserver that imports this module (and so WeasyPrint) once; children fork from it."""
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            # "__main__" too, as multiprocessing does by default: else every child would
            # re-import the main script (guarded by `if __name__ == "__main__"`, as it must be).
            context.set_forkserver_preload(["__main__", __name__])
            _context = context
        return _context


def render_pdf(
    html: str,
    *,
    base_url: str,
    title: str,
    language: str,
    static_dir: Path | str = STATIC_DIR,
    static_url_path: str = STATIC_URL_PATH,
    time_limit: float = TIME_LIMIT,
    memory_mb: int = MEMORY_LIMIT_MB,
) -> RenderedPdf:
    """A tagged PDF (PDF/UA-1) of `html`, with its title and language set.

    Relative URLs resolve against `base_url`; only those under `static_url_path` are served (from
    `static_dir`), plus `data:` URLs. Raises RenderFailed when the render errs, runs over
    `time_limit` seconds or over `memory_mb` of memory; it never hangs the caller.
    """
    options = {
        "base_url": base_url.rstrip("/") + "/",
        "title": title,
        "language": language,
        "static_dir": str(static_dir),
        "static_url_path": static_url_path,
        "time_limit": time_limit,
        "memory_mb": memory_mb,
    }
    context = _mp_context()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(html, options, send), daemon=True)
    process.start()
    send.close()  # the child holds the only writer: EOF tells us it died
    try:
        if not receive.poll(time_limit):
            raise RenderFailed(f"the render took longer than {time_limit:g} seconds")
        try:
            result = receive.recv()
        except EOFError:
            process.join(5)
            raise RenderFailed(_death(process.exitcode, memory_mb)) from None
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if result[0] != "ok":
        raise RenderFailed(result[1])
    return RenderedPdf(result[1], result[2])


def _death(exitcode: int | None, memory_mb: int) -> str:
    if exitcode is not None and exitcode < 0:
        return (
            f"the renderer was stopped by signal {-exitcode} "
            f"(perhaps over its {memory_mb} MB memory limit)"
        )
    return (
        f"the renderer exited with code {exitcode} without a result "
        f"(perhaps over its {memory_mb} MB memory limit)"
    )
