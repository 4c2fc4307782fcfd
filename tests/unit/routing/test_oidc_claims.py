"""OpenID Connect sign-in without servers: claims to a person, the flow cookie, the buttons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.routing.oidc import person_from_claims
from services.routing.oidc_client import (
    FLOW_SECONDS,
    Flow,
    RelyingParty,
    SignInFailed,
    sign_in_options,
)
from services.routing.people import Person, Role
from services.routing.settings import OidcProvider

pytestmark = pytest.mark.unit
AGENCIES = frozenset({"police", "culture_office", "party_committee"})
ISSUER = "https://id.example.gov.vn/realms/staff"


def provider(**fields: Any) -> OidcProvider:
    settings = {"name": "ministry", "issuer": ISSUER, "client_id": "console"}
    return OidcProvider.model_validate({**settings, "client_secret": "s" * 32, **fields})


def person(claims: dict[str, Any], **fields: Any) -> Person:
    return person_from_claims({"sub": "u-1", **claims}, provider(**fields), AGENCIES)


def refusal(claims: dict[str, Any], **fields: Any) -> str:
    with pytest.raises(SignInFailed) as refused:
        person(claims, **fields)
    return refused.value.reason


def test_an_officer_is_named_and_placed_in_the_agency_the_claims_name() -> None:
    officer = person(
        {"incidents_role": "officer", "incidents_agency": "police", "name": "Nguyễn Văn An"}
    )
    assert officer == Person(
        account_id=f"oidc:{ISSUER}|u-1",
        name="Nguyễn Văn An",
        role=Role.OFFICER,
        agency="police",
        via="oidc",
    )
    assert person({"incidents_role": ["lead"], "incidents_agency": "police"}).name == "u-1"
    named = person(
        {"incidents_role": "officer", "incidents_agency": "police", "preferred_username": "an"}
    )
    assert named.name == "an"


def test_an_agency_provider_places_everyone_in_its_agency_and_grants_only_agency_roles() -> None:
    officer = person(
        {"incidents_role": "lead", "incidents_agency": "culture_office"}, agency="police"
    )
    assert (officer.role, officer.agency) == (Role.LEAD, "police")
    assert refusal({"incidents_role": "supervisor"}, agency="police") == "no_role"
    assert refusal({"incidents_role": "admin"}, agency="police") == "no_role"


def test_a_supervisor_gets_the_scope_the_claims_list() -> None:
    supervisor = person(
        {
            "incidents_role": "supervisor",
            "incidents_scope_agencies": ["police", "culture_office"],
            "incidents_scope_provinces": "Đà Nẵng, Huế",
        },
        allowed_roles=["supervisor"],
    )
    assert supervisor.agency is None
    assert supervisor.scope_agencies == {"police", "culture_office"}
    assert supervisor.scope_provinces == {"Đà Nẵng", "Huế"}


def test_a_supervisor_without_a_scope_claim_is_refused_and_a_star_means_all() -> None:
    claims = {"incidents_role": "supervisor"}
    assert refusal(claims, allowed_roles=["supervisor"]) == "no_role"
    empty = {**claims, "incidents_scope_agencies": [], "incidents_scope_provinces": ""}
    assert refusal(empty, allowed_roles=["supervisor"]) == "no_role"
    everything = person({**claims, "incidents_scope_agencies": "*"}, allowed_roles=["supervisor"])
    assert everything.scope_agencies == frozenset() == everything.scope_provinces
    provinces = person(
        {**claims, "incidents_scope_agencies": ["*"], "incidents_scope_provinces": ["Huế"]},
        allowed_roles=["supervisor"],
    )
    assert (provinces.scope_agencies, provinces.scope_provinces) == (frozenset(), {"Huế"})


@pytest.mark.parametrize("role", ["supervisor", "auditor", "admin"])
def test_a_provider_grants_only_the_roles_it_allows(role: str) -> None:
    claims = {"incidents_role": role, "incidents_scope_agencies": "*"}
    assert refusal(claims) == "no_role"  # officer and lead by default
    assert person(claims, allowed_roles=[role]).role == Role(role)
    assert refusal({"incidents_role": "lead", "incidents_agency": "police"}, allowed_roles=[role])


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"incidents_role": "chief"},
        {"incidents_role": ["officer", "lead"]},
        {"incidents_role": {"officer": True}},
        {"incidents_role": 3},
    ],
)
def test_a_missing_unknown_or_ambiguous_role_is_refused(claims: dict[str, Any]) -> None:
    assert refusal({"incidents_agency": "police", **claims}) == "no_role"


@pytest.mark.parametrize(
    "claims",
    [
        {"incidents_role": "officer"},
        {"incidents_role": "officer", "incidents_agency": "army"},
        {"incidents_role": "supervisor", "incidents_scope_agencies": ["police", "army"]},
    ],
)
def test_an_agency_the_policy_does_not_know_is_refused(claims: dict[str, Any]) -> None:
    assert refusal(claims, allowed_roles=["officer", "supervisor"]) == "unknown_agency"


def test_claim_names_are_configurable() -> None:
    officer = person(
        {"role": "officer", "org": "party_committee"}, role_claim="role", agency_claim="org"
    )
    assert (officer.role, officer.agency) == (Role.OFFICER, "party_committee")


def party(secret: str = "s" * 32, now: datetime | None = None) -> RelyingParty:
    clock = now or datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    return RelyingParty(provider(client_secret=secret), None, lambda: clock)  # type: ignore[arg-type]


def test_the_flow_cookie_is_sealed_with_the_client_secret_and_expires() -> None:
    flow = Flow.start("ministry", "/console/cases/1")
    sealed = party().seal(flow)
    name, _, value = sealed.partition(".")
    assert name == "ministry" and flow.verifier not in sealed and flow.nonce not in sealed
    assert party().unseal(value) == flow
    assert party(secret="t" * 32).unseal(value) is None
    assert party().unseal(value[:-2] + "AA") is None
    later = datetime(2026, 11, 29, 12, 0, tzinfo=UTC) + timedelta(seconds=FLOW_SECONDS + 1)
    assert party(now=later).unseal(value) is None


def test_each_flow_is_new_and_its_challenge_is_the_s256_of_its_verifier() -> None:
    first, second = Flow.start("a", None), Flow.start("a", None)
    assert len({first.state, second.state, first.nonce, second.nonce}) == 4
    assert 43 <= len(first.verifier) <= 128
    assert first.challenge != second.challenge and "=" not in first.challenge


def test_the_sign_in_page_offers_each_provider_in_the_readers_language() -> None:
    providers = [provider(label_vi="Bộ Công an", label_en="Ministry of Public Security")]
    assert sign_in_options(providers, "vi") == [
        ("/console/login/oidc/ministry", "Đăng nhập bằng Bộ Công an")
    ]
    assert sign_in_options(providers, "en")[0][1] == "Sign in with Ministry of Public Security"
    assert sign_in_options([provider()], "en")[0][1] == "Sign in with ministry"
