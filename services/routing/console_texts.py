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
    # Decisions, appeals, takedown requests, the two clocks, informed agencies.
    "decision": localised("Decision"),
    "decisions": localised("Decisions"),
    "legal_basis": localised("Legal basis"),
    "legal_basis_text": localised("Exact provision (optional, stays internal)"),
    "explanation": localised("Explanation for the reporter"),
    "explanation_help": localised(
        "The reporter reads this on the status page and by e-mail: plain words, no internal "
        "details or names of officers."
    ),
    "internal_note": localised("Internal note (never shown to the reporter)"),
    "internal_reason": localised("Internal reason (never shown to the reporter)"),
    "reporter_sees": localised("Shown to the reporter"),
    "internal_only": localised("Internal only"),
    "not_automated": localised("Decided by a person; no automated means were used."),
    "decided_by": localised("Decided by"),
    "decided_at": localised("Decided at"),
    "appeal_until": localised("Open to appeal until"),
    "appeals": localised("Appeals"),
    "appeal_reason": localised("The reporter's reason"),
    "appealed_at": localised("Appealed at"),
    "review": localised("Review of the appeal"),
    "review_help": localised(
        "Uphold the decision or reverse it; either way the reporter receives this review's "
        "explanation."
    ),
    "result": localised("Result"),
    "same_as_before": localised("As in the decision appealed against"),
    "not_your_review": localised(
        "You made the decision under appeal: a supervisor or another officer must review it."
    ),
    "clocks": localised("Deadlines"),
    "internal_clock": localised("Internal deadline (working time)"),
    "legal_clock": localised("Legal deadline"),
    "paused": localised("Paused while the platform acts"),
    "working_left": localised("working time left when it resumes"),
    "calendar_time": localised("calendar time (urgent)"),
    "takedowns": localised("Requests to platforms"),
    "no_takedowns": localised("No requests to platforms yet."),
    "record_takedown": localised("Record a request to the platform"),
    "request_status": localised("Record it as"),
    "as_sent": localised("Sent now"),
    "as_draft": localised("A draft, to send later"),
    "channel": localised("Channel"),
    "asked": localised("What was asked"),
    "reference": localised("The platform's reference"),
    "sent_at": localised("Sent at"),
    "answered_at": localised("Answered at"),
    "default_now": localised("Leave empty for now."),
    "send_draft": localised("Send the draft now"),
    "discard_draft": localised("Discard the draft"),
    "record_answer": localised("Record the platform's answer"),
    "answer": localised("Answer"),
    "platform_reason": localised("The platform's reason (required for a refusal)"),
    "answered_in_time": localised("answered within the legal deadline"),
    "answered_late": localised("answered after the legal deadline"),
    "platform_overdue": localised("past the legal deadline"),
    "informed_badge": localised("Read-only · informed"),
    "informed_only": localised(
        "Your agency is informed of this case: you can read it, and the agency holding it "
        "acts on it."
    ),
    "informed": localised("Agencies informed"),
    "field_problem": localised("Please correct the fields marked below."),
    "sensitive_agency": localised(
        "This case is about a party member's conduct: only the party committee can hold it."
    ),
}

# A case status (the officer"s word, not the reporter"s).
STATUS: dict[str, dict[Language, str]] = {
    "triage": localised_in("case status", "Triage"),
    "assigned": localised_in("case status", "Assigned"),
    "acknowledged": localised_in("case status", "Acknowledged"),
    "in_progress": localised_in("case status", "In progress"),
    "resolved": localised_in("case status", "Resolved"),
    "rejected": localised_in("case status", "Rejected"),
    "waiting_on_platform": localised_in("case status", "Waiting on the platform"),
    "appealed": localised_in("case status", "Appealed"),
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
    "review": localised_in("case action", "Review the appeal"),
    "appeal": localised_in("case action", "Appealed by the reporter"),
    "appeal_refused": localised_in("case action", "Appeal refused"),
    "await_platform": localised_in("case action", "Waiting on the platform"),
    "platform_answered": localised_in("case action", "Platform answered"),
    "takedown_drafted": localised_in("case action", "Request to the platform drafted"),
    "takedown_sent": localised_in("case action", "Request sent to the platform"),
    "takedown_answered": localised_in("case action", "Platform's answer recorded"),
    "takedown_discarded": localised_in("case action", "Draft request discarded"),
    "takedown": localised_in("case action", "Request recorded"),
    "send": localised_in("case action", "Request sent to the platform"),
    "answer": localised_in("case action", "Platform's answer recorded"),
    "discard": localised_in("case action", "Draft request discarded"),
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
