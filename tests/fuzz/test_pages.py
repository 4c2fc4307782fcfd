"""Hypothesis over the HTML form and the console, which OpenAPI does not describe: random field
values, encodings, multipart bodies and CSRF tokens must never get a 5xx.

Run by `scripts/fuzz`, which starts the services and sets FUZZ_INTAKE_URL, FUZZ_ROUTING_URL,
FUZZ_EXAMPLES, and MONGO_URL and ROUTING_MONGO_DB (where the console's fuzzing officer is made);
not part of the default test run.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import os
import re
import urllib.parse
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.mongo import mongo_database
from services.intake.views import SINGLE_VALUED
from services.routing.accounts import NewAccount
from tests.helpers import STAFF_PASSWORD, create_staff_account, staff_person, totp_code

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # each run explores afresh; failures are printed with their input
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FORM_FIELDS = [*SINGLE_VALUED, "csrf_token"]
ACTIONS = ["acknowledge", "start", "resolve", "reject", "reassign", "notes", "review"]
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


@dataclass
class Reply:
    """What a request got back."""

    status: int
    body: str
    cookies: dict[str, str]


def request(
    base: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> Reply:
    """One raw HTTP request (no client-side normalisation of what is sent)."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        cookies = {}
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            cookies[name.strip()] = rest.split(";")[0]
        return Reply(response.status, text, cookies)
    finally:
        connection.close()


def cookie_header(cookies: dict[str, str]) -> str:
    """A Cookie header carrying `cookies`."""
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def form_token(
    base: str, path: str, cookies: dict[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    """The CSRF token of the form at `path` and the cookies that go with it."""
    reply = request(base, "GET", path, headers={"Cookie": cookie_header(cookies or {})})
    assert reply.status == 200, reply.status
    match = CSRF_FIELD.search(reply.body)
    assert match is not None
    return match.group(1), {**(cookies or {}), **reply.cookies}


def assert_no_server_error(reply: Reply, what: str) -> None:
    """Anything but a 5xx."""
    assert reply.status < 500, f"{what}: {reply.status}\n{reply.body[:2000]}"


texts = st.text(max_size=300)
field_values = st.one_of(
    texts,
    st.sampled_from(
        ["scam_fraud", "facebook", "citizen", "yes", "no", "", "0001-01-01T03:00", "refresh", "01"]
    ),
    st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
    st.from_regex(r"\Ahttps?://[a-z0-9.]{1,30}/\S{0,40}\Z"),
)
fields = st.lists(st.tuples(st.sampled_from(FORM_FIELDS), field_values), max_size=20)


@st.composite
def encoded_bodies(draw: st.DrawFn, pairs: list[tuple[str, str]]) -> tuple[bytes, str]:
    """`pairs` as a body and its Content-Type: urlencoded, multipart (sometimes broken),
    or raw bytes, in an encoding that may not be UTF-8."""
    kind = draw(st.sampled_from(["urlencoded", "multipart", "raw"]))
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
    if kind == "urlencoded":
        text = urllib.parse.urlencode(pairs, encoding=encoding, errors="replace")
        charset = draw(st.sampled_from(["", "; charset=utf-8", "; charset=latin-1", "; charset=x"]))
        return text.encode(), "application/x-www-form-urlencoded" + charset
    if kind == "multipart":
        boundary = draw(st.sampled_from(["fuzzboundary", "", "a b", "x" * 80]))
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode(encoding, "replace")
            + b"\r\n"
            for name, value in pairs
        ]
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        declared = draw(st.sampled_from([f"; boundary={boundary}", "", f'; boundary="{boundary}"']))
        return body, "multipart/form-data" + declared
    return draw(st.binary(max_size=500)), draw(
        st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"])
    )


def intake_url() -> str:
    """Where the fuzzed intake listens."""
    return os.environ["FUZZ_INTAKE_URL"]


def routing_url() -> str:
    """Where the fuzzed routing listens."""
    return os.environ["FUZZ_ROUTING_URL"]


@FUZZ
@given(data=st.data(), pairs=fields, real_token=st.booleans())
def test_the_report_form_never_answers_5xx(
    data: st.DataObject, pairs: list[tuple[str, str]], real_token: bool
) -> None:
    token, cookies = form_token(intake_url(), "/")
    if real_token:
        pairs = [*pairs, ("csrf_token", token)]
    body, content_type = data.draw(encoded_bodies(pairs))
    headers = {"Content-Type": content_type, "Cookie": cookie_header(cookies)}
    reply = request(intake_url(), "POST", "/", body, headers)
    assert_no_server_error(reply, f"POST / {content_type} {body[:300]!r}")


@FUZZ
@given(code=texts, lang=st.sampled_from(["vi", "en", "", "xx"]))
def test_the_status_page_never_answers_5xx(code: str, lang: str) -> None:
    query = urllib.parse.urlencode({"code": code, "lang": lang})
    reply = request(intake_url(), "GET", f"/status?{query}")
    assert_no_server_error(reply, f"GET /status?{query}")
    for page in ("/status/", "/receipt/"):
        path = page + urllib.parse.quote(code, safe="")
        assert_no_server_error(request(intake_url(), "GET", path), f"GET {path}")


@FUZZ
@given(data=st.data(), login=st.one_of(texts, st.just("")), real_csrf=st.booleans())
def test_console_sign_in_never_answers_5xx(
    data: st.DataObject, login: str, real_csrf: bool
) -> None:
    csrf, cookies = form_token(routing_url(), "/console/login")
    pairs = [("login", login), ("csrf_token", csrf if real_csrf else data.draw(texts))]
    fields = st.sampled_from(["next", "login", "password", "code"])
    pairs += data.draw(st.lists(st.tuples(fields, texts), max_size=4))
    body, content_type = data.draw(encoded_bodies(pairs))
    headers = {"Content-Type": content_type, "Cookie": cookie_header(cookies)}
    reply = request(routing_url(), "POST", "/console/login", body, headers)
    assert_no_server_error(reply, f"POST /console/login {content_type} {body[:300]!r}")


async def fuzzing_officer() -> NewAccount:
    """A police officer's account, stored in routing's database."""
    url, name = os.environ["MONGO_URL"], os.environ["ROUTING_MONGO_DB"]
    async with mongo_database(url, name, timeout_ms=5000) as db:
        return await create_staff_account(db, staff_person("officer", "police"))


@functools.cache
def signed_in() -> dict[str, str]:
    """The cookies of the one console session of the fuzzing officer (signed in once: a TOTP
    code is used once)."""
    officer = asyncio.run(fuzzing_officer())
    csrf, cookies = form_token(routing_url(), "/console/login")
    form = {"login": officer.account.login, "password": STAFF_PASSWORD, "csrf_token": csrf}
    body = urllib.parse.urlencode({**form, "code": totp_code(officer.totp_secret)})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": cookie_header(cookies),
    }
    reply = request(routing_url(), "POST", "/console/login", body.encode(), headers)
    assert reply.status in (302, 303), reply.status
    return {**cookies, **reply.cookies}


