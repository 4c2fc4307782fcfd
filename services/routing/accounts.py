"""The built-in account store: staff who sign in to the console as themselves.

One document per person in `staff_accounts` (routing's database): login (unique), display
name, role, agency (officers and leads), a supervisor's scope, an argon2id password hash, a
TOTP secret, whether the account is disabled, and failed sign-ins with the lockout they lead
to. People signed in through an agency's OpenID Connect provider get a record too (no password
or TOTP), so that an administrator can disable them. Checking a password and code is in
`credentials`.
"""

from __future__ import annotations

import re
from collections.abc import Set
from dataclasses import dataclass, replace
from datetime import datetime

import pyotp
from aiohttp import web
from argon2 import PasswordHasher
from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.common.clock import Clock
from services.common.mongo import Document, MongoDatabase
from services.routing.people import AGENCY_ROLES, Person, Role
from services.routing.sessions import Sessions, person_document, person_of

ACCOUNTS_COLLECTION = "staff_accounts"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


class AccountProblem(ValueError):
    """An account that cannot be made or changed as asked; `field` names the argument."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Account:
    """A stored account; `person` is how the console and the audit log know them."""

    person: Person
    login: str
    password_hash: str | None
    totp_secret: str | None
    disabled: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def account_id(self) -> str:
        """The stored id (`<agency or role>/<login>`, or `oidc:<issuer>|<sub>`)."""
        return self.person.account_id

    @classmethod
    def from_document(cls, doc: Document) -> Account:
        """The account a stored document holds."""
        person = person_of({**doc, "account_id": doc["_id"]})
        return cls(
            person=person,
            login=str(doc["login"]),
            password_hash=doc.get("password_hash"),
            totp_secret=doc.get("totp_secret"),
            disabled=bool(doc.get("disabled")),
            failed_attempts=int(doc.get("failed_attempts") or 0),
            locked_until=doc.get("locked_until"),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
        )


@dataclass(frozen=True)
class NewAccount:
    """What `create` hands back once: the account, its password and TOTP secret."""

    account: Account
    password: str
    totp_secret: str

    @property
    def totp_uri(self) -> str:
        """The `otpauth://` URI an authenticator app reads (as a QR code or typed in)."""
        totp = pyotp.TOTP(self.totp_secret)
        return totp.provisioning_uri(name=self.account.login, issuer_name="Incidents console")


def check_password_policy(password: str) -> None:
    """AccountProblem naming `password` unless it is 12 to 1024 characters."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountProblem(
            "password", f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )


def check_person(person: Person, agencies: Set[str] | None) -> None:
    """AccountProblem naming the field unless `person`'s role, agency and scope fit together
    (and name agencies of `agencies`, when given)."""
    if person.role in AGENCY_ROLES and not person.agency:
        raise AccountProblem("agency", f"an {person.role.value} works for an agency: give one")
    if person.role not in AGENCY_ROLES and person.agency:
        raise AccountProblem("agency", f"a {person.role.value} has no agency")
    if person.role is not Role.SUPERVISOR and (person.scope_agencies or person.scope_provinces):
        raise AccountProblem("scope", "only a supervisor has a scope")
    named = {person.agency, *person.scope_agencies} - {None}
    if agencies is not None and (unknown := sorted(str(a) for a in named - set(agencies))):
        field = "agency" if person.agency in unknown else "scope-agency"
        raise AccountProblem(
            field, f"unknown agency {', '.join(unknown)}; known: {', '.join(sorted(agencies))}"
        )


