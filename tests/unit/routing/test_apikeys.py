"""API keys without a database: format, hashing, states, scopes, the cache and usage log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.common.auth import hash_token
from services.routing.apikeys import (
    ALL_SCOPES,
    ApiKey,
    KeyCache,
    KeyState,
    Scope,
    UsageLog,
    grace_end,
    looks_like_key,
    missing_scope,
    new_key,
    parse_key,
)
from services.routing.openapi_doc import openapi_document

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _issued(scopes: tuple[Scope, ...] = (Scope.CASES_READ,)) -> tuple[ApiKey, str]:
    issued = new_key("police", scopes, now=NOW, created_by="ops", note="case system")
    return issued.record, issued.key


def test_a_key_names_its_id_and_stores_only_the_secrets_hash() -> None:
    record, key = _issued()
    assert key.startswith(f"inc_{record.key_id}_")
    key_id, secret = parse_key(key) or ("", "")
    assert key_id == record.key_id
    assert record.secret_sha256 == hash_token(secret)
    assert secret not in record.model_dump_json()
    assert record.matches(secret)
    assert not record.matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"))


def test_two_keys_never_share_id_or_secret() -> None:
    keys = {_issued()[1] for _ in range(50)}
    assert len(keys) == 50
    assert len({parse_key(k)[0] for k in keys if parse_key(k)}) == 50  # type: ignore[index]


@pytest.mark.parametrize(
    "token",
    [
        "",
        "inc_",
        "inc_0123456789ab",
        "inc_0123456789ab_short",
        "inc_0123456789AB_" + "a" * 43,  # the id is lower-case hex
        "inc_0123456789ab_" + "a" * 44,
        "xyz_0123456789ab_" + "a" * 43,
        "inc_0123456789ab_" + "a" * 42 + "=",
        "inc_0123456789ab_" + "a" * 43 + "\n",
    ],
)
def test_malformed_keys_do_not_parse(token: str) -> None:
    assert parse_key(token) is None
    assert not looks_like_key(token)


def test_a_bootstrap_token_is_never_taken_for_a_key() -> None:
    assert not looks_like_key("inc_" + "a" * 39)  # a token_urlsafe(32) that starts with inc_
    assert looks_like_key("inc_0123456789ab_" + "-_aZ09" * 7 + "x")


def test_states_over_a_keys_life() -> None:
    record, _ = _issued()
    assert record.state(NOW) is KeyState.ACTIVE
    rotated = record.model_copy(update={"expires_at": NOW + timedelta(hours=1)})
    assert rotated.state(NOW) is KeyState.EXPIRING
    assert rotated.is_valid(NOW + timedelta(minutes=59))
    assert rotated.state(NOW + timedelta(hours=1)) is KeyState.EXPIRED
    assert not rotated.is_valid(NOW + timedelta(hours=1))
    revoked = rotated.model_copy(update={"revoked_at": NOW})
    assert revoked.state(NOW) is KeyState.REVOKED
    assert not revoked.is_valid(NOW)


def test_a_second_rotation_never_extends_the_grace() -> None:
    record, _ = _issued()
    assert grace_end(record, NOW, timedelta(hours=24)) == NOW + timedelta(hours=24)
    ending = record.model_copy(update={"expires_at": NOW + timedelta(hours=2)})
    assert grace_end(ending, NOW, timedelta(hours=24)) == NOW + timedelta(hours=2)
    assert grace_end(ending, NOW, timedelta(0)) == NOW


def test_missing_scope_names_the_scope_needed() -> None:
    assert missing_scope([Scope.CASES_READ], Scope.CASES_WRITE) is Scope.CASES_WRITE
    assert missing_scope([Scope.CASES_READ, Scope.CASES_WRITE], Scope.CASES_WRITE) is None
    assert all(missing_scope(ALL_SCOPES, scope) is None for scope in Scope)


def test_scopes_are_stored_once_each_and_sorted() -> None:
    record, _ = _issued((Scope.CASES_WRITE, Scope.CASES_READ, Scope.CASES_WRITE))
    assert record.scopes == [Scope.CASES_READ, Scope.CASES_WRITE]


def test_the_cache_forgets_after_its_seconds_and_on_demand() -> None:
    clock = [100.0]
    cache = KeyCache(5.0, monotonic=lambda: clock[0])
    record, _ = _issued()
    assert cache.get(record.key_id) == (False, None)
    cache.put(record.key_id, record)
    cache.put("unknown", None)
    assert cache.get(record.key_id) == (True, record)
    assert cache.get("unknown") == (True, None)
    clock[0] += 4.9
    assert cache.get(record.key_id) == (True, record)
    clock[0] += 0.1
    assert cache.get(record.key_id) == (False, None)
    cache.put(record.key_id, record)
    cache.forget(record.key_id)
    assert cache.get(record.key_id) == (False, None)


def test_the_cache_is_bounded() -> None:
    cache = KeyCache(5.0, entries=3, monotonic=lambda: 0.0)
    for key_id in "abcd":
        cache.put(key_id, None)
    assert cache.get("a") == (False, None)
    assert all(cache.get(key_id)[0] for key_id in "bcd")


def test_usage_is_recorded_at_most_once_a_minute_per_key() -> None:
    usage = UsageLog()
    record, _ = _issued()
    other, _ = _issued()
    for second in range(0, 60, 5):
        usage.used(record, NOW + timedelta(seconds=second))
    usage.used(other, NOW)
    assert usage.take() == {record.key_id: NOW, other.key_id: NOW}
    usage.used(record, NOW + timedelta(seconds=59))
    assert usage.take() == {}
    usage.used(record, NOW + timedelta(seconds=60))
    assert usage.take() == {record.key_id: NOW + timedelta(seconds=60)}


def test_a_use_recorded_by_another_replica_counts() -> None:
    usage = UsageLog()
    record, _ = _issued()
    seen = record.model_copy(update={"last_used_at": NOW - timedelta(seconds=30)})
    usage.used(seen, NOW)
    assert usage.take() == {}
    usage.used(seen, NOW + timedelta(seconds=30))
    assert usage.take() == {record.key_id: NOW + timedelta(seconds=30)}


def test_the_openapi_document_describes_keys_and_the_403() -> None:
    document = openapi_document(["police", "triage"], ["nd147-2024-removal"])
    assert (
        "inc_<key id>_<secret>"
        in document["components"]["securitySchemes"]["bearer"]["description"]
    )
    for path in document["paths"].values():
        for operation in path.values():
            assert "403" in operation["responses"]
