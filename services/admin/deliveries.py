"""`incidents-admin deliveries`: the alert delivery log: list deliveries, re-send one.

Talks to notify's HTTP API (`GET /api/v1/alerts`, `POST /api/v1/alerts/{alert_id}/deliveries/
{n}/resend`) with a supervisor's bearer token, from `--token` or `INCIDENTS_ADMIN_TOKEN`; it
never reads notify's database. A re-send is recorded in the delivery's history (which token
asked, and when) and attempted by notify at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import aiohttp

from services.admin.arguments import CommandError, positive_int

DEFAULT_NOTIFY_URL = "http://127.0.0.1:8082"
TOKEN_ENV = "INCIDENTS_ADMIN_TOKEN"
STATUSES = ("pending", "delivered", "failed", "skipped")
PAGE_SIZE = 100
TIMEOUT_SECONDS = 30.0


def register(commands: Any) -> None:
    """Add `deliveries list|resend`."""
    deliveries = commands.add_parser(
        "deliveries",
        help="alert deliveries (webhook, PagerDuty, e-mail): list, resend",
        description="The alert delivery log kept by notify, and the manual re-send of one "
        "delivery, through notify's HTTP API.",
    )
    actions = deliveries.add_subparsers(dest="deliveries_action", metavar="ACTION", required=True)
    api = _api_options()
    listing = actions.add_parser("list", parents=[api], help="deliveries, newest alert first")
    listing.add_argument("--case", metavar="ID", help="only this case's alerts")
    listing.add_argument("--status", choices=STATUSES, help="only deliveries in this status")
    listing.add_argument(
        "--limit", type=positive_int, default=50, help="most alerts looked at (50)"
    )
    listing.set_defaults(handler=list_command)
    resend = actions.add_parser(
        "resend", parents=[api], help="queue one delivery again (see N in `deliveries list`)"
    )
    resend.add_argument("alert_id", metavar="ALERT_ID")
    resend.add_argument("n", metavar="N", type=positive_int, help="the delivery's number, from 1")
    resend.set_defaults(handler=resend_command)


def _api_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--notify-url",
        default=os.environ.get("NOTIFY_URL", DEFAULT_NOTIFY_URL),
        help=f"notify's base URL (default: $NOTIFY_URL or {DEFAULT_NOTIFY_URL})",
    )
    options.add_argument(
        "--token", default=None, help=f"a supervisor's bearer token (default: ${TOKEN_ENV})"
    )
    options.add_argument("--json", action="store_true", help="print JSON for scripts")
    return options


# ---- what the commands print (pure) ----


def delivery_rows(
    alerts: list[dict[str, Any]], status: str | None = None
) -> Iterator[dict[str, Any]]:
    """One flat row per delivery of each alert (only those in `status` when given)."""
    for alert in alerts:
        for delivery in alert["deliveries"]:
            if status is None or delivery["status"] == status:
                yield {
                    "alert_id": alert["alert_id"],
                    "n": delivery["n"],
                    "case_id": alert["case_id"],
                    "tracking_code": alert["tracking_code"],
                    "what": _what(alert, delivery),
                    "channel": delivery["channel"],
                    "target": delivery["target"],
                    "status": delivery["status"],
                    "attempts": delivery["attempts"],
                    "last_error": delivery["last_error"],
                    "resends": len(delivery.get("resends", [])),
                }


def _what(alert: dict[str, Any], delivery: dict[str, Any]) -> str:
    if alert.get("kind") == "resolution":
        return "resolution"
    action = f" {delivery['action']}" if delivery.get("action") else ""
    return f"level {alert['level']}{action}"


def render_row(row: dict[str, Any]) -> str:
    """One delivery as one line of text."""
    line = (
        f"{row['alert_id']}  {row['n']:>2}  {row['tracking_code']}  {row['what']:<16}"
        f"  {row['channel']:<9}  {row['target']}  {row['status']}  attempts {row['attempts']}"
    )
    if row["resends"]:
        line += f"  re-sent {row['resends']}x"
    if row["last_error"]:
        line += f"  ({row['last_error']})"
    return line


# ---- talking to notify ----


def _token(args: argparse.Namespace) -> str:
    token = args.token or os.environ.get(TOKEN_ENV, "")
    if not token:
        raise CommandError(f"no token: pass --token or set {TOKEN_ENV}")
    return str(token)


async def _call(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> dict[str, Any]:
    """One API call; its JSON body, or CommandError with notify's own message."""
    try:
        async with session.request(method, url, **kwargs) as reply:
            status = reply.status
            try:
                body = await reply.json(content_type=None)
            except ValueError:
                body = None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise CommandError(f"cannot reach notify at {url}: {exc or type(exc).__name__}") from exc
    if status < 400 and isinstance(body, dict):
        return body
    if status < 400:
        raise CommandError(f"notify at {url} answered HTTP {status} without a JSON object")
    raise CommandError(f"notify answered {status}: {_error_text(body)}")


def _error_text(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "(no error message)"
    details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in error.get("errors", []))
    return str(error.get("message")) + (f" ({details})" if details else "")


def _session(token: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {token}"},
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
    )


async def fetch_alerts(
    session: aiohttp.ClientSession, base: str, *, case: str | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` alerts, newest first, following the cursor."""
    query: dict[str, str] = {}
    if case:
        query["case_id"] = case
    if status:
        query["status"] = status
    alerts: list[dict[str, Any]] = []
    while len(alerts) < limit:
        query["limit"] = str(min(PAGE_SIZE, limit - len(alerts)))
        page = await _call(session, "GET", f"{base}/api/v1/alerts", params=query)
        alerts += page["alerts"]
        if not page.get("next_cursor"):
            break
        query["cursor"] = page["next_cursor"]
    return alerts


async def list_command(args: argparse.Namespace) -> int:
    """`deliveries list`."""
    return await _guarded(_list, args)


async def _list(args: argparse.Namespace) -> int:
    base = args.notify_url.rstrip("/")
    async with _session(_token(args)) as session:
        alerts = await fetch_alerts(
            session, base, case=args.case, status=args.status, limit=args.limit
        )
    rows = list(delivery_rows(alerts, args.status))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        print("no deliveries")
    else:
        print("\n".join(render_row(row) for row in rows))
    return 0


async def resend_command(args: argparse.Namespace) -> int:
    """`deliveries resend ALERT_ID N`."""
    return await _guarded(_resend, args)


async def _resend(args: argparse.Namespace) -> int:
    base = args.notify_url.rstrip("/")
    url = f"{base}/api/v1/alerts/{quote(args.alert_id, safe='')}/deliveries/{args.n}/resend"
    async with _session(_token(args)) as session:
        accepted = await _call(session, "POST", url)
    if args.json:
        print(json.dumps(accepted, ensure_ascii=False, indent=2))
    else:
        delivery = accepted["delivery"]
        print(
            f"delivery {delivery['n']} of alert {accepted['alert_id']} ({delivery['channel']}"
            f" to {delivery['target']}) queued again"
        )
    return 0


async def _guarded(command: Any, args: argparse.Namespace) -> int:
    try:
        return int(await command(args))
    except CommandError as exc:
        print(f"incidents-admin deliveries: {exc}", file=sys.stderr)
        return 1
