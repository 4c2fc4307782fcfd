"""How long a page of an agency's case list takes, by how many cases the agency holds.

    python -m bench.case_list [--cases 20000] [--pages 5]

Starts a fresh on-disk SecantusDB (journaled writes, as the services run it), stores `--cases`
cases of one agency (routing's own documents, one created a minute going back: two weeks for
20,000), then reads the agency's list as its console and the agency API do
(`CaseRepository.find`: the cases it reads, misconduct left out, 50 a page, most urgent first):
its first page twice (a list read for the first time is read whole; later reads go by windows
of the urgency key, `services.routing.listing`), `--pages` pages after it by cursor, the list
narrowed to one status (read the first time by what the agency's list found), the overdue list
(500 a page) twice, and the first page as a restarted routing reads it (by the hints stored in
`list_hints`). Prints the wall and database CPU milliseconds of each read.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import UTC, datetime

from bench.common import embedded_database, measured, run_bench
from bench.startup import BATCH, stored_cases
from services.routing.cases import CaseQuery, CaseRepository
from services.routing.visibility import SENSITIVE_CATEGORY


async def main(args: argparse.Namespace) -> None:
    """One line per read."""
    now = datetime.now(UTC)
    async with embedded_database() as (client, pid):
        repository = CaseRepository(client.routing)
        await repository.ensure_indexes(now)
        docs = stored_cases(args.cases, now)
        for first in range(0, len(docs), BATCH):
            await client.routing.cases.insert_many(docs[first : first + BATCH])
        agency = docs[0]["agency"]

        async def timed(
            label: str, query: CaseQuery, reader: CaseRepository = repository
        ) -> str | None:
            (cases, cursor), wall, cpu = await measured(pid, reader.find(query, now))
            print(
                f"{label:34} {wall:8.1f} ms ({cpu:.0f} ms database CPU), {len(cases)} cases",
                flush=True,
            )
            return cursor

        # As the agency's console and API ask: the cases it reads, misconduct left out.
        shown = CaseQuery(reader=agency, hidden_categories=(SENSITIVE_CATEGORY.value,))
        print(f"{args.cases:,} cases of {agency}")
        await timed("first page, first read of the list", shown)
        cursor = await timed("first page, read again", shown)
        for page in range(2, args.pages + 2):
            cursor = await timed(f"page {page}", replace(shown, cursor=cursor))
        await timed("one status, first read", replace(shown, status=docs[0]["status"]))
        overdue = replace(shown, overdue=True, limit=500)
        await timed("overdue, 500, first read", overdue)
        await timed("overdue, 500, read again", overdue)
        restarted = CaseRepository(client.routing)  # as after a restart: hints stored only
        await timed("first page, after a restart", shown, restarted)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--pages", type=int, default=5)
    run_bench(main(parser.parse_args()))
