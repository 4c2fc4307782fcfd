"""Links to a case's evidence files, signed for the agency holding the case.

Intake keeps the files; routing knows, from `report.submitted`, which files a report has and
signs short-lived links to them (services.common.signedlinks) that intake verifies against
its own record of the report's current case and agency. Only the holding agency gets links;
anyone else who may see the case sees what the files are (name, type, size, hashes), not them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from services.common import signedlinks
from services.common.contracts import EvidenceFile
from services.routing.case import Case
from services.routing.settings import RoutingSettings


class EvidenceView(BaseModel):
    """One evidence file of a case, with a link when the caller holds the case."""

    file_id: str
    filename: str
    content_type: str
    size: int
    sha256_received: str = Field(description="SHA-256 of the file as the reporter sent it.")
    sha256_stored: str = Field(description="SHA-256 of the file as stored (metadata removed).")
    url: str | None = Field(description="Opens the file until `expires_at`; holding agency only.")
    expires_at: datetime | None


@dataclass(frozen=True)
class EvidenceSigner:
    """Signs links to intake's `/evidence/{file_id}` with the shared secret."""

    secret: bytes | None
    intake_url: str
    seconds: int = signedlinks.DEFAULT_LINK_SECONDS

    @classmethod
    def from_settings(cls, settings: RoutingSettings) -> EvidenceSigner:
        """The signer routing's settings describe (no secret: files listed without links)."""
        secret = settings.evidence_link_secret
        return cls(
            secret.get_secret_value().encode() if secret else None,
            settings.intake_public_url.rstrip("/"),
            settings.evidence_link_seconds,
        )

    def views(self, case: Case, principal: str, now: datetime) -> list[EvidenceView]:
        """The case's files as `principal` may see them."""
        holder = principal == case.agency
        return [self._view(case, f, now if holder else None) for f in case_files(case)]

    def _view(self, case: Case, file: EvidenceFile, now: datetime | None) -> EvidenceView:
        url, expires_at = None, None
        names = (case.case_id, file.file_id, case.agency)
        if now is not None and self.secret is not None and all(map(signedlinks.well_formed, names)):
            link = signedlinks.issue(
                self.secret,
                case_id=case.case_id,
                file_id=file.file_id,
                agency=case.agency,
                now=now,
                seconds=self.seconds,
            )
            url = f"{self.intake_url}/evidence/{file.file_id}?{link.query(self.secret)}"
            expires_at = datetime.fromtimestamp(link.expires, UTC)
        return EvidenceView(**file.model_dump(), url=url, expires_at=expires_at)


def case_files(case: Case) -> list[EvidenceFile]:
    """Every evidence file of the case's reports (the first report's first), each once."""
    seen: dict[str, EvidenceFile] = {}
    for report in [case.report, *case.reports]:
        for file in report.evidence:
            seen.setdefault(file.file_id, file)
    return list(seen.values())
