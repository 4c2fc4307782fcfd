"""What a link on each platform points to: the rules behind `services.common.content`.

Each rule reads a `WebUrl` and returns a `Found` (kind, id and the canonical URL), or None
when the link is of the platform but of no form it knows (the caller then keys it by its path).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from services.common.phones import e164
from services.common.weburl import WebUrl

FACEBOOK = "https://www.facebook.com"
YOUTUBE = "https://www.youtube.com"
TIKTOK = "https://www.tiktok.com"
INSTAGRAM = "https://www.instagram.com"
X = "https://x.com"
TELEGRAM = "https://t.me"
ZALO = "https://zalo.me"

FACEBOOK_PREFIXES = frozenset(
    {"www", "m", "mbasic", "web", "touch", "mobile", "free", "d", "business", "upload"}
)
LOCALE_PREFIX = re.compile(r"[a-z]{2}-[a-z]{2}")
# First path segments of facebook.com that are not a page's name.
FACEBOOK_RESERVED = frozenset(
    {
        "hashtag", "login", "login.php", "marketplace", "gaming", "live", "stories", "help",
        "policies", "notes", "media", "messages", "search", "home.php", "settings", "business",
        "ads", "pg", "dialog", "sharer", "sharer.php", "plugins", "tr", "l.php", "friends",
        "bookmarks", "privacy", "fundraisers", "checkpoint", "recover", "legal", "about",
        # The forms the rules read: a link of such a form that they could not read is no page.
        "profile.php", "permalink.php", "story.php", "photo.php", "video.php", "photo", "watch",
        "reel", "reels", "groups", "share", "events", "people", "pages",
    }
)  # fmt: skip
INSTAGRAM_RESERVED = frozenset({"explore", "accounts", "direct", "about", "legal", "developer"})
ZALO_RESERVED = frozenset({"pc", "download", "s", "g", "app", "apps", "news", "about", "blog"})
TELEGRAM_RESERVED = frozenset(
    {"share", "addstickers", "addemoji", "proxy", "socks", "iv", "setlanguage", "login", "c"}
)
X_RESERVED = frozenset({"home", "search", "hashtag", "i", "intent", "explore", "settings", "share"})
VANITY = re.compile(r"[A-Za-z0-9.]{1,50}")
HANDLE = re.compile(r"[A-Za-z0-9._-]{1,100}")
NUMERIC = re.compile(r"[0-9]{1,25}")
# The older page address: the page's name, a hyphen and its number.
NAMED_PAGE_ID = re.compile(r"[^/]*[^\W\d_][^/]*-([0-9]{6,25})")
OPAQUE = re.compile(r"[A-Za-z0-9_-]{1,200}")
PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ().-]{5,20}")


@dataclass(frozen=True)
class Found:
    """What a link points to: its kind, its id on the platform and its canonical URL."""

    kind: str
    id: str
    url: str


def _q(segment: str) -> str:
    return quote(segment, safe="@!$&'()*+,;=:~")


def facebook_platform(host: str) -> bool:
    """True for facebook.com and its host variants (m., mbasic., vi-vn., fb.com, ...)."""
    for domain in ("facebook.com", "fb.com"):
        if host == domain:
            return True
        prefix = host.removesuffix("." + domain)
        if prefix != host and (prefix in FACEBOOK_PREFIXES or LOCALE_PREFIX.fullmatch(prefix)):
            return True
    return False


def facebook(url: WebUrl) -> Found | None:
    """Profiles, pages, groups, posts, videos, reels, photos, events and share links."""
    segments = url.segments
    first = segments[0].lower()
    for rule in (_facebook_by_query, _facebook_by_path):
        if (found := rule(url, first, segments)) is not None:
            return found
    if first in FACEBOOK_RESERVED or not VANITY.fullmatch(first):
        return None
    if found := _facebook_under_page(first, segments):
        return found
    if NUMERIC.fullmatch(first):
        return Found("profile", first, f"{FACEBOOK}/profile.php?id={first}")
    return _facebook_page(first)


def _facebook_page(name: str) -> Found:
    # Facebook ignores dots and letter case in user names: john.smith55 is johnsmith55.
    return Found("page", name.replace(".", ""), f"{FACEBOOK}/{name}")


def _facebook_by_query(url: WebUrl, first: str, _: list[str]) -> Found | None:
    if first == "profile.php" and NUMERIC.fullmatch(number := url.param("id") or ""):
        return Found("profile", number, f"{FACEBOOK}/profile.php?id={number}")
    if first in ("permalink.php", "story.php") and OPAQUE.fullmatch(
        story := url.param("story_fbid") or ""
    ):
        owner = url.param("id") or ""
        tail = f"&id={owner}" if NUMERIC.fullmatch(owner) else ""
        return Found("post", story, f"{FACEBOOK}/permalink.php?story_fbid={story}{tail}")
    if first in ("watch", "video.php") and NUMERIC.fullmatch(video := url.param("v") or ""):
        return Found("video", video, f"{FACEBOOK}/watch?v={video}")
    if first in ("photo", "photo.php") and NUMERIC.fullmatch(photo := url.param("fbid") or ""):
        return Found("photo", photo, f"{FACEBOOK}/photo?fbid={photo}")
    return None


def _facebook_by_path(_: WebUrl, first: str, segments: list[str]) -> Found | None:
    rest = segments[1:]
    if first in ("reel", "reels") and rest and NUMERIC.fullmatch(rest[0]):
        return Found("video", rest[0], f"{FACEBOOK}/reel/{rest[0]}")
    if first == "groups" and rest and HANDLE.fullmatch(rest[0]):
        if len(rest) >= 3 and rest[1] in ("posts", "permalink") and OPAQUE.fullmatch(rest[2]):
            return Found("post", rest[2], f"{FACEBOOK}/groups/{rest[0].lower()}/posts/{rest[2]}")
        return Found("group", rest[0].lower(), f"{FACEBOOK}/groups/{rest[0].lower()}")
    if first == "share" and rest and all(OPAQUE.fullmatch(part) for part in rest):
        return Found("share", rest[-1], f"{FACEBOOK}/share/{'/'.join(rest)}")
    if first == "events" and rest and NUMERIC.fullmatch(rest[0]):
        return Found("event", rest[0], f"{FACEBOOK}/events/{rest[0]}")
    if first in ("people", "pages") and len(rest) >= 2 and NUMERIC.fullmatch(rest[-1]):
        return Found("profile", rest[-1], f"{FACEBOOK}/profile.php?id={rest[-1]}")
    if first == "pg" and rest and VANITY.fullmatch(rest[0]):
        return _facebook_page(rest[0].lower())
    if named := NAMED_PAGE_ID.fullmatch(segments[0]):  # Tin-Tức-Online-100064512345678
        return Found("profile", named[1], f"{FACEBOOK}/profile.php?id={named[1]}")
    return None


def _facebook_under_page(name: str, segments: list[str]) -> Found | None:
    """/NAME/posts/ID, /NAME/videos/[slug/]ID, /NAME/photos/[album/]ID."""
    if len(segments) < 3:
        return None
    section, last = segments[1].lower(), segments[-1]
    if section == "posts" and OPAQUE.fullmatch(segments[2]):
        return Found("post", segments[2], f"{FACEBOOK}/{name}/posts/{segments[2]}")
    if section == "videos" and NUMERIC.fullmatch(last):
        return Found("video", last, f"{FACEBOOK}/watch?v={last}")
    if section == "photos" and NUMERIC.fullmatch(last):
        return Found("photo", last, f"{FACEBOOK}/photo?fbid={last}")
    return None


def facebook_short(url: WebUrl) -> Found | None:
    """fb.me/NAME is a page's short name; fb.watch/ID and m.me/NAME as they are."""
    first = url.segments[0]
    if url.host == "fb.watch" and OPAQUE.fullmatch(first):
        return Found("short", first, f"https://fb.watch/{first}")
    if VANITY.fullmatch(first):
        return _facebook_page(first.lower())
    return None