class Accounts:
    """The account store; disabling an account ends its sessions at once."""

    def __init__(
        self,
        db: MongoDatabase,
        *,
        clock: Clock,
        sessions: Sessions | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.accounts = db[ACCOUNTS_COLLECTION]
        self.clock = clock
        self.sessions = sessions or Sessions(db, clock=clock)
        self.hasher = hasher or PasswordHasher()

    async def ensure_indexes(self) -> None:
        """A login is unique in the store; officers are listed by agency."""
        await self.accounts.create_index([("login", ASCENDING)], unique=True)
        await self.accounts.create_index([("agency", ASCENDING), ("role", ASCENDING)])

    async def create(
        self, person: Person, login: str, password: str, *, agencies: Set[str] | None = None
    ) -> NewAccount:
        """Store a new built-in account; AccountProblem (login taken, bad password, role and
        agency that do not fit). The person's account id is made from the login."""
        if not LOGIN_PATTERN.match(login):
            raise AccountProblem("login", "2 to 63 of a-z, 0-9, '.', '_', '-', from a letter/digit")
        check_password_policy(password)
        stored = Person(
            account_id=f"{person.agency or person.role.value}/{login}",
            name=person.name,
            role=person.role,
            agency=person.agency,
            scope_agencies=person.scope_agencies,
            scope_provinces=person.scope_provinces,
        )
        check_person(stored, agencies)
        if not stored.name.strip():
            raise AccountProblem("name", "a display name is required")
        secret = pyotp.random_base32()
        now = self.clock()
        doc = {
            **_person_fields(stored),
            "login": login,
            "password_hash": self.hasher.hash(password),
            "totp_secret": secret,
            "totp_step": 0,
            "disabled": False,
            "failed_attempts": 0,
            "locked_until": None,
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self.accounts.insert_one(doc)
        except DuplicateKeyError:
            raise AccountProblem("login", f"the login {login!r} is taken") from None
        return NewAccount(Account.from_document(doc), password, secret)

    async def get(self, account_id: str) -> Account | None:
        """The account with this id, or None."""
        doc = await self.accounts.find_one({"_id": account_id})
        return None if doc is None else Account.from_document(doc)

    async def by_login(self, login: str) -> Account | None:
        """The account with this login, or None."""
        doc = await self.accounts.find_one({"login": login})
        return None if doc is None else Account.from_document(doc)

    async def every(self, agency: str | None = None) -> list[Account]:
        """Every account (of an agency), by login."""
        criteria = {} if agency is None else {"agency": agency}
        docs = await self.accounts.find(criteria).sort("login", ASCENDING).to_list()
        return [Account.from_document(doc) for doc in docs]

    async def officers(self, agency: str) -> list[Account]:
        """The agency's active officers and leads, by name: whom a lead may assign a case to."""
        roles = [Role.OFFICER.value, Role.LEAD.value]
        criteria = {"agency": agency, "role": {"$in": roles}, "disabled": False}
        docs = await self.accounts.find(criteria).sort("name", ASCENDING).to_list()
        return [Account.from_document(doc) for doc in docs]

    async def set_disabled(self, account_id: str, disabled: bool) -> Account:
        """Disable (ending every session of the account at once) or enable an account."""
        account = await self._update(account_id, {"disabled": disabled})
        if disabled:
            await self.sessions.end_all(account_id)
        return account

    async def set_password(
        self, account_id: str, password: str, *, end_sessions: bool = True
    ) -> Account:
        """A new password (the policy checked); failed attempts and lockout cleared, and every
        session of the account ended (unless the same password is only hashed anew)."""
        check_password_policy(password)
        fields = {"password_hash": self.hasher.hash(password), "failed_attempts": 0}
        account = await self._update(account_id, {**fields, "locked_until": None})
        if end_sessions:
            await self.sessions.end_all(account_id)
        return account

    async def reset_totp(self, account_id: str) -> tuple[Account, str]:
        """A new TOTP secret (the old authenticator stops working, and every session of the
        account ends); the account and secret."""
        secret = pyotp.random_base32()
        account = await self._update(account_id, {"totp_secret": secret, "totp_step": 0})
        await self.sessions.end_all(account_id)
        return account, secret

    async def unlock(self, account_id: str) -> Account:
        """Clear failed attempts and any lockout."""
        return await self._update(account_id, {"failed_attempts": 0, "locked_until": None})

    async def provision_external(self, person: Person) -> Person | None:
        """Create or update the record of a person signed in through OpenID Connect (no
        password, no TOTP); None when an administrator disabled that account. A change of
        role, agency or scope ends the sessions started with the old one."""
        now = self.clock()
        stored = {k: v for k, v in _person_fields(person).items() if k != "_id"}
        fields = {**stored, "via": "oidc", "updated_at": now}
        before = await self.accounts.find_one_and_update(
            {"_id": person.account_id},
            {
                "$set": fields,
                "$setOnInsert": {
                    "login": person.account_id,
                    "disabled": False,
                    "failed_attempts": 0,
                    "created_at": now,
                },
            },
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        signed_in = replace(person, via="oidc")
        if before is None:  # just made
            return signed_in
        if _access(Account.from_document(before).person) != _access(person):
            await self.sessions.end_all(person.account_id)
        return None if before.get("disabled") else signed_in

    async def _update(self, account_id: str, fields: Document) -> Account:
        doc = await self.accounts.find_one_and_update(
            {"_id": account_id},
            {"$set": {**fields, "updated_at": self.clock()}},
            return_document=True,
        )
        if doc is None:
            raise AccountProblem("account", f"no account {account_id!r}")
        return Account.from_document(doc)


def _access(person: Person) -> tuple[object, ...]:
    """What a person may see and do: a change of it ends their sessions."""
    return (person.role, person.agency, person.scope_agencies, person.scope_provinces)


def _person_fields(person: Person) -> Document:
    """The stored fields of a person (`_id` is the account id)."""
    fields = person_document(person)
    return {"_id": fields.pop("account_id"), **fields}


ACCOUNTS: web.AppKey[Accounts] = web.AppKey("staff_accounts", Accounts)
