"""Counters of the event bus, exported at /metrics."""

from prometheus_client import Counter, Gauge, Histogram

BUS_RECONNECTS = Counter("bus_reconnects_total", "Times the bus re-established its Redis link.")
BUS_RESYNCS = Counter(
    "bus_resyncs_total",
    "Subscribers told to re-read state (reconnect, overflow or gap).",
    ["cause"],
)
BUS_PUBLISH_FAILURES = Counter("bus_publish_failures_total", "Events that could not be published.")
# multiprocess_mode: how `serve`'s workers' values add up at /metrics (telemetry/exposition.py)
BUS_CONNECTED = Gauge(
    "bus_connected",
    "1 while the bus is connected to Redis (or in memory); with workers, while every one is.",
    multiprocess_mode="livemin",
)
DIRECT_WRITES = Counter(
    "subscription_direct_writes_total",
    "Live events written straight to a parked subscriber's socket (subscriptions/direct.py).",
)
SUBSCRIPTIONS_OPEN = Gauge(
    "subscriptions_open", "Open memberUpdated streams.", multiprocess_mode="livesum"
)
OUTBOX_RELAYED = Counter(
    "outbox_relayed_total", "Committed changes the outbox relay published (the writer could not)."
)
OUTBOX_STAGED = Counter("outbox_staged_total", "Changes written to the outbox with their commit.")
BUS_DELIVERY_LAG = Histogram(
    "bus_delivery_lag_seconds",
    "From publishing a committed change to handing it to a subscriber (wall clocks of both "
    "processes).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
BUS_CLUSTER_NODES_DOWN = Gauge(
    "bus_cluster_nodes_down",
    "Primaries of the Redis Cluster the bus has no pub/sub link to (REDIS_CLUSTER only).",
    multiprocess_mode="livemax",
)