def youtube(url: WebUrl) -> Found | None:
    """Videos in every form (watch, youtu.be, shorts, embed, live), channels and playlists."""
    segments = url.segments
    first = segments[0]
    video = url.param("v") if first == "watch" else None
    if url.host == "youtu.be":
        video = first
    elif first in ("shorts", "embed", "live", "v", "e") and len(segments) > 1:
        video = segments[1]
    if video is not None:
        return _youtube_video(video)
    if first.startswith("@") and HANDLE.fullmatch(first[1:]):
        return Found("channel", first.lower(), f"{YOUTUBE}/{_q(first.lower())}")
    if first == "channel" and len(segments) > 1 and OPAQUE.fullmatch(segments[1]):
        return Found("channel", segments[1], f"{YOUTUBE}/channel/{segments[1]}")
    if first in ("c", "user") and len(segments) > 1 and HANDLE.fullmatch(segments[1]):
        name = f"{first}/{segments[1].lower()}"
        return Found("channel", name, f"{YOUTUBE}/{name}")
    if first == "playlist" and OPAQUE.fullmatch(playlist := url.param("list") or ""):
        return Found("playlist", playlist, f"{YOUTUBE}/playlist?list={playlist}")
    return None


def _youtube_video(video: str) -> Found | None:
    # Video ids are case-sensitive: never lower-case them.
    if not OPAQUE.fullmatch(video):
        return None
    return Found("video", video, f"{YOUTUBE}/watch?v={video}")


