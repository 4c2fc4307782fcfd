"""Staff sign in through an agency's OpenID Connect provider (a real one on 127.0.0.1, see
tests/oidc_provider.py), and every way that sign-in can go wrong ends on the sign-in page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from services.common.contracts import Category
from services.common.mongo import MongoDatabase
from services.routing.accounts import ACCOUNTS, ACCOUNTS_COLLECTION
from services.routing.oidc import CALLBACK_PATH, FLOW_COOKIE
from services.routing.sessions import SESSION_COOKIE
from services.routing.settings import OidcProvider, RoutingSettings
from tests.integration.routing.conftest import Reporter, case_of, start_routing
from tests.oidc_provider import Misbehaviour, TestIdentityProvider

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]
START = "/console/login/oidc/police-idp"
OFFICER = {
    "sub": "an-0001",
    "name": "Nguyễn Văn An",
    "preferred_username": "nva",
    "incidents_role": "officer",
    "incidents_agency": "police",
}


@pytest.fixture
async def idp() -> AsyncIterator[TestIdentityProvider]:
    provider = TestIdentityProvider(user=dict(OFFICER))
    await provider.start()
    yield provider
    await provider.close()


async def start_console(
    settings: RoutingSettings, idp: TestIdentityProvider, **fields: str
) -> Client:
    """Routing with the test provider configured (as `police-idp`), registered with it."""
    provider = OidcProvider.model_validate(
        {
            "name": "police-idp",
            "issuer": idp.issuer,
            "client_id": idp.client_id,
            "client_secret": idp.client_secret,
            "label_vi": "Công an thành phố",
            "label_en": "City police",
            **fields,
        }
    )
    client = await start_routing(settings.model_copy(update={"oidc_providers": [provider]}))
    idp.redirect_uris.add(str(client.make_url(CALLBACK_PATH)))
    return client


@pytest.fixture
async def console(
    routing_settings: RoutingSettings, idp: TestIdentityProvider
) -> AsyncIterator[Client]:
    client = await start_console(routing_settings, idp)
    yield client
    await client.close()


async def to_callback(client: Client, start: str = START) -> tuple[str, str]:
    """Start a sign-in and let the provider answer: (the callback address, the flow cookie)."""
    reply = await client.get(start, allow_redirects=False)
    assert reply.status == 303, await reply.text()
    flow_cookie = reply.cookies[FLOW_COOKIE]
    assert flow_cookie["httponly"] and flow_cookie["samesite"] == "Lax"
    assert flow_cookie["path"] == "/console/oidc"
    at_provider = await client.session.get(reply.headers["Location"], allow_redirects=False)
    assert at_provider.status == 302, await at_provider.text()
    return at_provider.headers["Location"], flow_cookie.value


async def sign_in(client: Client, start: str = START) -> ClientResponse:
    """Go through the whole sign-in, following every redirect."""
    callback, _ = await to_callback(client, start)
    return await client.session.get(callback)


def keep_flow_cookie(client: Client, flow: str) -> None:
    """Put the flow cookie back, as a browser replaying the callback would."""
    client.session.cookie_jar.update_cookies(
        {FLOW_COOKIE: flow}, response_url=client.make_url("/console/oidc/callback")
    )


async def assert_refused(reply: ClientResponse, message: str) -> None:
    """The sign-in page, a 4xx, saying why, with no session."""
    page = await reply.text()
    assert 400 <= reply.status < 500, (reply.status, page[:300])
    assert urlsplit(str(reply.url)).path.startswith("/console/"), reply.url
    assert 'action="/console/login"' in page and message in page
    assert SESSION_COOKIE not in {cookie.key for cookie in reply.cookies.values()}


async def test_an_officer_signs_in_lands_on_the_case_list_and_acts_under_their_name(
    console: Client, idp: TestIdentityProvider, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    reply = await sign_in(console)
    page = await reply.text()
    assert reply.status == 200 and urlsplit(str(reply.url)).path == "/console/cases"
    assert "Nguyễn Văn An" in page and case["tracking_code"] in page
    session_cookie = next(c for c in console.session.cookie_jar if c.key == SESSION_COOKIE)
    assert session_cookie["httponly"] and session_cookie["samesite"] == "Strict"
    assert FLOW_COOKIE not in {c.key for c in console.session.cookie_jar}

    case_page = await (await console.get(f"/console/cases/{case['_id']}")).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', case_page)
    assert csrf, "the case page has forms"
    acted = await console.post(
        f"/console/cases/{case['_id']}/acknowledge", data={"csrf_token": csrf.group(1)}
    )
    assert acted.status == 200, await acted.text()
    stored = await routing_db.cases.find_one({"_id": case["_id"]})
    assert stored is not None
    line = stored["audit"][-1]
    assert line["action"] == "acknowledge" and "Nguyễn Văn An" in line["person"]
    assert f"oidc:{idp.issuer}|an-0001" in line["person"]
    account = await routing_db[ACCOUNTS_COLLECTION].find_one({"_id": f"oidc:{idp.issuer}|an-0001"})
    assert account is not None and account["role"] == "officer" and account["agency"] == "police"


async def test_the_sign_in_page_offers_the_provider_and_the_flow_keeps_where_to_go(
    console: Client, idp: TestIdentityProvider
) -> None:
    page = await (await console.get("/console/login?next=/console/cases%3Fstatus%3Dnew")).text()
    assert "Đăng nhập bằng Công an thành phố" in page
    assert 'href="/console/login/oidc/police-idp?next=/console/cases%3Fstatus%3Dnew"' in page
    english = await (await console.get("/console/login?lang=en")).text()
    assert "Sign in with City police" in english

    reply = await console.get(
        START, params={"next": "/console/cases?status=new"}, allow_redirects=False
    )
    request = parse_qs(urlsplit(reply.headers["Location"]).query)
    assert request["code_challenge_method"] == ["S256"] and request["client_id"] == [idp.client_id]
    assert request["redirect_uri"] == [str(console.make_url(CALLBACK_PATH))]
    at_provider = await console.session.get(reply.headers["Location"], allow_redirects=False)
    landed = await console.session.get(at_provider.headers["Location"], allow_redirects=False)
    assert landed.status == 303 and landed.headers["Location"] == "/console/cases?status=new"


@pytest.mark.parametrize(
    ("misbehaviour", "message"),
    [
        (Misbehaviour(audience="another-client"), "Không xác minh được phản hồi"),
        (Misbehaviour(foreign_key=True), "Không xác minh được phản hồi"),
        (Misbehaviour(expired=True), "Không xác minh được phản hồi"),
        (Misbehaviour(nonce="another-nonce"), "Không xác minh được phản hồi"),
        (Misbehaviour(issuer="https://id.example.org"), "Không xác minh được phản hồi"),
        (Misbehaviour(error="access_denied"), "đã không cho đăng nhập"),
        (Misbehaviour(token_status=500), "Hiện không kết nối được"),
    ],
    ids=[
        "wrong-audience",
        "bad-signature",
        "expired",
        "wrong-nonce",
        "wrong-issuer",
        "idp-error",
        "token-fails",
    ],
)
async def test_a_provider_answer_that_does_not_hold_ends_on_the_sign_in_page(
    console: Client, idp: TestIdentityProvider, misbehaviour: Misbehaviour, message: str
) -> None:
    idp.misbehave = misbehaviour
    await assert_refused(await sign_in(console), message)


async def test_a_replayed_or_missing_or_forged_state_is_refused_before_the_code_is_used(
    console: Client, idp: TestIdentityProvider
) -> None:
    callback, flow = await to_callback(console)
    url = urlsplit(callback)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    without_state = url._replace(query=urlencode({"code": query["code"]})).geturl()
    forged = url._replace(query=urlencode({**query, "state": "x" * 32})).geturl()
    for address in (without_state, forged):
        keep_flow_cookie(console, flow)
        await assert_refused(await console.session.get(address), "không bắt đầu từ trình duyệt")
    assert idp.requests.get("/token", 0) == 0

    callback, flow = await to_callback(console)
    assert (await console.session.get(callback)).status == 200
    await assert_refused(await console.session.get(callback), "đã hết hạn")  # cookie gone
    keep_flow_cookie(console, flow)
    await assert_refused(await console.session.get(callback), "đã được dùng")
    assert idp.requests["/token"] == 1


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"incidents_role": "chief"}, "chưa được cấp vai trò"),
        ({"incidents_role": None}, "chưa được cấp vai trò"),
        ({"incidents_agency": "army"}, "không gắn với cơ quan"),
    ],
    ids=["unknown-role", "no-role", "unknown-agency"],
)
async def test_a_person_the_console_cannot_place_is_refused_and_not_recorded(
    console: Client,
    idp: TestIdentityProvider,
    routing_db: MongoDatabase,
    claims: dict[str, Any],
    message: str,
) -> None:
    idp.user = {k: v for k, v in {**OFFICER, **claims}.items() if v is not None}
    await assert_refused(await sign_in(console), message)
    assert await routing_db[ACCOUNTS_COLLECTION].count_documents({}) == 0


async def test_a_disabled_account_is_refused_and_its_session_ends(
    console: Client, idp: TestIdentityProvider
) -> None:
    assert (await sign_in(console)).status == 200
    await console.app[ACCOUNTS].set_disabled(f"oidc:{idp.issuer}|an-0001", True)
    assert (await console.get("/console/cases", allow_redirects=False)).status == 303
    await assert_refused(await sign_in(console), "đã bị vô hiệu hóa")


async def test_keys_are_cached_and_fetched_again_once_the_provider_rotates_them(
    console: Client, idp: TestIdentityProvider
) -> None:
    assert (await sign_in(console)).status == 200
    assert (await sign_in(console)).status == 200
    assert idp.requests["/jwks"] == 1
    idp.rotate_key()
    assert (await sign_in(console)).status == 200
    assert idp.requests["/jwks"] == 2
    assert idp.requests["/.well-known/openid-configuration"] == 1


async def test_the_client_may_authenticate_with_its_secret_in_the_form(
    routing_settings: RoutingSettings, idp: TestIdentityProvider
) -> None:
    client = await start_console(routing_settings, idp, token_auth="client_secret_post")
    try:
        assert (await sign_in(client)).status == 200
    finally:
        await client.close()
    assert idp.client_auth == ["client_secret_post"]


async def test_a_wrong_client_secret_is_refused_by_the_provider_and_ends_on_the_sign_in_page(
    routing_settings: RoutingSettings, idp: TestIdentityProvider
) -> None:
    client = await start_console(routing_settings, idp, client_secret="not-the-secret")
    try:
        await assert_refused(await sign_in(client), "Hiện không kết nối được")
    finally:
        await client.close()
    assert idp.client_auth == ["client_secret_basic"]


async def test_an_unknown_provider_is_a_404_on_the_sign_in_page(console: Client) -> None:
    reply = await console.get("/console/login/oidc/nobody")
    assert reply.status == 404 and "Không có cách đăng nhập này" in await reply.text()


async def test_a_provider_that_cannot_be_reached_ends_on_the_sign_in_page(
    console: Client, idp: TestIdentityProvider
) -> None:
    await idp.close()
    reply = await console.get(START, allow_redirects=False)
    await assert_refused(reply, "Hiện không kết nối được")
    assert FLOW_COOKIE not in {cookie.key for cookie in console.session.cookie_jar}
