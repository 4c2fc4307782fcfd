"""Prometheus metrics shared by every service's plumbing (one process runs one service)."""

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "messages_consumed_total", "Messages consumed, by queue and outcome", ["queue", "outcome"]
)
OUTBOX_PUBLISHED = Counter(
    "outbox_published_total", "Events published from an outbox", ["collection"]
)
OUTBOX_BACKLOG = Gauge(
    "outbox_backlog_documents", "Documents with events not yet published", ["collection"]
)
PUBLISH_LATENCY = Histogram(
    "outbox_publish_latency_seconds",
    "From the event's occurrence to its confirmed publish",
    ["collection"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
PUBLISH_FAILURES = Counter(
    "outbox_publish_failures_total", "Relay batches that failed to publish", ["collection"]
)
LOOP_RESTARTS = Counter(
    "background_loop_restarts_total", "Background loops restarted after an error", ["loop"]
)
QUARANTINED = Counter(
    "quarantined_documents_total",
    "Documents (or outbox entries) a loop could not process, moved aside",
    ["collection"],
)
