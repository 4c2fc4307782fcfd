"""Every queue a deployment's services declare, from the services' own specs: what a test run,
a fuzz run or a benchmark deletes when it is done (each consumer queue has a `.dead` twin)."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.amqp import agency_queue
from services.common.contracts import TRIAGE
from services.intake.app import CONSUMER_QUEUES as INTAKE_QUEUES
from services.notify.app import CONSUMER_QUEUES as NOTIFY_QUEUES
from services.routing.app import CONSUMER_QUEUES as ROUTING_QUEUES

DEFAULT_AGENCIES = ("police", "culture_office", "party_committee")


def declared_queues(agencies: Iterable[str] = DEFAULT_AGENCIES) -> list[str]:
    """The names (without prefix) of the unroutable queue, every service's consumer queue and
    the agencies' queues routing declares."""
    specs = [*INTAKE_QUEUES, *ROUTING_QUEUES, *NOTIFY_QUEUES]
    specs += [agency_queue(agency) for agency in (*agencies, TRIAGE)]
    return ["unroutable", *(spec.name for spec in specs)]
