"""What intake's request handlers need, behind one typed app key."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.common.clock import Clock
from services.common.csrf import CsrfTokens
from services.intake.appeals import Appeals
from services.intake.erasure import Erasures
from services.intake.evidence_store import EvidenceStore
from services.intake.repository import ReportRepository
from services.intake.security import RateLimiter, client_address, trusted_proxies
from services.intake.settings import IntakeSettings
from services.intake.submission import Submission


@dataclass
class IntakeContext:
    """The resources of a running intake app."""

    settings: IntakeSettings
    repository: ReportRepository
    submission: Submission
    rate_limiter: RateLimiter
    submission_budget: RateLimiter  # one bucket shared by every client's submissions
    csrf: CsrfTokens
    appeals: Appeals
    erasures: Erasures
    clock: Clock

    def client(self, request: web.Request) -> str:
        """The client's address as intake counts it (rate limit, reporter ids)."""
        return client_address(request, trusted=trusted_proxies(self.settings))


INTAKE: web.AppKey[IntakeContext] = web.AppKey("intake", IntakeContext)
EVIDENCE: web.AppKey[EvidenceStore] = web.AppKey("evidence", EvidenceStore)