def tiktok(url: WebUrl) -> Found | None:
    """Users (@name), videos and photo posts by id, and short links (kept: never resolved)."""
    segments = url.segments
    first = segments[0]
    if url.host in ("vm.tiktok.com", "vt.tiktok.com") and OPAQUE.fullmatch(first):
        return Found("short", first, f"https://{url.host}/{first}")
    if first == "t" and len(segments) > 1 and OPAQUE.fullmatch(segments[1]):
        return Found("short", segments[1], f"{TIKTOK}/t/{segments[1]}")
    if first.startswith("@") and HANDLE.fullmatch(user := first[1:].lower()):
        post = segments[1:3] if len(segments) >= 3 else []
        if post and post[0] in ("video", "photo") and NUMERIC.fullmatch(post[1]):
            return Found("video", post[1], f"{TIKTOK}/@{user}/{post[0]}/{post[1]}")
        return Found("user", user, f"{TIKTOK}/@{user}")
    video = segments[-1].removesuffix(".html")
    if first in ("v", "embed") and len(segments) > 1 and NUMERIC.fullmatch(video):
        return Found("video", video, f"{TIKTOK}/embed/v2/{video}")
    return None


def zalo(url: WebUrl) -> Found | None:
    """Phone numbers (E.164), official accounts (OA) by id or name, and group links."""
    segments = url.segments
    first = segments[0]
    if url.host == "oa.zalo.me":  # its other pages (home, manage, ...) are no account
        return _zalo_oa(first) if NUMERIC.fullmatch(first) else None
    if first == "g" and len(segments) > 1 and OPAQUE.fullmatch(segments[1]):
        return Found("group", segments[1], f"{ZALO}/g/{segments[1]}")
    if len(segments) > 1 or first.lower() in ZALO_RESERVED:
        return None
    if PHONE_LIKE.fullmatch(first) and (number := e164(first)) is not None:
        local = "0" + number[3:] if number.startswith("+84") else number
        return Found("phone", number, f"{ZALO}/{local}")
    return _zalo_oa(first)


def _zalo_oa(name: str) -> Found | None:
    if not HANDLE.fullmatch(name):
        return None
    return Found("oa", name.lower(), f"{ZALO}/{name.lower()}")


