"""Short-lived links to evidence files, signed with a secret intake and routing share.

Routing signs a link for the agency holding a case; intake, which stores the files, verifies
it. A link names the case, the file, the agency and an expiry (Unix seconds), and its
signature is an HMAC-SHA256 over exactly those four, under a purpose label of its own, so a
value signed for anything else never verifies here. Nothing else is needed to check a link:
neither service reads the other's database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

PURPOSE = b"incidents/evidence-link/v1"
SECRET_SETTING = "EVIDENCE_LINK_SECRET"
MIN_SECRET_LENGTH = 32
# The longest a link may live, whatever its signer asked: a leaked link soon stops working.
MAX_LINK_SECONDS = 24 * 3600
DEFAULT_LINK_SECONDS = 600
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_MAX_NAME = 64


@dataclass(frozen=True)
class EvidenceLink:
    """What a link grants: `agency` may fetch `file_id` of `case_id` until `expires`."""

    case_id: str
    file_id: str
    agency: str
    expires: int  # Unix seconds

    def message(self) -> bytes:
        """The bytes the signature covers (every part is checked to hold no separator)."""
        parts = (self.case_id, self.file_id, self.agency, str(self.expires))
        return PURPOSE + b"\n" + "\n".join(parts).encode("ascii")

    def query(self, secret: bytes) -> str:
        """The query string of the signed link (`case`, `agency`, `expires`, `sig`)."""
        fields = {
            "case": self.case_id,
            "agency": self.agency,
            "expires": str(self.expires),
            "sig": sign(secret, self),
        }
        return urlencode(fields)


def well_formed(name: str) -> bool:
    """Whether `name` is an id a link can carry: 1-64 ASCII letters, digits, `_` or `-`."""
    return 0 < len(name) <= _MAX_NAME and set(name) <= _NAME_CHARS


def sign(secret: bytes, link: EvidenceLink) -> str:
    """The link's signature: HMAC-SHA256, base64url without padding."""
    if not all(well_formed(n) for n in (link.case_id, link.file_id, link.agency)):
        raise ValueError("case, file and agency ids must be 1-64 characters [A-Za-z0-9_-]")
    digest = hmac.new(secret, link.message(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue(
    secret: bytes,
    *,
    case_id: str,
    file_id: str,
    agency: str,
    now: datetime,
    seconds: int = DEFAULT_LINK_SECONDS,
) -> EvidenceLink:
    """A link valid for `seconds` from `now` (at most MAX_LINK_SECONDS)."""
    lifetime = max(1, min(seconds, MAX_LINK_SECONDS))
    return EvidenceLink(case_id, file_id, agency, int(now.timestamp()) + lifetime)


def verify(
    secret: bytes,
    *,
    case_id: str,
    file_id: str,
    agency: str,
    expires: str,
    signature: str,
    now: datetime,
) -> EvidenceLink | None:
    """The link these request values stand for when signed by `secret` and not expired;
    None for anything else (the caller answers every failure alike)."""
    if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
        return None
    link = EvidenceLink(case_id, file_id, agency, int(expires))
    if not all(well_formed(n) for n in (case_id, file_id, agency)) or not signature.isascii():
        return None
    if not hmac.compare_digest(sign(secret, link).encode(), signature.encode()):
        return None
    moment = now.timestamp()
    if not moment < link.expires <= moment + MAX_LINK_SECONDS:
        return None
    return link


def is_local_host(host: str) -> bool:
    """Whether a service bound to `host` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secret_setting(secret: str | None, host: str) -> None:
    """Refuse to serve beyond this machine without the shared secret (ValueError naming it)."""
    if secret is None and not is_local_host(host):
        raise ValueError(
            f"{SECRET_SETTING} is required when a service listens beyond this machine "
            f"(host {host}): set the same value of at least {MIN_SECRET_LENGTH} characters "
            "on intake and routing"
        )
