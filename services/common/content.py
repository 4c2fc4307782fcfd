"""Canonical content URLs and content keys: one key for every way of linking one content.

Reported content is never fetched: everything here is read from the link's text alone.

Rules, in the order they apply:

- The text is stripped of surrounding whitespace and may be at most 2000 characters; a link
  with spaces inside, a user name or password, or a scheme other than http/https
  (`javascript:`, `ftp:`, `mailto:` ...) is refused (`ContentUrlError`, whose `reason` is
  `empty`, `too_long`, `scheme`, `host`, `not_url` or `home`). `weburl.URL_PATTERN` states
  exactly which texts are accepted (host names typed in Unicode are accepted besides).
- A link without a scheme (`facebook.com/x`, `www.tiktok.com/@a`) is completed with https; the
  canonical URL is always https, its host lower-case ASCII (IDN hosts in punycode), without
  the default port, fragment, trailing slash or tracking parameters (`TRACKING`); percent
  escapes are made canonical (upper-case, unreserved characters decoded, all else escaped).
- Facebook (www., m., mbasic., web., touch., mobile., locale hosts like vi-vn., fb.com):
  `profile.php?id=N`, `/N` and the older `/Page-Name-N` → `facebook:profile:N`; a page or
  user name → `facebook:page:NAME` (letter case and dots ignored, as Facebook ignores them);
  `/groups/G` → `group`; `/NAME/posts/ID`, `permalink.php`/`story.php?story_fbid=ID`,
  `/groups/G/posts/ID` → `post`; `/watch?v=ID`, `/reel/ID`, `/NAME/videos/ID` → `video`;
  `/photo?fbid=ID` → `photo`; `/events/ID` → `event`; `/share/.../ID` → `share` (opaque: it
  cannot be resolved without fetching, so it is its own key); `fb.me/NAME` and `m.me/NAME` →
  the page NAME; `fb.watch/ID` → `short`; `l.facebook.com/l.php?u=TARGET` → TARGET's key.
- YouTube: `watch?v=ID`, `youtu.be/ID`, `/shorts/ID`, `/embed/ID`, `/live/ID` (any host:
  m., music., youtube-nocookie.com) → `youtube:video:ID` (ids keep their letter case);
  `/@handle`, `/channel/UC...`, `/c/NAME`, `/user/NAME` → `channel`; `playlist?list=` →
  `playlist`.
- TikTok: `/@user` → `tiktok:user:user` (lower-case); `/@user/video/ID`, `/@user/photo/ID`,
  `/embed/v2/ID` → `tiktok:video:ID`; `vm.tiktok.com/X`, `vt.tiktok.com/X`, `/t/X` →
  `short` (short links are never resolved).
- Zalo: `zalo.me/PHONE` (0912345678, 84..., +84...) → `zalo:phone:+84912345678` (E.164 by
  the `phonenumbers` package); `zalo.me/ID` (an official account's number or name, in lower
  case) or `oa.zalo.me/NUMBER` → `zalo:oa:ID`; `zalo.me/g/CODE` → `zalo:group:CODE`.
- Instagram (`/p/`, `/reel/`, `/tv/` → `post`; `/stories/u/ID` → `story`; `/NAME` →
  `user`), X and Twitter (`/NAME/status/ID` → `post`; `/NAME` → `user`), Telegram (`t.me/NAME`
  → `channel`; `t.me/NAME/N` → `post`; `t.me/+CODE`, `/joinchat/CODE` → `invite`).
- The canonical URL of a platform's content is the platform's usual address of that id (a
  reel keeps `/reel/ID` though it shares the video's key); ids other than names keep their
  letter case. A link with a port that is not the default is read as any other site's.
- A platform's home page (`facebook.com/`) is refused: it is not content. Any other link of a
  platform is `PLATFORM:url:PATH?QUERY`; a link to any other site is
  `web:url:HOST/PATH?QUERY` (host without `www.`, remaining parameters sorted); such an id
  longer than 512 characters keeps its first 472 and ends with `#sha256:` and 32 hex digits
  of the whole, so that keys stay small enough to index.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from services.common.content_platforms import Found, facebook_platform, platform_rule
from services.common.weburl import (
    MAX_URL_LENGTH,
    URL_PATTERN,
    ContentUrlError,
    WebUrl,
    query_string,
    readable,
    split_url,
)

__all__ = [
    "MAX_URL_LENGTH",
    "URL_PATTERN",
    "CanonicalUrl",
    "ContentKey",
    "ContentUrlError",
    "canonicalize",
    "content_key",
]

TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "igshid", "igsh", "si", "mibextid", "ref", "ref_src", "ref_url", "_rdr", "rdid",
        "feature", "pp", "is_from_webapp", "sender_device", "_t", "_r", "zarsrc", "_ga", "_gl",
        "mc_cid", "mc_eid", "hc_ref", "hc_location", "fref", "refsrc", "sfnsn", "paipv",
        "share_app_id", "share_link_id", "tt_from", "u_code", "user_id", "utm_id",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "__cft__", "__tn__", "__xts__", "__eep__", "share_")
# Longest id of a key made of a path and query (longer ones end with a hash of the whole).
MAX_KEY_ID = 512
# How many redirect wrappers (l.facebook.com/l.php?u=...) are unwrapped.
MAX_UNWRAP = 2


@dataclass(frozen=True)
class ContentKey:
    """The identity of a piece of reported content: platform, kind and id."""

    platform: str
    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> ContentKey:
        """The key written as `platform:kind:id` (the id may hold colons)."""
        platform, kind, id_ = text.split(":", 2)
        return cls(platform, kind, id_)


@dataclass(frozen=True)
class CanonicalUrl:
    """A canonical content URL (ASCII, https), its readable form and its content key."""

    url: str
    display: str
    key: ContentKey


def canonicalize(raw: str) -> CanonicalUrl:
    """The canonical form of a reported content URL (read from its text, never fetched)."""
    return _canonical(split_url(raw), MAX_UNWRAP)


def content_key(url: str) -> ContentKey:
    """The content key of a reported content URL."""
    return canonicalize(url).key


def _canonical(url: WebUrl, unwraps: int) -> CanonicalUrl:
    wrapper = url.host in ("l.facebook.com", "lm.facebook.com") and unwraps > 0
    if wrapper and (target := url.param("u")):
        return _canonical(split_url(target), unwraps - 1)
    known = platform_rule(url.host) if url.port is None else None
    if known is None:
        return _site(url)
    platform, rule = known
    if not url.segments:
        raise ContentUrlError(
            "home", f"the link points to {platform}'s home page, not to a page, post or account"
        )
    found = rule(url) or _platform_path(url)
    return CanonicalUrl(found.url, readable(found.url), ContentKey(platform, found.kind, found.id))


def _platform_path(url: WebUrl) -> Found:
    """A platform's link of no known form: keyed by its path and its remaining parameters."""
    where = url.path + query_string(_kept_query(url))
    host = "www.facebook.com" if facebook_platform(url.host) else url.host
    return Found("url", _bounded(where), f"https://{host}{where}")


def _site(url: WebUrl) -> CanonicalUrl:
    """A link to any other site: keyed by host (without www.), path and sorted parameters."""
    where = url.path + query_string(_kept_query(url))
    canonical = f"https://{url.authority}{where}"
    site = url.authority.removeprefix("www.")
    return CanonicalUrl(
        canonical, readable(canonical), ContentKey("web", "url", _bounded(site + where))
    )


def _bounded(key_id: str) -> str:
    """A path-and-query id of at most MAX_KEY_ID characters: a longer one keeps its start and
    ends with a hash of the whole (so keys stay small enough to index)."""
    if len(key_id) <= MAX_KEY_ID:
        return key_id
    digest = hashlib.sha256(key_id.encode("ascii")).hexdigest()[:32]
    return f"{key_id[: MAX_KEY_ID - 40]}#sha256:{digest}"


def _kept_query(url: WebUrl) -> list[tuple[str, str]]:
    """The query without tracking parameters, sorted."""
    return sorted(pair for pair in url.query if not _tracking(pair[0]))


def _tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING or lowered.startswith(TRACKING_PREFIXES)
