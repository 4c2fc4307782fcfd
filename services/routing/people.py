"""Staff as people: who is signed in to the console, in which role, and over what.

Officers sign in as themselves (the built-in account store or an agency's OpenID Connect
provider); either way the console holds a `Person`. Case access keeps its one unit, the
principal (an agency id, or `supervisor` for those who see across agencies); the role says
what the person may do with what they see, and the audit log names the person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from services.routing.visibility import SUPERVISOR


class Role(StrEnum):
    """What a person may do in the console."""

    OFFICER = "officer"  # their agency's cases
    LEAD = "lead"  # an officer who also assigns cases to officers and sees the agency's figures
    SUPERVISOR = "supervisor"  # cases of a scope of agencies and provinces (empty: all)
    AUDITOR = "auditor"  # reads everything, changes nothing, never sees contact data
    ADMIN = "admin"  # accounts and keys; no cases


AGENCY_ROLES = frozenset({Role.OFFICER, Role.LEAD})


@dataclass(frozen=True)
class Person:
    """A signed-in member of staff, as the console and the audit log know them."""

    account_id: str  # "<agency or role>/<login>" for built-in accounts, "oidc:<issuer>|<sub>"
    name: str  # display name, shown in the console and the audit log
    role: Role
    agency: str | None = None  # officer and lead: the agency they work for
    scope_agencies: frozenset[str] = field(default_factory=frozenset)  # supervisor; empty: all
    scope_provinces: frozenset[str] = field(default_factory=frozenset)  # supervisor; empty: all
    via: str = "password"  # "password" or "oidc"

    @property
    def auditing(self) -> bool:
        """An auditor: reads what supervisors read, sensitive cases apart."""
        return self.role is Role.AUDITOR

    @property
    def principal(self) -> str | None:
        """The case-access unit: the agency for officers and leads, `supervisor` for
        supervisors and auditors, None for administrators (who see no cases)."""
        if self.role in AGENCY_ROLES:
            return self.agency
        if self.role in (Role.SUPERVISOR, Role.AUDITOR):
            return SUPERVISOR
        return None

    @property
    def audit_name(self) -> str:
        """How the audit log names them: `Nguyễn Văn An (police/nva)`."""
        return f"{self.name} ({self.account_id})"

    @property
    def may_change(self) -> bool:
        """Whether they may act on cases (auditors and administrators only read or manage)."""
        return self.role in (Role.OFFICER, Role.LEAD, Role.SUPERVISOR)

    @property
    def sees_contact(self) -> bool:
        """Whether the reporter's contact may ever be revealed to them."""
        return self.role in (Role.OFFICER, Role.LEAD, Role.SUPERVISOR)
