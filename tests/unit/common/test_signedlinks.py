"""Signed evidence links: what verifies, and every change that stops a link verifying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from services.common import signedlinks
from services.common.signedlinks import EvidenceLink, issue, sign, verify

pytestmark = pytest.mark.unit

SECRET = b"0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def link() -> EvidenceLink:
    return issue(SECRET, case_id="case_1", file_id="f" * 32, agency="police", now=NOW)


def check(candidate: EvidenceLink, *, signature: str | None = None, **changes: object) -> bool:
    values: dict[str, object] = {
        "case_id": candidate.case_id,
        "file_id": candidate.file_id,
        "agency": candidate.agency,
        "expires": str(candidate.expires),
        "signature": signature if signature is not None else sign(SECRET, candidate),
        "now": NOW,
    }
    values.update(changes)
    return verify(SECRET, **values) is not None  # type: ignore[arg-type]


def test_a_fresh_link_verifies_and_names_what_it_grants() -> None:
    granted = verify(
        SECRET,
        case_id="case_1",
        file_id="f" * 32,
        agency="police",
        expires=str(link().expires),
        signature=sign(SECRET, link()),
        now=NOW,
    )
    assert granted == link()
    assert granted.expires == int(NOW.timestamp()) + 600


@pytest.mark.parametrize(
    "changes",
    [
        {"agency": "culture_office"},
        {"case_id": "case_2"},
        {"file_id": "e" * 32},
        {"expires": "9999999999"},
        {"signature": "A" * 43},
        {"signature": ""},
        {"signature": "ü" * 43},
        {"expires": "-1"},
        {"expires": "١٢٣"},  # Arabic-Indic digits
        {"agency": "police\nx"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_any_change_to_a_link_is_refused(changes: dict[str, str]) -> None:
    assert check(link())
    assert not check(link(), **changes)


def test_an_expired_link_is_refused() -> None:
    fresh = link()
    assert check(fresh, now=NOW + timedelta(seconds=599))
    assert not check(fresh, now=NOW + timedelta(seconds=600))


def test_a_link_living_longer_than_a_day_is_refused_even_when_signed() -> None:
    forever = EvidenceLink("case_1", "f" * 32, "police", int(NOW.timestamp()) + 2 * 86400)
    assert not check(forever)


def test_issue_caps_the_lifetime() -> None:
    capped = issue(SECRET, case_id="c", file_id="f1", agency="police", now=NOW, seconds=10**9)
    assert capped.expires == int(NOW.timestamp()) + signedlinks.MAX_LINK_SECONDS


def test_another_secret_does_not_verify() -> None:
    other = b"another-secret-another-secret-!!"
    assert (
        verify(
            other,
            case_id="case_1",
            file_id="f" * 32,
            agency="police",
            expires=str(link().expires),
            signature=sign(SECRET, link()),
            now=NOW,
        )
        is None
    )


def test_ids_with_separators_cannot_be_signed() -> None:
    with pytest.raises(ValueError):
        sign(SECRET, EvidenceLink("case\n1", "f", "police", 1))


def test_query_carries_case_agency_expiry_and_signature() -> None:
    query = parse_qs(link().query(SECRET))
    assert query == {
        "case": ["case_1"],
        "agency": ["police"],
        "expires": [str(link().expires)],
        "sig": [sign(SECRET, link())],
    }


@pytest.mark.parametrize(
    ("host", "required"),
    [
        ("127.0.0.1", False),
        ("localhost", False),
        ("::1", False),
        ("0.0.0.0", True),
        ("10.0.0.5", True),
    ],
)
def test_secret_is_required_beyond_this_machine(host: str, required: bool) -> None:
    signedlinks.check_secret_setting("x" * 32, host)
    if required:
        with pytest.raises(ValueError, match="EVIDENCE_LINK_SECRET"):
            signedlinks.check_secret_setting(None, host)
    else:
        signedlinks.check_secret_setting(None, host)
