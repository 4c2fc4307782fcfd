"""The e-mail telling a reporter the decision on their report (or the result of their appeal).

Plain text, in the report's language (Vietnamese unless the reporter wrote in English): what
was decided, on which legal basis, the agency's explanation, that no automated means decided
it, whether and until when an appeal is possible, and the link to the status page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.i18n import local_time, translate
from services.common.mongo import Document
from services.intake.labels import Language, decision_outcome_label, review_label


@dataclass(frozen=True)
class MailText:
    """A message's subject and body."""

    subject: str
    body: str


def decision_mail(code: str, decision: Document, lang: Language, status_url: str) -> MailText:
    """The mail announcing `decision` (a stored PublicDecision) on the report `code`."""
    review = decision.get("review")
    if review:
        subject = translate(lang, "Result of the review of your appeal, report %(code)s", code=code)
    else:
        subject = translate(lang, "Decision on your report %(code)s", code=code)
    lines = [
        translate(lang, "Hello,"),
        "",
        translate(lang, "The competent agency has decided on your report %(code)s.", code=code),
    ]
    if review:
        lines.append(review_label(review, lang) or review)
    lines += [
        "",
        translate(
            lang, "Decision: %(outcome)s", outcome=decision_outcome_label(decision["outcome"], lang)
        ),
        translate(lang, "Legal basis: %(basis)s", basis=_basis(decision)),
        translate(lang, "Decided on: %(when)s", when=local_time(decision["decided_at"], lang)),
        "",
        translate(lang, "Explanation:"),
        decision["explanation"],
        "",
        translate(lang, "This decision was not made by automated means.")
        if not decision.get("automated")
        else translate(lang, "Automated means took part in this decision."),
        _appeal_line(decision.get("appeal_until"), lang),
        "",
        translate(lang, "Follow your report at: %(url)s", url=status_url),
        "",
        translate(lang, "This message was sent automatically; please do not reply to it."),
    ]
    return MailText(subject, "\n".join(lines) + "\n")


def _basis(decision: Document) -> str:
    title = decision.get("legal_basis_title")
    return f"{title} ({decision['legal_basis']})" if title else str(decision["legal_basis"])


def _appeal_line(appeal_until: datetime | None, lang: Language) -> str:
    if appeal_until is None:
        return translate(lang, "This decision cannot be appealed.")
    return translate(
        lang,
        "If you disagree, you may appeal once until %(until)s from the status page below.",
        until=local_time(appeal_until, lang),
    )
