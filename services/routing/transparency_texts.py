"""Words of the decision forms and the transparency pages: English msgids, shared catalogs."""

from __future__ import annotations

from services.common.i18n import Language, localised, localised_in

# How an agency decided a case (`DecisionOutcome`).
DECISION_OUTCOMES: dict[str, dict[Language, str]] = {
    "removed_by_platform": localised_in("decision outcome", "Removed by the platform"),
    "account_restored": localised_in("decision outcome", "Account returned to its owner"),
    "warning_issued": localised_in("decision outcome", "Warning issued"),
    "referred": localised_in("decision outcome", "Referred to another authority"),
    "no_violation": localised_in("decision outcome", "No violation found"),
    "not_enough_information": localised_in("decision outcome", "Not enough information"),
    "duplicate": localised_in("decision outcome", "Duplicate of another report"),
}

# How a decision met its deadline (Vietnamese usage: sớm hạn, đúng hạn, trễ hạn).
TIMELINESS: dict[str, dict[Language, str]] = {
    "early": localised_in("deadline", "Early"),
    "on_time": localised_in("deadline", "On time"),
    "late": localised_in("deadline", "Late"),
    "no_deadline": localised_in("deadline", "No deadline"),
}

CLOCKS: dict[str, dict[Language, str]] = {
    "internal": localised("Internal deadline (working time)"),
    "legal": localised("Legal deadline"),
}

APPEAL_RESULTS: dict[str, dict[Language, str]] = {
    "upheld": localised_in("appeal result", "Upheld"),
    "reversed": localised_in("appeal result", "Reversed"),
}

# A takedown request's status and the channel it went through.
TAKEDOWN_STATUS: dict[str, dict[Language, str]] = {
    "draft": localised_in("takedown status", "Draft"),
    "sent": localised_in("takedown status", "Sent, awaiting the platform"),
    "done": localised_in("takedown status", "Done"),
    "refused": localised_in("takedown status", "Refused"),
    "partial": localised_in("takedown status", "Partly done"),
    "no_answer": localised_in("takedown status", "No answer"),
    "discarded": localised_in("takedown status", "Discarded draft"),
}

CHANNELS: dict[str, dict[Language, str]] = {
    "email": localised_in("takedown channel", "E-mail"),
    "portal": localised_in("takedown channel", "The platform's government portal"),
    "phone": localised_in("takedown channel", "Phone"),
    "letter": localised_in("takedown channel", "Letter"),
}

ASKED: dict[str, dict[Language, str]] = {
    "remove": localised_in("takedown asked", "Remove the content"),
    "restrict": localised_in("takedown asked", "Restrict access"),
    "restore_account": localised_in("takedown asked", "Restore the account to its owner"),
    "remove_impersonating_page": localised_in("takedown asked", "Remove the impersonating page"),
}


def words(table: dict[str, dict[Language, str]], lang: Language) -> dict[str, str]:
    """One language's column of a table."""
    return {key: texts[lang] for key, texts in table.items()}
