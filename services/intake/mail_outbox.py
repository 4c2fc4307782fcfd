"""Decision e-mails to reporters: queued once per report and decision, sent by a background loop.

When a case event carrying a decision has been applied, every report of the case whose
reporter left an e-mail gets a mail document in `mails`, its id `<report id>:<decision time>`:
a redelivered event, or a later event carrying the same decision, queues nothing new, so each
decision is mailed once. The address is not copied: the sender reads it from the report when
it sends. The loop claims a due mail (a short lease on `next_attempt_at`, so replicas do not
send it twice), sends it, and records each attempt on the document; a failed attempt is
retried with doubling waits until `max_attempts` (a permanent SMTP refusal ends it at once).
A document that cannot be read is set aside (`quarantined`) and counted, never retried.
Sending never holds up the status: the decision is on the status page before any mail goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from prometheus_client import Counter
from pydantic import BaseModel, ValidationError
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from services.common import metrics
from services.common.clock import Clock
from services.common.contracts import CaseAssigned, CaseUpdated, PublicDecision
from services.common.mail import MailError, MailServer, plain_message, send_mail
from services.common.mongo import Document, MongoDatabase
from services.common.runtime import woken
from services.common.sealing import KeyRing, SealingError, development_ring
from services.intake.decision_mail import decision_mail
from services.intake.repository import SEALED_CONTACT

log = logging.getLogger(__name__)

MAILS_FINISHED = Counter(
    "intake_decision_mails_total", "Decision e-mails by how they ended", ["result"]
)
PENDING = "pending"
MAX_BACKOFF = timedelta(hours=6)


class QueuedMail(BaseModel):
    """A mail document as the sender needs it."""

    id: str
    report_id: str
    tracking_code: str
    language: Literal["vi", "en"]
    decision: PublicDecision
    attempts: int = 0


def to_millis(moment: datetime) -> datetime:
    """`moment` as the database keeps it (milliseconds), so a stored time compares equal."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def mail_id(report_id: str, decided_at: datetime) -> str:
    """One mail per report and decision (a decision's time read back from a database is the
    same mail)."""
    return f"{report_id}:{to_millis(decided_at).isoformat(timespec='milliseconds')}"


def contact_email(keys: KeyRing, report: Document) -> str | None:
    """The e-mail address in the report's sealed contact, if it holds one; SealingError when
    the contact cannot be opened (a key missing from CONTACT_KEYS)."""
    sealed = (report.get("report") or {}).get("contact_sealed")
    if not sealed:
        return None
    return keys.open_contact(sealed, str(report["_id"])).email


def _has_email(keys: KeyRing, report: Document) -> bool:
    try:
        return contact_email(keys, report) is not None
    except SealingError as exc:
        where = {"report_id": str(report["_id"]), "error": str(exc)}
        log.error("contact cannot be opened; no decision e-mail", extra=where)
        return False


def planned_mails(
    event: CaseAssigned | CaseUpdated, reports: Sequence[Document], now: datetime, keys: KeyRing
) -> list[Document]:
    """The mails announcing `event`'s decision to the reporters of `reports` (the reports of
    its case) who left an e-mail (in their contact, opened with `keys`) and whose report
    still shows that decision."""
    decision = event.decision
    if decision is None:
        return []
    mails = []
    for report in reports:
        shown = ((report.get("case") or {}).get("decision") or {}).get("decided_at")
        same = shown is not None and to_millis(shown) == to_millis(decision.decided_at)
        if not same or not _has_email(keys, report):
            continue
        mails.append(
            {
                "_id": mail_id(report["_id"], decision.decided_at),
                "report_id": report["_id"],
                "tracking_code": report["tracking_code"],
                "case_id": event.case_id,
                "kind": "review" if decision.review else "decision",
                "language": (report.get("report") or {}).get("language") or "vi",
                "decision": decision.model_dump(mode="python"),
                "status": PENDING,
                "attempts": 0,
                "log": [],
                "created_at": now,
                "next_attempt_at": now,
            }
        )
    return mails


async def drop_pending_mails(
    mails: AsyncCollection[Document], report_id: str, now: datetime
) -> int:
    """End every pending decision e-mail of a report whose contact was erased (`dropped`);
    how many. A mail being sent at this instant ends as its attempt does."""
    reason = "the reporter's contact was erased"
    result = await mails.update_many(
        {"report_id": report_id, "status": PENDING},
        {
            "$set": {"status": "dropped", "finished_at": now, "error": reason},
            "$push": {"log": {"at": now, "result": "dropped", "error": reason}},
        },
    )
    if result.modified_count:
        MAILS_FINISHED.labels(result="dropped").inc(result.modified_count)
        log.info(
            "decision e-mails dropped: contact erased",
            extra={"report_id": report_id, "count": result.modified_count},
        )
    return result.modified_count


def retry_delay(attempts: int, first_seconds: float) -> timedelta:
    """The wait after the `attempts`-th failed attempt: doubling, at most six hours."""
    return min(timedelta(seconds=first_seconds * 2 ** (attempts - 1)), MAX_BACKOFF)


