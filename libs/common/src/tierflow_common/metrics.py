"""Pipeline metrics recorded at the edges (the consumer loop, the outbox, the sweeper)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400)

EVENTS_CONSUMED = Counter("tierflow_events_consumed_total", "Messages fetched from Kafka.", ["service", "topic"])
EVENTS_PROCESSED = Counter(
    "tierflow_events_processed_total",
    "Events whose effects were committed (including recognised duplicates).",
    ["service", "topic", "event_type"],
)
EVENTS_DUPLICATE = Counter(
    "tierflow_events_duplicate_total",
    "Events skipped because their event_id was already applied.",
    ["service", "topic", "event_type"],
)
EVENTS_FAILED = Counter(
    "tierflow_events_failed_total",
    "Failed processing attempts (each retry counts).",
    ["service", "topic", "event_type", "error"],
)
EVENTS_DEAD_LETTERED = Counter(
    "tierflow_events_dead_lettered_total",
    "Messages sent to the dead-letter topic.",
    ["service", "topic", "event_type", "kind"],
)
PROCESSING_LATENCY = Histogram(
    "tierflow_processing_latency_seconds",
    "Event time (occurred_at) to committed effects.",
    ["service", "topic"],
    buckets=LATENCY_BUCKETS,
)
BROKER_TO_COMMIT = Histogram(
    "tierflow_broker_to_commit_seconds",
    "Kafka message timestamp to committed effects: the pipeline's own delay.",
    ["service", "topic"],
    buckets=LATENCY_BUCKETS,
)
BATCH_SIZE = Histogram(
    "tierflow_batch_size",
    "Messages per processed batch.",
    ["service"],
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
)
BATCH_DURATION = Histogram(
    "tierflow_batch_duration_seconds",
    "Wall time to process and commit one batch.",
    ["service"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_WAITING = Gauge(
    "tierflow_consumer_waiting",
    "1 while the consumer loop waits on a dependency instead of blaming the event (readiness is red), else 0.",
    ["service"],
)
CONSUMER_WAITS = Counter(
    "tierflow_consumer_waits_total",
    "Failed attempts the consumer loop waits out (outages, a read-only database, Kafka refusing outputs or "
    "dead letters), by exception class.",
    ["service", "error"],
)
ROUNDS_CUT_SHORT = Counter(
    "tierflow_consumer_rounds_cut_short_total",
    "Polls whose work stopped at half of max.poll.interval.ms with events unsettled (read again, resumed).",
    ["service"],
)
DEAD_LETTERS_TRUNCATED = Counter(
    "tierflow_dead_letters_truncated_total",
    "Dead letters whose value was cut to fit the dead-letter size limit (the whole message stays at its origin).",
    ["service"],
)
CONSUMER_LAG = Gauge(
    "tierflow_consumer_lag", "High watermark minus committed position.", ["service", "topic", "partition"]
)
LAST_COMMIT = Gauge(
    "tierflow_consumer_last_commit_timestamp_seconds", "Unix time of the last offset commit.", ["service"]
)
OUTBOX_PUBLISHED = Counter(
    "tierflow_outbox_published_total", "Messages published from the transactional outbox.", ["service", "topic"]
)
OUTBOX_PENDING = Gauge("tierflow_outbox_pending", "Outbox rows found unpublished at the last recovery.", ["service"])
SWEEP_REVIEWED = Counter("tierflow_sweeper_reviewed_total", "Customers re-evaluated by the time sweeper.", ["service"])
REVIEWS_DUE = Gauge(
    "tierflow_reviews_due",
    "Customers whose next_review_at has passed and who wait for the sweeper (its backlog).",
    ["service"],
)
REVIEW_LAG = Gauge(
    "tierflow_review_lag_seconds", "Now minus the oldest next_review_at still waiting for the sweeper.", ["service"]
)
RATE_LIMITED = Counter("tierflow_api_rate_limited_total", "Requests refused with 429, by route template.", ["route"])
API_TOKEN_CACHE = Gauge(
    "tierflow_api_token_cache_entries",
    "Verified tokens remembered by this API process (bounded).",
    multiprocess_mode="max",
)
API_RATE_LIMIT_WINDOWS = Gauge(
    "tierflow_api_rate_limit_windows",
    "Per-client one-second windows the rate limiter holds in memory (passed windows are forgotten).",
    multiprocess_mode="max",
)