def instagram(url: WebUrl) -> Found | None:
    """Posts and reels (/p/, /reel/, /tv/), stories and accounts."""
    segments = url.segments
    first = segments[0].lower()
    post = segments[1] if len(segments) > 1 else ""
    if first in ("p", "reel", "reels", "tv") and OPAQUE.fullmatch(post):
        return Found("post", post, f"{INSTAGRAM}/p/{post}")
    if first == "stories" and len(segments) > 2 and NUMERIC.fullmatch(segments[2]):
        user = segments[1].lower()
        return Found("story", segments[2], f"{INSTAGRAM}/stories/{_q(user)}/{segments[2]}")
    if first not in INSTAGRAM_RESERVED and HANDLE.fullmatch(first):
        return Found("user", first, f"{INSTAGRAM}/{first}")
    return None


def x_twitter(url: WebUrl) -> Found | None:
    """Posts (/NAME/status/ID, /i/web/status/ID) and accounts on x.com and twitter.com."""
    segments = url.segments
    first = segments[0].lower()
    for index, segment in enumerate(segments[1:-1], start=1):
        if segment == "status" and NUMERIC.fullmatch(post := segments[index + 1]):
            return Found("post", post, f"{X}/i/web/status/{post}")
    if first not in X_RESERVED and HANDLE.fullmatch(first):
        return Found("user", first, f"{X}/{first}")
    return None


def telegram(url: WebUrl) -> Found | None:
    """Channels and users, their posts, and invite links."""
    segments = url.segments
    first = segments[0]
    if first.startswith("+") and OPAQUE.fullmatch(first[1:]):
        return Found("invite", first[1:], f"{TELEGRAM}/+{first[1:]}")
    if first == "joinchat" and len(segments) > 1 and OPAQUE.fullmatch(segments[1]):
        return Found("invite", segments[1], f"{TELEGRAM}/+{segments[1]}")
    if first == "c" and len(segments) > 2 and all(map(NUMERIC.fullmatch, segments[1:3])):
        private = "/".join(segments[:3])  # a post of a private channel: c/CHANNEL/POST
        return Found("post", private, f"{TELEGRAM}/{private}")
    if first == "s" and len(segments) > 1:
        segments = segments[1:]
    name = segments[0].lower()
    if name in TELEGRAM_RESERVED or not HANDLE.fullmatch(name):
        return None
    if len(segments) > 1 and NUMERIC.fullmatch(segments[1]):
        return Found("post", f"{name}/{segments[1]}", f"{TELEGRAM}/{name}/{segments[1]}")
    return Found("channel", name, f"{TELEGRAM}/{name}")


Rule = Callable[[WebUrl], Found | None]
# Host → (platform, rule); facebook.com's many host variants are matched by facebook_platform.
HOSTS: dict[str, tuple[str, Rule]] = {
    "fb.me": ("facebook", facebook_short),
    "fb.watch": ("facebook", facebook_short),
    "m.me": ("facebook", facebook_short),
    **dict.fromkeys(
        ("youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be",
         "youtube-nocookie.com", "www.youtube-nocookie.com"),
        ("youtube", youtube),
    ),
    **dict.fromkeys(
        ("tiktok.com", "www.tiktok.com", "m.tiktok.com", "vm.tiktok.com", "vt.tiktok.com"),
        ("tiktok", tiktok),
    ),
    **dict.fromkeys(("zalo.me", "www.zalo.me", "oa.zalo.me"), ("zalo", zalo)),
    **dict.fromkeys(
        ("instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am"),
        ("instagram", instagram),
    ),
    **dict.fromkeys(
        ("x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com",
         "mobile.twitter.com"),
        ("x", x_twitter),
    ),
    **dict.fromkeys(("t.me", "telegram.me", "www.t.me", "www.telegram.me"), ("telegram", telegram)),
}  # fmt: skip


def platform_rule(host: str) -> tuple[str, Rule] | None:
    """The platform of a host and the rule reading its links, or None for any other site."""
    if facebook_platform(host):
        return "facebook", facebook
    return HOSTS.get(host)