@dataclass
class DecisionMails:
    """Queues decision e-mails and sends them (`run` is the background loop)."""

    db: MongoDatabase
    server: MailServer
    clock: Clock
    public_url: str
    retry_seconds: float = 60.0
    max_attempts: int = 8
    poll_seconds: float = 5.0
    lease_seconds: float = 120.0
    contact_keys: KeyRing = field(default_factory=development_ring)  # opens the addresses
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.mails = self.db.mails
        self.reports = self.db.reports

    async def ensure_indexes(self) -> None:
        """The due mails are found by status and time."""
        await self.mails.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])

    async def queue(self, events: Sequence[CaseAssigned | CaseUpdated]) -> None:
        """Queue the mails of `events` (each carries a decision); repeats queue nothing."""
        now = self.clock()
        mails: list[Document] = []
        for event in events:
            found = self.reports.find(
                {"case.case_id": event.case_id},
                {"tracking_code": 1, SEALED_CONTACT: 1, "report.language": 1, "case": 1},
            )
            mails += planned_mails(event, [doc async for doc in found], now, self.contact_keys)
        if not mails:
            return
        try:
            await self.mails.insert_many(mails, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
        self._wake.set()

    async def run(self) -> None:
        """Send due mails until cancelled, woken by `queue` or every `poll_seconds`."""
        while True:
            self._wake.clear()
            if await self.send_due() == 0:
                await woken(self._wake, seconds=self.poll_seconds)

    async def send_due(self) -> int:
        """Attempt every mail that is due; how many were attempted."""
        now = self.clock()
        due = self.mails.find(
            {"status": PENDING, "next_attempt_at": {"$lte": now}}, {"_id": 1}, limit=50
        )
        attempted = 0
        for doc_id in [doc["_id"] async for doc in due]:
            claimed = await self._claim(doc_id, now)
            if claimed is not None:
                await self._attempt(claimed, now)
                attempted += 1
        return attempted

    async def _claim(self, doc_id: Any, now: datetime) -> Document | None:
        """The mail, leased to this sender; None when another one took it."""
        lease = now + timedelta(seconds=self.lease_seconds)
        return await self.mails.find_one_and_update(
            {"_id": doc_id, "status": PENDING, "next_attempt_at": {"$lte": now}},
            {"$set": {"next_attempt_at": lease}},
        )

    async def _attempt(self, doc: Document, now: datetime) -> None:
        try:
            mail = QueuedMail.model_validate({**doc, "id": str(doc["_id"])})
        except ValidationError as exc:
            await self._quarantine(doc, str(exc))
            return
        try:
            address = await self._address(mail.report_id)
        except SealingError as exc:  # a key missing from CONTACT_KEYS: retried once it is back
            await self._failed(mail, now, MailError(f"contact cannot be opened: {exc}"))
            return
        if address is None:
            await self._finish(mail, now, "dropped", "the report has no e-mail address any more")
            return
        try:
            await send_mail(self.server, self._message(mail, address))
        except MailError as exc:
            await self._failed(mail, now, exc)
            return
        await self._finish(mail, now, "sent", None)

    def _message(self, mail: QueuedMail, address: str) -> Any:
        base = self.public_url.rstrip("/")
        url = f"{base}/status/{mail.tracking_code}?lang={mail.language}"
        decision = mail.decision.model_dump(mode="python")
        text = decision_mail(mail.tracking_code, decision, mail.language, url)
        return plain_message(self.server.sender, address, text.subject, text.body)

    async def _address(self, report_id: str) -> str | None:
        report = await self.reports.find_one({"_id": report_id}, {SEALED_CONTACT: 1})
        return None if report is None else contact_email(self.contact_keys, report)

    async def _failed(self, mail: QueuedMail, now: datetime, exc: MailError) -> None:
        attempts = mail.attempts + 1
        if exc.permanent or attempts >= self.max_attempts:
            await self._finish(mail, now, "failed", str(exc))
            return
        retry_at = now + retry_delay(attempts, self.retry_seconds)
        await self.mails.update_one(
            {"_id": mail.id},
            {
                "$set": {"attempts": attempts, "next_attempt_at": retry_at, "error": str(exc)},
                "$push": {"log": {"at": now, "result": "retry", "error": str(exc)}},
            },
        )
        log.warning(
            "decision e-mail failed; will retry",
            extra={"report_id": mail.report_id, "attempts": attempts, "error": str(exc)},
        )

    async def _finish(
        self, mail: QueuedMail, now: datetime, result: str, error: str | None
    ) -> None:
        attempts = mail.attempts + (result != "dropped")
        await self.mails.update_one(
            {"_id": mail.id},
            {
                "$set": {
                    "status": result,
                    "attempts": attempts,
                    "finished_at": now,
                    "error": error,
                },
                "$push": {"log": {"at": now, "result": result, "error": error}},
            },
        )
        MAILS_FINISHED.labels(result=result).inc()
        level = logging.INFO if result == "sent" else logging.WARNING
        log.log(level, "decision e-mail %s", result, extra={"report_id": mail.report_id})

    async def _quarantine(self, doc: Document, error: str) -> None:
        await self.mails.update_one(
            {"_id": doc["_id"]}, {"$set": {"status": "quarantined", "error": error[:2000]}}
        )
        metrics.QUARANTINED.labels(collection="mails").inc()
        log.error(
            "decision e-mail document unreadable; quarantined",
            extra={"report_id": str(doc.get("report_id")), "mail_id": str(doc["_id"])},
        )
