"""Content URLs: every way of linking one content gives one canonical URL and one content key."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.content import (
    URL_PATTERN,
    CanonicalUrl,
    ContentKey,
    ContentUrlError,
    canonicalize,
    content_key,
)

pytestmark = pytest.mark.unit

FORMS = [
    # Facebook pages and profiles: host variants, tracking parameters, case, dots, no scheme.
    ("https://www.facebook.com/vtv24news", "facebook:page:vtv24news"),
    ("https://m.facebook.com/VTV24News/?fbclid=IwAR0abc", "facebook:page:vtv24news"),
    ("facebook.com/vtv24news", "facebook:page:vtv24news"),
    ("fb.com/vtv24news#posts", "facebook:page:vtv24news"),
    ("https://mbasic.facebook.com/vtv24news?mibextid=ZbWKwL", "facebook:page:vtv24news"),
    ("http://web.facebook.com/vtv24news/", "facebook:page:vtv24news"),
    ("https://touch.facebook.com/vtv24news", "facebook:page:vtv24news"),
    ("https://vi-vn.facebook.com/vtv24news/about", "facebook:page:vtv24news"),
    ("https://fb.me/vtv24news", "facebook:page:vtv24news"),
    ("https://www.facebook.com/VTV.24.News", "facebook:page:vtv24news"),
    ("https://www.facebook.com/profile.php?id=100064512345678&mibextid=LQQJ4d", "facebook:profile:100064512345678"),
    ("https://m.facebook.com/profile.php?id=100064512345678&__tn__=-]C", "facebook:profile:100064512345678"),
    ("https://www.facebook.com/100064512345678", "facebook:profile:100064512345678"),
    ("https://www.facebook.com/Tin-T%E1%BB%A9c-Online-100064512345678/", "facebook:profile:100064512345678"),
    ("https://www.facebook.com/pg/VTV24News/posts/", "facebook:page:vtv24news"),
    # Facebook posts, videos, photos, groups, share links.
    ("https://www.facebook.com/100064512345678/posts/987654321/", "facebook:post:987654321"),
    ("https://www.facebook.com/vtv24news/posts/pfbid02xYzAbC?__cft__[0]=AZX&__tn__=%2CO%2CP-R", "facebook:post:pfbid02xYzAbC"),
    ("https://m.facebook.com/story.php?story_fbid=pfbid0Abc123&id=100064512345678&mibextid=Nif5oz", "facebook:post:pfbid0Abc123"),
    ("https://www.facebook.com/permalink.php?story_fbid=1234567890&id=100064512345678", "facebook:post:1234567890"),
    ("https://www.facebook.com/groups/1234567890/posts/9876543210/?ref=share", "facebook:post:9876543210"),
    ("https://www.facebook.com/groups/HoiLuaDao/", "facebook:group:hoiluadao"),
    ("https://www.facebook.com/watch/?v=1122334455&ref=sharing", "facebook:video:1122334455"),
    ("https://fb.watch/aBcD12_-x/", "facebook:short:aBcD12_-x"),
    ("https://www.facebook.com/reel/998877665544?sfnsn=mo&s=8", "facebook:video:998877665544"),
    ("https://www.facebook.com/vtv24news/videos/tin-gia/445566778899/", "facebook:video:445566778899"),
    ("https://www.facebook.com/photo/?fbid=5566778899&set=a.123", "facebook:photo:5566778899"),
    ("https://www.facebook.com/photo.php?fbid=5566778899", "facebook:photo:5566778899"),
    ("https://www.facebook.com/share/p/1AbCdEfGh/?mibextid=WC7FNe", "facebook:share:1AbCdEfGh"),
    ("https://www.facebook.com/share/r/1XyZ/", "facebook:share:1XyZ"),
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fm.facebook.com%2Fvtv24news%3Ffbclid%3D1&h=AT0", "facebook:page:vtv24news"),
    # YouTube: one video id whatever the form; ids keep their letter case.
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "youtube:video:dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ?si=Ab12Cd34", "youtube:video:dQw4w9WgXcQ"),
    ("https://m.youtube.com/watch?v=dQw4w9WgXcQ&feature=share&t=42", "youtube:video:dQw4w9WgXcQ"),
    ("youtube.com/shorts/dQw4w9WgXcQ?feature=share", "youtube:video:dQw4w9WgXcQ"),
    ("https://www.youtube.com/embed/dQw4w9WgXcQ", "youtube:video:dQw4w9WgXcQ"),
    ("https://www.youtube.com/live/dQw4w9WgXcQ?si=x", "youtube:video:dQw4w9WgXcQ"),
    ("https://www.youtube.com/watch?v=dqw4w9wgxcq", "youtube:video:dqw4w9wgxcq"),
    ("https://www.youtube.com/@VTV24", "youtube:channel:@vtv24"),
    ("https://www.youtube.com/channel/UCabcDEF123_-xyz/videos", "youtube:channel:UCabcDEF123_-xyz"),
    ("https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG", "youtube:playlist:PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG"),
    # TikTok: users lower-case, videos by id, short links kept as they are.
    ("https://www.tiktok.com/@Tin.Gia", "tiktok:user:tin.gia"),
    ("www.tiktok.com/@tin.gia?lang=vi", "tiktok:user:tin.gia"),
    ("https://www.tiktok.com/@tin.gia/video/7301234567890123456?is_from_webapp=1&sender_device=pc", "tiktok:video:7301234567890123456"),
    ("https://m.tiktok.com/@someone.else/video/7301234567890123456?_t=8kX&_r=1", "tiktok:video:7301234567890123456"),
    ("https://vm.tiktok.com/ZSLkAbCdE/", "tiktok:short:ZSLkAbCdE"),
    ("https://www.tiktok.com/t/ZT8abc123/", "tiktok:short:ZT8abc123"),
    # Zalo: phone numbers in E.164, official accounts, groups.
    ("https://zalo.me/0912345678", "zalo:phone:+84912345678"),
    ("zalo.me/84912345678", "zalo:phone:+84912345678"),
    ("https://zalo.me/+84912345678?zarsrc=30", "zalo:phone:+84912345678"),
    ("https://zalo.me/%2B84912345678", "zalo:phone:+84912345678"),
    ("https://zalo.me/4318613538719235889", "zalo:oa:4318613538719235889"),
    ("https://oa.zalo.me/4318613538719235889", "zalo:oa:4318613538719235889"),
    ("https://zalo.me/g/abcxyz123", "zalo:group:abcxyz123"),
    ("https://zalo.me/congan.hanoi", "zalo:oa:congan.hanoi"),
    # Links of a platform in no form the rules know: keyed by path, never mistaken for an account.
    ("https://www.facebook.com/profile.php?id=not-a-number", "facebook:url:/profile.php?id=not-a-number"),
    ("https://m.facebook.com/hashtag/luadao?__cft__[0]=AZX&ref=x", "facebook:url:/hashtag/luadao"),
    ("https://zalo.me/s/1234567/", "zalo:url:/s/1234567"),
    ("https://oa.zalo.me/home", "zalo:url:/home"),
    ("https://t.me/share/url?url=x.vn", "telegram:url:/share/url?url=x.vn"),
    # Other platforms.
    ("https://www.instagram.com/p/CxYz123AbC/?igsh=MTc4MmM1YmI2Ng==", "instagram:post:CxYz123AbC"),
    ("https://www.instagram.com/reel/CxYz123AbC/?igshid=abc", "instagram:post:CxYz123AbC"),
    ("instagram.com/Some.User", "instagram:user:some.user"),
    ("https://twitter.com/SomeUser/status/1712345678901234567?s=20", "x:post:1712345678901234567"),
    ("https://x.com/someuser/status/1712345678901234567/photo/1", "x:post:1712345678901234567"),
    ("https://t.me/TinGiaChannel", "telegram:channel:tingiachannel"),
    ("https://t.me/s/tingiachannel/1234", "telegram:post:tingiachannel/1234"),
    ("https://t.me/+AbCdEf123", "telegram:invite:AbCdEf123"),
    ("https://t.me/c/1234567/89", "telegram:post:c/1234567/89"),
    # Any other site: host without www., path, remaining parameters sorted.
    ("https://example.com/path?a=1", "web:url:example.com/path?a=1"),
    ("HTTPS://WWW.Example.COM:443/path/?utm_source=fb&b=2&a=1#section", "web:url:example.com/path?a=1&b=2"),
    ("example.com/path?gclid=x&a=1", "web:url:example.com/path?a=1"),
    ("http://trung-thuong-iphone.xyz", "web:url:trung-thuong-iphone.xyz"),
    ("http://103.15.22.7:8080/login.php", "web:url:103.15.22.7:8080/login.php"),
    ("https://vnexpress.net/tin-t%e1%bb%a9c-1.html", "web:url:vnexpress.net/tin-t%E1%BB%A9c-1.html"),
    ("https://vnexpress.net/tin-tức-1.html", "web:url:vnexpress.net/tin-t%E1%BB%A9c-1.html"),
    ("https://chính-phủ.vn/thông-báo", "web:url:xn--chnh-ph-8ya5810e.vn/th%C3%B4ng-b%C3%A1o"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "key"), FORMS, ids=[raw for raw, _ in FORMS])
def test_each_form_of_a_link_gives_its_content_key(raw: str, key: str) -> None:
    assert str(content_key(raw)) == key


@pytest.mark.parametrize(("raw", "_"), FORMS, ids=[raw for raw, _ in FORMS])
def test_the_canonical_url_is_https_ascii_and_canonical_again(raw: str, _: str) -> None:
    canonical = canonicalize(raw)
    assert canonical.url.startswith("https://") and canonical.url.isascii()
    assert canonicalize(canonical.url) == canonical


def test_the_key_names_platform_kind_and_id() -> None:
    key = content_key("m.facebook.com/vtv24news")
    assert key == ContentKey("facebook", "page", "vtv24news")
    assert str(key) == "facebook:page:vtv24news"


def test_a_key_reads_back_from_its_text_even_with_colons_in_the_id() -> None:
    key = content_key("http://103.15.22.7:8080/login.php")
    assert ContentKey.parse(str(key)) == key


def test_a_very_long_address_gives_a_bounded_key_that_still_tells_addresses_apart() -> None:
    first = content_key("https://example.com/" + "é" * 600 + "a")
    second = content_key("https://example.com/" + "é" * 600 + "b")
    assert len(first.id) == len(second.id) == 512 and first != second
    assert first.id.startswith("example.com/%C3%A9") and "#sha256:" in first.id


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("m.facebook.com/VTV24News/?fbclid=1", "https://www.facebook.com/vtv24news"),
        ("youtu.be/dQw4w9WgXcQ?t=3", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("https://zalo.me/+84 912 345 678".replace(" ", ""), "https://zalo.me/0912345678"),
        ("https://www.tiktok.com/@Tin.Gia/video/7301?_r=1", "https://www.tiktok.com/@tin.gia/video/7301"),
        ("https://Example.com/a%2fb/%7euser/?b=2&a=1", "https://example.com/a%2Fb/~user?a=1&b=2"),
        ("https://example.com/50%", "https://example.com/50%25"),
    ],
)  # fmt: skip
def test_the_canonical_url_drops_variants_and_tracking(raw: str, url: str) -> None:
    assert canonicalize(raw).url == url


@pytest.mark.parametrize(
    ("raw", "display"),
    [
        ("https://vnexpress.net/tin-t%E1%BB%A9c-n%C3%B3ng.html", "https://vnexpress.net/tin-tức-nóng.html"),
        ("https://xn--chnh-ph-8ya5810e.vn/th%C3%B4ng-b%C3%A1o", "https://chính-phủ.vn/thông-báo"),
        ("https://example.com/a%2Fb?q=x%26y", "https://example.com/a%2Fb?q=x%26y"),
        ("https://example.com/%FF%FE", "https://example.com/%FF%FE"),
    ],
)  # fmt: skip
def test_the_display_form_is_readable_and_keeps_meaningful_escapes(raw: str, display: str) -> None:
    assert canonicalize(raw).display == display


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("not a url", "not_url"),
        ("javascript:alert(1)", "scheme"),
        ("JavaScript://example.com/%0aalert(1)", "scheme"),
        ("ftp://example.com/file", "scheme"),
        ("mailto:someone@example.com", "scheme"),
        ("data:text/html,<b>x</b>", "scheme"),
        ("https://", "not_url"),
        ("https:///path", "not_url"),
        ("https://example", "not_url"),
        ("https://user:secret@example.com/", "not_url"),
        ("https://example.com:99999/", "not_url"),
        ("https://exa mple.com/", "not_url"),
        ("facebook.com/a b", "not_url"),
        ("https://-bad-.com/", "not_url"),
        ("https://" + "a" * 64 + ".com/", "not_url"),
        ("https://example.com/" + "a" * 2000, "too_long"),
        ("https://www.facebook.com/", "home"),
        ("youtube.com", "home"),
    ],
)
def test_what_is_not_a_web_link_is_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(ContentUrlError) as refused:
        canonicalize(raw)
    assert refused.value.reason == reason and str(refused.value)


def test_a_canonical_url_is_a_value() -> None:
    canonical = canonicalize("fb.com/vtv24news")
    assert canonical == CanonicalUrl(
        "https://www.facebook.com/vtv24news",
        "https://www.facebook.com/vtv24news",
        ContentKey("facebook", "page", "vtv24news"),
    )


QUICK = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
PLATFORM_PREFIXES = st.sampled_from(
    ["facebook.com/", "m.facebook.com/profile.php?id=", "youtu.be/", "youtube.com/watch?v=",
     "tiktok.com/@", "zalo.me/", "t.me/", "x.com/", "instagram.com/p/",
     "l.facebook.com/l.php?u="]
)  # fmt: skip


@QUICK
@given(st.text())
def test_any_text_is_canonical_or_refused_with_content_url_error(raw: str) -> None:
    try:
        canonical = canonicalize(raw)
    except ContentUrlError as refused:
        assert refused.reason == "home" or not re.search(URL_PATTERN, raw)
    else:
        assert canonicalize(canonical.url) == canonical


@QUICK
@given(PLATFORM_PREFIXES, st.text(max_size=40))
def test_any_platform_link_is_canonical_or_refused(prefix: str, tail: str) -> None:
    try:
        canonical = canonicalize(prefix + tail)
    except ContentUrlError:
        return
    assert canonicalize(canonical.url).key == canonical.key


@QUICK
@given(st.from_regex(URL_PATTERN).filter(lambda raw: len(raw) <= 2000))
def test_every_text_the_published_pattern_allows_is_accepted(raw: str) -> None:
    try:
        canonicalize(raw)
    except ContentUrlError as refused:
        assert refused.reason == "home"
