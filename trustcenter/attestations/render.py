"""Documents to PDF: Jinja templates of their own, rendered by WeasyPrint as tagged PDF/A-3b.

The document templates live in `attestations/documents/`, apart from the web
templates, and their stylesheet and images in `attestations/assets/`.
WeasyPrint fetches through `locked_fetcher`, which refuses every remote URL
and every `file://` outside the assets folder: a document can never pull in
a page of the web, a file of the server, or a tracking pixel.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

PACKAGE = Path(__file__).resolve().parent
DOCUMENTS = PACKAGE / "documents"
ASSETS = PACKAGE / "assets"
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
MAX_LOGO_BYTES = 512 * 1024


class RefusedResource(ValueError):
    """A document asked for something outside its own assets."""


def locked_fetcher() -> Any:
    """WeasyPrint's url_fetcher for documents: data: URIs and files inside ASSETS, nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LockedFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(parts.path)).resolve()
                if path.is_relative_to(ASSETS) and path.is_file():
                    return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": _mime_type(path)})
            raise RefusedResource(f"documents may not load {scheme or 'relative'} resources: {url[:80]}")

    # No redirects and no protocol but these two, even before `fetch` looks at the URL.
    return LockedFetcher(allowed_protocols=("data", "file"), allow_redirects=False, timeout=1)


def _mime_type(path: Path) -> str:
    types = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}
    return types.get(path.suffix, "application/octet-stream")


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string, for page margin boxes (a <style> element is not HTML-escaped)."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,:;·–-/()'@" else f"\\{ord(ch):x} " for ch in str(text))
    return Markup(f'"{escaped}"')


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(DOCUMENTS), autoescape=select_autoescape(default=True),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["css_string"] = css_string
    return environment


_ENVIRONMENT = _environment()  # templates only: no state of any application


def qr_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG data URI (no file, no fetch)."""
    return segno.make(text, error="m").svg_data_uri(scale=4, border=2)


def logo_data_uri(content_dir: Path, logo: str) -> str | None:
    """The company logo from the content folder, as a data URI; None when there is none or it is unusable."""
    if not logo:
        return None
    root = Path(content_dir).resolve()
    path = (root / logo).resolve()
    kind = LOGO_TYPES.get(path.suffix.lower())
    if kind is None or not path.is_relative_to(root) or not path.is_file() or path.stat().st_size > MAX_LOGO_BYTES:
        return None
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


@dataclass(frozen=True)
class Letterhead:
    """What every document shows: who issues it, how to verify it."""

    company: str
    logo: str | None
    code: str
    verify_url: str  # the page with this document's code filled in
    verify_page: str  # the page itself, to type the code into
    title: str
    issued_at_text: str

    @property
    def qr(self) -> str:
        return qr_data_uri(self.verify_url)


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int


def render_html(template: str, letterhead: Letterhead, **context: Any) -> str:
    """The document's HTML, before WeasyPrint lays it out."""
    return _ENVIRONMENT.get_template(template).render(letterhead=letterhead, **context)


def render_pdf(template: str, letterhead: Letterhead, **context: Any) -> RenderedPdf:
    """Render `template` with the letterhead to tagged PDF/A-3b bytes."""
    from weasyprint import HTML

    html = render_html(template, letterhead, **context)
    document = HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=locked_fetcher()).render()
    output = io.BytesIO()
    document.write_pdf(output, pdf_variant="pdf/a-3b", pdf_tags=True,
                       custom_metadata=True)
    return RenderedPdf(output.getvalue(), len(document.pages))
