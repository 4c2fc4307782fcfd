"""`incidents-admin`: the operator's command-line tool (policies, keys, dead letters, outboxes,
exports, retention, webhook deliveries)."""
