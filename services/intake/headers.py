"""Security headers on every intake answer: a strict CSP, no framing, no sniffing, no caching of
what may carry personal data (DESIGN "Bad input and security": the public edge)."""

from __future__ import annotations

from aiohttp import web

# Pages load only their own scripts and styles (services/intake/static/); nothing inline.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # browsers that predate frame-ancestors
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Pages, reports, statuses and receipts may carry what a reporter typed; static files and the
# answers that set their own caching (the places endpoints) keep theirs.
NOT_STORED = "no-store"
CACHEABLE_PREFIXES = ("/static/",)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: the headers every answer carries, errors included; a handler's own
    value (the evidence download's tighter CSP, the places endpoints' caching) wins."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith(CACHEABLE_PREFIXES):
        response.headers.setdefault("Cache-Control", NOT_STORED)


def add_security_headers_to(app: web.Application) -> None:
    """Register the security headers on `app`."""
    app.on_response_prepare.append(add_security_headers)
