"""Taking a typed web address apart: completion, host, port, percent-encoding, query, display.

Nothing here knows a platform and nothing is ever fetched. `URL_PATTERN` is the exact set of
texts `split_url` accepts with an ASCII host (the OpenAPI documents publish it); host names
typed in Unicode (IDN) are accepted besides and converted to punycode.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

MAX_URL_LENGTH = 2000
# What pydantic strips as whitespace (Unicode White_Space), as characters and as a regex class.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
SPACE = "[\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
NOT_SPACE = "[^" + SPACE[1:]
LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST = f"{LABEL}(?:\\.{LABEL})+\\.?"
PORT = "6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}"
SCHEME = "[Hh][Tt][Tt][Pp][Ss]?"
URL_PATTERN = f"^{SPACE}*(?:{SCHEME}://)?{HOST}(?::(?:{PORT}))?(?:[/?#]{NOT_SPACE}*)?{SPACE}*$"

_ASCII_URL = re.compile(
    f"(?:(?P<scheme>{SCHEME})://)?(?P<host>{HOST})"
    f"(?::(?P<port>{PORT}))?(?P<rest>[/?#]{NOT_SPACE}*)?"
)
# The same with any non-ASCII letters in the host; the host is then checked through IDNA.
_UNICODE_URL = re.compile(
    f"(?:(?P<scheme>{SCHEME})://)?(?P<host>[^/?#:@\\\\{WHITESPACE}]+)"
    f"(?::(?P<port>{PORT}))?(?P<rest>[/?#]{NOT_SPACE}*)?"
)
_HAS_SCHEME = re.compile(f"{SCHEME}://")
_SCHEME_PREFIX = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(?![0-9])")
_ASCII_HOST = re.compile(HOST)
_ESCAPE = re.compile("%([0-9A-Fa-f]{2})")
_ESCAPE_RUN = re.compile("(?:%[0-9A-Fa-f]{2})+")
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
PATH_SAFE = "/:@!$&'()*+,;="
QUERY_SAFE = ":@!$'()*+,;/?"
# Escapes that stay escaped in the readable form: they would change the address's meaning.
KEEP_ESCAPED = frozenset("%/?#&=+")


class ContentUrlError(ValueError):
    """A reported content URL that cannot be accepted; `reason` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class WebUrl:
    """A web address taken apart and normalised (not yet interpreted)."""

    host: str  # lower-case ASCII (punycode), no trailing dot
    port: int | None  # None for the default (443, or 80 on http: the URL made of it is https)
    path: str  # percent-encoded, normalised, no trailing slash ("" for the root)
    query: tuple[tuple[str, str], ...]  # percent-encoded (name, value) pairs, in order given

    def param(self, name: str) -> str | None:
        """The first decoded value of query parameter `name`."""
        for key, value in self.query:
            if unquote(key) == name:
                return unquote(value)
        return None

    @property
    def segments(self) -> list[str]:
        """The decoded, non-empty path segments."""
        return [unquote(part) for part in self.path.split("/") if part]

    @property
    def authority(self) -> str:
        """Host and, when not the default, port."""
        return self.host if self.port is None else f"{self.host}:{self.port}"


def split_url(raw: str) -> WebUrl:
    """Take a typed address apart; raises ContentUrlError saying what is wrong."""
    if not isinstance(raw, str):
        raise ContentUrlError("not_url", "a link must be text")
    if len(raw) > MAX_URL_LENGTH:
        raise ContentUrlError("too_long", f"a link has at most {MAX_URL_LENGTH} characters")
    text = raw.strip(WHITESPACE)
    if not text:
        raise ContentUrlError("empty", "the link is empty")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise ContentUrlError("not_url", "the link contains characters that are not text")
    match = _ASCII_URL.fullmatch(text) or _unicode_match(text)
    if match is None:
        raise _refusal(text)
    scheme = (match["scheme"] or "https").lower()
    port = int(match["port"]) if match["port"] else None
    if port in (443, {"http": 80, "https": 443}[scheme]):  # the URL made of it is https
        port = None
    path, query = _split_rest(match["rest"] or "")
    return WebUrl(_ascii_host(match["host"]), port, path, query)


def complete_url(raw: str) -> str:
    """A link checked like `split_url` and otherwise kept as typed, https:// added when it has
    no scheme (for links that are not content, such as evidence)."""
    split_url(raw)
    text = raw.strip(WHITESPACE)
    return text if _HAS_SCHEME.match(text) else f"https://{text}"


def _unicode_match(text: str) -> re.Match[str] | None:
    match = _UNICODE_URL.fullmatch(text)
    if match is None or match["host"].isascii():
        return None
    try:
        _ascii_host(match["host"])
    except ContentUrlError:
        return None
    return match


def _ascii_host(host: str) -> str:
    """The host in lower-case ASCII, Unicode names through IDNA (punycode)."""
    host = host.rstrip(".").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise ContentUrlError("host", "the site name in the link is not valid") from None
    if not _ASCII_HOST.fullmatch(host):
        raise ContentUrlError("host", "the site name in the link is not valid")
    return host


def _refusal(text: str) -> ContentUrlError:
    """Why a text that is not an accepted address was refused."""
    scheme = _SCHEME_PREFIX.match(text)
    if scheme and scheme[1].lower() not in ("http", "https") and "." not in scheme[1]:
        return ContentUrlError("scheme", "only http and https links are accepted")
    if any(c in WHITESPACE for c in text):
        return ContentUrlError("not_url", "a link contains no spaces (one link per line)")
    if "@" in text.split("/", 3)[2 if "://" in text else 0]:
        return ContentUrlError("not_url", "a link with a user name or password is not accepted")
    return ContentUrlError("not_url", "not a link to a web page (such as facebook.com/...)")


def _split_rest(rest: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The normalised path and query pairs of what follows the host (the fragment dropped)."""
    rest = rest.split("#", 1)[0]
    path, _, query = rest.partition("?")
    path = requote(path, PATH_SAFE).rstrip("/")
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((requote(name, QUERY_SAFE), requote(value, QUERY_SAFE)))
    return path, tuple(pairs)


def requote(text: str, safe: str) -> str:
    """Percent-encode `text` canonically: escapes upper-case, unreserved ones decoded, every
    other character outside `safe` and the unreserved set escaped (a stray % too)."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        escape = _ESCAPE.match(text, index) if char == "%" else None
        if escape:
            decoded = chr(int(escape[1], 16))
            out.append(decoded if decoded in UNRESERVED else escape[0].upper())
            index += 3
            continue
        out.append(char if char in UNRESERVED or char in safe else quote(char, safe=""))
        index += 1
    return "".join(out)


def query_string(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
    """`?a=1&b` from pairs (empty when there are none)."""
    joined = "&".join(f"{name}={value}" if value else name for name, value in pairs)
    return f"?{joined}" if joined else ""


def readable(url: str) -> str:
    """A canonical URL for people: punycode host in Unicode, escaped UTF-8 text decoded."""
    scheme, _, rest = url.partition("://")
    authority, slash, tail = rest.partition("/")
    host, colon, port = authority.partition(":")
    if "xn--" in host:
        with contextlib.suppress(UnicodeError):
            host = host.encode("ascii").decode("idna")
    return f"{scheme}://{host}{colon}{port}{slash}{_ESCAPE_RUN.sub(_decoded_run, tail)}"


def _decoded_run(run: re.Match[str]) -> str:
    try:
        text = bytes.fromhex(run[0].replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return run[0]
    return "".join(
        quote(c, safe="") if c in KEEP_ESCAPED or not c.isprintable() else c for c in text
    )
