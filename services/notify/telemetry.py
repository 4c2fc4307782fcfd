"""The notifier's Prometheus metrics."""

from prometheus_client import Counter, Gauge, Histogram

OPEN_DEADLINES = Gauge("notify_open_deadlines", "Cases with an escalation still to come")
ESCALATIONS = Counter("notify_escalations_total", "Escalations recorded, by level", ["level"])
ALERTS = Counter(
    "notify_alerts_total",
    "Alerts recorded, by kind (escalation, warning, platform_overdue) and clock",
    ["kind", "clock"],
)
DELIVERIES = Counter(
    "notify_deliveries_total",
    "Alert delivery attempts by channel and outcome",
    ["channel", "outcome"],
)
DELIVERY_FAILURES = Counter(
    "notify_delivery_failures_total", "Alerts given up on, by channel", ["channel"]
)
SCAN_DURATION = Histogram(
    "notify_scan_duration_seconds",
    "One scan: find due deadlines and claim them",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LATENESS = Histogram(
    "notify_escalation_lateness_seconds",
    "Alert recorded time minus the time its level fell due",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
