"""Words on the reporter's pages and error messages: English msgids, translated by the catalogs."""

from __future__ import annotations

from typing import Any

from services.common.i18n import N_, localised, translate
from services.intake.labels import Language

# Texts the form pages read as `t.<key>` (new texts go straight into templates as `_("...")`).
UI_MESSAGES: dict[str, str] = {
    "title": N_("Report harmful online content"),
    "intro": N_(
        "Report false information, scams, impersonation, harmful content, leaked confidential "
        "documents or hijacked accounts. We pass your report to the competent agency."
    ),
    "category": N_("What is it about?"),
    "content_urls": N_("Link(s) to the content or account"),
    "content_urls_hint": N_("One link per line, at most 5."),
    "platform": N_("Platform"),
    "description": N_("Description"),
    "description_hint": N_("What happened? (10–5000 characters)"),
    "seen_at": N_("When you saw it"),
    "repeated_field": N_("This field was sent more than once; please give one value."),
    "seen_at_hint": N_("Vietnam time (UTC+7)."),
    "province": N_("Province/City"),
    "district": N_("District"),
    "evidence_links": N_("Evidence links (optional)"),
    "evidence_links_hint": N_("One link per line, at most 10."),
    "reporter_kind": N_("You are"),
    "anonymous": N_("Report anonymously?"),
    "anonymous_yes": N_("Yes, I leave no contact details"),
    "anonymous_no": N_("No, the agency may contact me"),
    "contact": N_("Contact (seen only by the agency handling it)"),
    "contact_name": N_("Name"),
    "contact_phone": N_("Phone"),
    "contact_email": N_("E-mail"),
    "submit": N_("Send report"),
    "fix_errors": N_("Please correct the marked fields below."),
    "thanks": N_("Thank you for your report"),
    "your_code": N_("Your tracking code"),
    "keep_code": N_("Keep this code. You can look up the progress at any time at:"),
    "lookup": N_("Look up a report"),
    "lookup_code": N_("Tracking code"),
    "lookup_button": N_("Look up"),
    "not_found": N_("No report has this tracking code."),
    "status": N_("Status"),
    "agency": N_("Handled by"),
    "submitted_at": N_("Submitted"),
    "updated_at": N_("Last change"),
    "history": N_("History"),
    "new_report": N_("Send another report"),
    "csrf": N_("Your session expired. Please send the form again."),
    "required": N_("required"),
    "erase_confirm": N_("Tick the box to confirm: erasing cannot be undone."),
}
UI: dict[str, dict[Language, str]] = {key: localised(text) for key, text in UI_MESSAGES.items()}

# Pydantic error types (or our own) and the message a reporter reads; `%(name)s` comes from
# the error's context.
ERRORS: dict[str, str] = {
    "missing": N_("This field is required."),
    "url": N_("Not a valid link (it must start with http:// or https://)."),
    # A refused link (services.common.content): one type per reason.
    "content_url_not_url": N_(
        "Not a valid link: write an address such as facebook.com/name or "
        "https://example.vn/page, one per line."
    ),
    "content_url_scheme": N_(
        "Only web links are accepted (http://, https:// or an address such as facebook.com/name)."
    ),
    "content_url_host": N_("The site name in this link is not valid."),
    "content_url_too_long": N_("Too long: a link has at most %(max_length)s characters."),
    "content_url_empty": N_("The link is empty."),
    "content_url_home": N_(
        "This is the platform's home page: give the link of the page, post, video or account."
    ),
    "string_too_short": N_("Too short: at least %(min_length)s characters."),
    "string_too_long": N_("Too long: at most %(max_length)s characters."),
    "too_long": N_("Too many entries: at most %(max_length)s."),
    "too_short": N_("At least %(min_length)s entry needed."),
    "enum": N_("Please choose one of the options."),
    "string_pattern_mismatch": N_("Not a valid phone number."),
    "phone_invalid": N_(
        "Not a valid phone number: write a Vietnamese mobile or landline number such as "
        "0912 345 678 or 024 3825 1234, or an international number starting with +."
    ),
    "email": N_("Not a valid e-mail address."),
    "datetime": N_("Not a valid date and time."),
    "seen_at_range": N_("The time seen must be after %(earliest)s."),
    "seen_at_future": N_("The time seen cannot be in the future."),
    "contact_required": N_("If you are not anonymous, please leave a phone number or an e-mail."),
    "contact_not_allowed": N_(
        "An anonymous report has no contact details: clear them or choose not anonymous."
    ),
}
# Errors whose context already carries the message in each language (`message_vi`, ...).
MESSAGES_IN_CONTEXT = frozenset({"place_unknown"})


def texts(lang: Language) -> dict[str, str]:
    """The `t.<key>` texts of the form pages in `lang`."""
    return {key: words[lang] for key, words in UI.items()}


def error_message(error: dict[str, Any], lang: Language) -> str:
    """A reporter-friendly message for one pydantic error."""
    kind = _error_kind(error)
    context = error.get("ctx") or {}
    if kind in MESSAGES_IN_CONTEXT and f"message_{lang}" in context:
        return str(context[f"message_{lang}"])
    if kind not in ERRORS:
        return str(error["msg"])
    return translate(lang, ERRORS[kind], **{k: str(v) for k, v in context.items()})


def _error_kind(error: dict[str, Any]) -> str:
    kind = str(error["type"])
    if kind.startswith("url"):
        return "url"
    if kind.startswith("datetime") or kind.startswith("timezone"):
        return "datetime"
    if kind == "value_error" and "email" in str(error.get("msg", "")).lower():
        return "email"
    return kind
