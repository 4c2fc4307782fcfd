"""Words of the console's grouping parts (reports of a case, split, merge): catalog-backed."""

from __future__ import annotations

from services.common.i18n import Language, localised_in

# msgctxt "grouping": these officers' words differ from the reporter's ("Citizen" is "Công dân").
GROUPING: dict[str, dict[Language, str]] = {
    "reports": localised_in("grouping", "Reports of this case"),
    "reporters": localised_in("grouping", "Reporters"),
    "reporters_long": localised_in("grouping", "Distinct reporters"),
    "content_key": localised_in("grouping", "Content"),
    "reported_at": localised_in("grouping", "Time"),
    "reporter_kind": localised_in("grouping", "Reporter"),
    "citizen": localised_in("grouping", "Citizen"),
    "official": localised_in("grouping", "Official"),
    "first": localised_in("grouping", "first report"),
    "above": localised_in("grouping", "Shown under Report above"),
    "split": localised_in("grouping", "Split into its own case"),
    "split_report": localised_in("grouping", "Report to split off"),
    "merge": localised_in("grouping", "Merge into another case"),
    "merge_into": localised_in("grouping", "Target case id"),
    "reason": localised_in("grouping", "Reason"),
    "continues": localised_in("grouping", "Takes the later reports of case"),
    "continued_by": localised_in("grouping", "Later reports go to case"),
    "merged_into": localised_in("grouping", "Merged into case"),
    "merged_from": localised_in("grouping", "Took in cases"),
    "case_id": localised_in("grouping", "Case id"),
    "done_split": localised_in("grouping", "Report split off into case"),
    "done_merge": localised_in("grouping", "Case merged"),
}