query_values = st.one_of(
    texts,
    st.sampled_from(["9999-12-31", "0001-01-01", "2026-01-01", "true", "police", "²", "9" * 5000]),
)


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/console/cases",
            "/console/overview",
            "/console/cases/x",
            "/console/transparency",
            "/console/transparency.csv",
            "/transparency",
            "/transparency.json",
        ]
    ),
    query=st.dictionaries(
        st.sampled_from(
            [
                "cursor",
                "status",
                "category",
                "overdue",
                "from",
                "to",
                "partial",
                "q",
                "month",
                "lang",
            ]
        ),
        query_values,
        max_size=4,
    ),
)
def test_console_pages_never_answer_5xx(path: str, query: dict[str, str]) -> None:
    url = f"{path}?{urllib.parse.urlencode(query)}"
    reply = request(routing_url(), "GET", url, headers={"Cookie": cookie_header(signed_in())})
    assert_no_server_error(reply, f"GET {url}")


@FUZZ
@given(
    data=st.data(),
    case_id=texts,
    action=st.sampled_from(ACTIONS),
    pairs=st.lists(
        st.tuples(
            st.sampled_from(
                ["note", "reason", "outcome", "agency", "legal_basis", "explanation", "result"]
            ),
            field_values,
        ),
        max_size=5,
    ),
    real_csrf=st.booleans(),
)
def test_console_actions_never_answer_5xx(
    data: st.DataObject, case_id: str, action: str, pairs: list[tuple[str, str]], real_csrf: bool
) -> None:
    cookies = signed_in()
    case_path = "/console/cases/" + urllib.parse.quote(case_id or "x", safe="")
    page = request(routing_url(), "GET", case_path, headers={"Cookie": cookie_header(cookies)})
    match = CSRF_FIELD.search(page.body)
    csrf = match.group(1) if match and real_csrf else data.draw(texts)
    body, content_type = data.draw(encoded_bodies([*pairs, ("csrf_token", csrf)]))
    headers = {"Content-Type": content_type, "Cookie": cookie_header(cookies)}
    path = f"{case_path}/{action}"
    reply = request(routing_url(), "POST", path, body, headers)
    assert_no_server_error(reply, f"POST {path} {content_type} {body[:300]!r}")
