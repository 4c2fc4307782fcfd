"""Words of the agency console: English msgids, translated by the shared gettext catalogs."""

from __future__ import annotations

from services.common.i18n import Language, localised, localised_in

UI: dict[str, dict[Language, str]] = {
    "title": localised("Case console"),
    "skip": localised("Skip to main content"),
    "sign_in": localised("Sign in"),
    "sign_out": localised("Sign out"),
    "token": localised("Agency access token"),
    "token_help": localised(
        "The token your administrator issued to your agency or to supervisors."
    ),
    "bad_token": localised("That token is not valid."),
    "expired_form": localised("The form expired; please try again."),
    "signed_in_as": localised("Signed in as"),
    "cases": localised("Cases"),
    "overview": localised("Supervisor overview"),
    "filters": localised("Filter"),
    "status": localised("Status"),
    "category": localised("Category"),
    "agency": localised("Agency"),
    "any": localised("Any"),
    "overdue": localised("Overdue"),
    "only_overdue": localised("Overdue only"),
    "apply": localised("Apply"),
    "tracking_code": localised("Tracking code"),
    "priority": localised("Priority"),
    "deadline": localised("Deadline"),
    "received": localised("Received at"),
    "no_cases": localised("No cases."),
    "next_page": localised("Next page"),
    "no_such_case": localised("There is no such case in your scope."),
    "problem": localised("This page cannot be shown"),
    "back_to_cases": localised("Back to the case list"),
    "live": localised("The list updates itself when a case arrives."),
    "new_cases": localised("New cases arrived."),
    "report": localised("The report"),
    "content_urls": localised("Content URLs"),
    "evidence": localised("Evidence"),
    "links_note": localised("Links are shown as text and never fetched."),
    "platform": localised("Platform"),
    "description": localised("Description"),
    "seen_at": localised("Seen at"),
    "place": localised("Place"),
    "reporter": localised("Reporter"),
    "anonymous": localised("Anonymous"),
    "contact_hidden": localised("Contact details are shown only to the agency holding the case."),
    "audit": localised("Audit log"),
    "time": localised("Time"),
    "actor": localised("Actor"),
    "action": localised("Action"),
    "change": localised("Change"),
    "note": localised("Note"),
    "notes": localised("Internal notes"),
    "actions": localised("Actions"),
    "no_actions": localised("The case is closed."),
    "outcome": localised("Outcome"),
    "reason": localised("Reason"),
    "target_agency": localised("Reassign to"),
    "done": localised("Done"),
    "back": localised("Back to the list"),
    "triage": localised("Triage queue"),
    "assign": localised("Assign"),
    "overdue_by_level": localised("Overdue cases by agency and escalation level"),
    "level": localised("Level"),
    "none_yet": localised("not yet escalated"),
    "alerts": localised("Alert log"),
    "targets": localised("Targets"),
    "dashboard": localised("Dashboard"),
    "period_from": localised("From"),
    "period_to": localised("To"),
    "by_category": localised("By category"),
    "by_agency": localised("By agency"),
    "count": localised("Number of cases"),
    "median_ack": localised("Median time to acknowledge"),
    "median_resolve": localised("Median time to resolve"),
    "within_deadline": localised("Share resolved within deadline"),
    "total": localised("Total cases"),
    "no_deadline": localised("no deadline"),
}

# A case status (the officer"s word, not the reporter"s).
STATUS: dict[str, dict[Language, str]] = {
    "triage": localised_in("case status", "Triage"),
    "assigned": localised_in("case status", "Assigned"),
    "acknowledged": localised_in("case status", "Acknowledged"),
    "in_progress": localised_in("case status", "In progress"),
    "resolved": localised_in("case status", "Resolved"),
    "rejected": localised_in("case status", "Rejected"),
}

# An action in the audit log and on the buttons.
ACTIONS: dict[str, dict[Language, str]] = {
    "acknowledge": localised_in("case action", "Acknowledge"),
    "start": localised_in("case action", "Start work"),
    "resolve": localised_in("case action", "Resolve"),
    "reject": localised_in("case action", "Reject"),
    "reassign": localised_in("case action", "Reassign"),
    "notes": localised_in("case action", "Add a note"),
    "note": localised_in("case action", "Add a note"),
    "assign": localised_in("case action", "Assigned"),
    "escalated": localised_in("case action", "Escalated"),
}

# How a case ended.
OUTCOMES: dict[str, dict[Language, str]] = {
    "removed": localised_in("case outcome", "Content removed"),
    "account_restored": localised_in("case outcome", "Account restored"),
    "no_violation": localised_in("case outcome", "No violation"),
    "referred": localised_in("case outcome", "Referred"),
    "other": localised_in("case outcome", "Other"),
}

# A case priority.
PRIORITY: dict[str, dict[Language, str]] = {
    "low": localised_in("priority", "Low"),
    "normal": localised_in("priority", "Normal"),
    "high": localised_in("priority", "High"),
    "urgent": localised_in("priority", "Urgent"),
}


def words(table: dict[str, dict[Language, str]], lang: Language) -> dict[str, str]:
    """One language's column of a table."""
    return {key: texts[lang] for key, texts in table.items()}
