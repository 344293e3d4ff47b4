"""Server-rendered pages: one Jinja2 environment with autoescape, and safe response headers.

Model output is untrusted: every text goes through autoescaping, and the Content Security
Policy only allows the app's own script and style, so injected markup stays inert even if
something slipped through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a page with the security headers."""
    html = ENV.get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def message(title: str, text: str, status: int, link: str | None = None) -> HTMLResponse:
    """A short page that says what happened and what to do."""
    return page("message.html.j2", {"title": title, "text": text, "link": link}, status)


def redirect(url: str) -> Response:
    """A 303 redirect (after a post, the browser loads the next page with GET)."""
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (a cross-site post)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host
