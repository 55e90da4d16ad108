"""Pipeline health: throughput, lag, failures and dead letters, latency, the time sweeper."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import dashboard as models

from tierflow_dashboards.panels import DATASOURCE, RATE, Query, build, new_dashboard, stat_panel, timeseries_panel

SERVICE = 'service=~"$service"'
# One value per partition: during a rebalance two replicas may briefly both report one partition.
LAG_PER_PARTITION = f"max by (service, topic, partition) (tierflow_consumer_lag{{{SERVICE}}})"


def _service_variable() -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable("service")
        .label("Service")
        .datasource(DATASOURCE)
        .query("label_values(tierflow_events_consumed_total, service)")
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(models.VariableOption(selected=True, text="All", value="$__all"))
    )


def _quantile(q: str, metric: str) -> Query:
    return Query(
        f"histogram_quantile({q}, sum by (service, le) (rate({metric}_bucket{{{SERVICE}}}[{RATE}])))",
        f"{{{{service}}}} p{q[2:].ljust(2, '0')}",
    )


def pipeline_dashboard() -> models.Dashboard:
    board = (
        new_dashboard(
            "tierflow-pipeline",
            "tierflow / Pipeline health",
            "Consumer loops of profile, scoring, routing and notification: throughput, lag, dead letters, latency.",
        )
        .with_variable(_service_variable())
        .with_row(dashboard.Row("Overview"))
        .with_panel(
            stat_panel(
                "Targets up",
                "tierflow processes Prometheus scrapes successfully (workers and the routing API).",
                Query('sum(up{job=~"tierflow-.*"})', instant=True),
            )
        )
        .with_panel(
            stat_panel(
                "Events processed / s",
                "Events whose effects were committed, all services selected.",
                Query(f"sum(rate(tierflow_events_processed_total{{{SERVICE}}}[{RATE}]))"),
                unit="ops",
            )
        )
        .with_panel(
            stat_panel(
                "Consumer lag",
                "Messages waiting in Kafka, all services and partitions selected.",
                Query(f"sum({LAG_PER_PARTITION})"),
            )
        )
        .with_panel(
            stat_panel(
                "Dead letters (24 h)",
                "Messages sent to tierflow.dlq.v1 in the last day. Any is worth a look: see docs/observability.md.",
                Query(f"sum(increase(tierflow_events_dead_lettered_total{{{SERVICE}}}[24h]))", instant=True),
            )
        )
        .with_row(dashboard.Row("Throughput"))
        .with_panel(
            timeseries_panel(
                "Consumed / s by service and topic",
                "Messages fetched from Kafka.",
                [Query(f"sum by (service, topic) (rate(tierflow_events_consumed_total{{{SERVICE}}}[{RATE}]))")],
                unit="ops",
            )
        )
        .with_panel(
            timeseries_panel(
                "Processed / s by service and event type",
                "Events whose effects were committed; duplicates are the share recognised by event_id.",
                [
                    Query(
                        f"sum by (service, event_type) (rate(tierflow_events_processed_total{{{SERVICE}}}[{RATE}]))",
                        "{{service}} {{event_type}}",
                    ),
                    Query(
                        f"sum by (service) (rate(tierflow_events_duplicate_total{{{SERVICE}}}[{RATE}]))",
                        "{{service}} duplicates",
                    ),
                ],
                unit="ops",
            )
        )
        .with_panel(
            timeseries_panel(
                "Published / s by topic",
                "Output messages published through the outbox after the state commit. The profile service's"
                " hot path publishes directly and is not counted (only its sweeper's messages are).",
                [Query(f"sum by (service, topic) (rate(tierflow_outbox_published_total{{{SERVICE}}}[{RATE}]))")],
                unit="ops",
            )
        )
        .with_panel(
            timeseries_panel(
                "Batch size (mean)",
                "Messages per batch: small batches under load mean the consumer waits on something.",
                [
                    Query(
                        f"sum by (service) (rate(tierflow_batch_size_sum{{{SERVICE}}}[{RATE}]))"
                        f" / sum by (service) (rate(tierflow_batch_size_count{{{SERVICE}}}[{RATE}]))",
                        "{{service}}",
                    )
                ],
            )
        )
        .with_row(dashboard.Row("Lag"))
        .with_panel(
            timeseries_panel(
                "Consumer lag by service and topic",
                "High watermark minus position, summed over partitions. Growing lag without failures: add replicas.",
                [Query(f"sum by (service, topic) ({LAG_PER_PARTITION})")],
            )
        )
        .with_panel(
            timeseries_panel(
                "Seconds since the last offset commit",
                "Rises steadily while a consumer loop is stuck or idle (no new messages is also idle).",
                [Query(f"time() - max by (service) (tierflow_consumer_last_commit_timestamp_seconds{{{SERVICE}}})")],
                unit="s",
            )
        )
        .with_row(dashboard.Row("Failures and dead letters"))
        .with_panel(
            timeseries_panel(
                "Failed attempts / s by error",
                "Each retry counts. Connection errors mean a dependency is down and the loop is waiting.",
                [Query(f"sum by (service, error) (rate(tierflow_events_failed_total{{{SERVICE}}}[{RATE}]))")],
                unit="ops",
            )
        )
        .with_panel(
            timeseries_panel(
                "Dead-lettered / s by topic and kind",
                "kind=contract: a producer sends what the contract refuses; kind=rejected: a valid event"
                " outside the service's rules (too old, dated ahead); kind=processing: a valid event kept failing.",
                [
                    Query(
                        "sum by (service, topic, kind) "
                        f"(rate(tierflow_events_dead_lettered_total{{{SERVICE}}}[{RATE}]))"
                    )
                ],
                unit="ops",
            )
        )
        .with_panel(
            timeseries_panel(
                "Waiting on a dependency",
                "Replicas whose loop waits (readiness red) and the attempts they wait out / s by error: an outage,"
                " a read-only or full database, Kafka refusing outputs or dead letters. No event is blamed meanwhile.",
                [
                    Query(f"sum by (service) (tierflow_consumer_waiting{{{SERVICE}}})", "{{service}} replicas waiting"),
                    Query(
                        f"sum by (service, error) (rate(tierflow_consumer_waits_total{{{SERVICE}}}[{RATE}]))",
                        "{{service}} {{error}} / s",
                    ),
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Polls cut short and dead letters truncated / s",
                "Polls whose work stopped at half of max.poll.interval.ms (the rest is read again and resumed:"
                " isolating a failing batch, or waiting), and dead letters whose value was cut to fit.",
                [
                    Query(
                        f"sum by (service) (rate(tierflow_consumer_rounds_cut_short_total{{{SERVICE}}}[{RATE}]))",
                        "{{service}} polls cut short",
                    ),
                    Query(
                        f"sum by (service) (rate(tierflow_dead_letters_truncated_total{{{SERVICE}}}[{RATE}]))",
                        "{{service}} dead letters truncated",
                    ),
                ],
                unit="ops",
            )
        )
        .with_row(dashboard.Row("Latency"))
        .with_panel(
            timeseries_panel(
                "Event time to commit (p50, p99)",
                "occurred_at to committed effects: includes how late producers send events.",
                [
                    _quantile("0.5", "tierflow_processing_latency_seconds"),
                    _quantile("0.99", "tierflow_processing_latency_seconds"),
                ],
                unit="s",
            )
        )
        .with_panel(
            timeseries_panel(
                "Broker to commit (p50, p99)",
                "Kafka message timestamp to committed effects: the pipeline's own delay.",
                [
                    _quantile("0.5", "tierflow_broker_to_commit_seconds"),
                    _quantile("0.99", "tierflow_broker_to_commit_seconds"),
                ],
                unit="s",
            )
        )
        .with_panel(
            timeseries_panel(
                "Batch duration (p99)",
                "Time to process and commit one batch.",
                [_quantile("0.99", "tierflow_batch_duration_seconds")],
                unit="s",
            )
        )
        .with_row(dashboard.Row("Time sweeper and outbox"))
        .with_panel(
            timeseries_panel(
                "Reviews due and reviewed / s",
                "Customers whose next_review_at has passed (backlog, read from the database) and the sweeper's pace.",
                [
                    Query(f"max by (service) (tierflow_reviews_due{{{SERVICE}}})", "{{service}} due"),
                    Query(
                        f"sum by (service) (rate(tierflow_sweeper_reviewed_total{{{SERVICE}}}[{RATE}]))",
                        "{{service}} reviewed / s",
                    ),
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Review lag",
                "How late the oldest due review is (dormancy on day 90, demotions, churn bands).",
                [Query(f"max by (service) (tierflow_review_lag_seconds{{{SERVICE}}})", "{{service}}")],
                unit="s",
            )
        )
        .with_panel(
            timeseries_panel(
                "Outbox rows pending at recovery",
                "Unpublished outbox rows a replica found when it took over partitions; published then.",
                [Query(f"sum by (service) (tierflow_outbox_pending{{{SERVICE}}})", "{{service}}")],
            )
        )
    )
    return build(board)
