"""Alarms for every way a request can fail silently, and one dashboard, built with cdk-monitoring-constructs.

Alarms (all notify the notification topic):
- each dead-letter queue (work queue DLQ and both rule-target DLQs) holds any message;
- the worker or the sweeper reports a Lambda error (a crash: per-record failures go back to the queue);
- any workflow ends `FAILED` (custom metric `Outcome_FAILED`);
- a sweep could not drive some overdue workflows (custom metric `SweepFailures`: the sweeper catches the
  error per group, so no Lambda error reports it);
- a status event claims another account or region (custom metric `ForeignStatusEvents`), or a failure
  event is not confirmed by GetDeploymentStatus (`UnconfirmedFailureEvents`): a forged or misrouted event;
- the oldest work-queue message is older than `queueMaxAgeSeconds` (the worker is not keeping up).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import cdk_monitoring_constructs as mc
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from gg_reset import metric_names, settings
from gg_reset.domain.model import WorkflowState

# Terminal states the workflow reports as `Outcome_<STATE>` (count) metrics, from the domain model itself.
TERMINAL_STATES: Final = tuple(state.value for state in WorkflowState if state.terminal)
FAILED_STATE: Final = WorkflowState.FAILED.value
METRIC_PERIOD: Final = Duration.minutes(5)
CRITICAL: Final = "Critical"
WARNING: Final = "Warning"


def service_metric(name: str, *, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
    """A metric the Lambdas emit through Powertools (namespace GgReset, dimension `service`)."""
    return cloudwatch.Metric(
        namespace=settings.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": settings.SERVICE_NAME},
        statistic=statistic,
        period=METRIC_PERIOD,
        label=label or name,
    )


def _alarm_on_any(
    metric: cloudwatch.Metric, friendly_name: str, description: str
) -> mc.CustomMetricWithAlarm:
    """`metric` charted with an alarm on its first occurrence in a period (no data is not an alarm)."""
    return mc.CustomMetricWithAlarm(
        metric=metric,
        alarm_friendly_name=friendly_name,
        add_alarm={
            CRITICAL: mc.CustomThreshold(
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description_override=description,
                datapoints_to_alarm=1,
                evaluation_periods=1,
            )
        },
    )


def _outcome_metric(state: str) -> cloudwatch.Metric | mc.CustomMetricWithAlarm:
    """`Outcome_<state>`; the FAILED one carries the alarm: any FAILED outcome in 5 minutes."""
    metric = service_metric(metric_names.outcome_metric(state), label=state)
    if state != FAILED_STATE:
        return metric
    return _alarm_on_any(
        metric,
        "FailedOutcomes",
        "A gg-reset workflow ended FAILED: the ledger (sk WF#...) and the notification topic name the group "
        "and the reason.",
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        topic: sns.ITopic,
        worker: lambda_.IFunction,
        sweeper: lambda_.IFunction,
        work_queue: sqs.IQueue,
        work_dlq: sqs.IQueue,
        rule_dlqs: Sequence[tuple[str, sqs.IQueue]],
        table: dynamodb.ITable,
        queue_max_age_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard_name = name_prefix

        self.facade = mc.MonitoringFacade(
            self,
            "Facade",
            alarm_factory_defaults=mc.AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=name_prefix,
                action=mc.SnsAlarmActionStrategy(on_alarm_topic=topic),
                evaluation_periods=1,
                datapoints_to_alarm=1,
            ),
            metric_factory_defaults=mc.MetricFactoryDefaults(period=METRIC_PERIOD),
            dashboard_factory=mc.DefaultDashboardFactory(
                self,
                "Dashboards",
                dashboard_name_prefix=name_prefix,
                create_dashboard=True,
                create_alarm_dashboard=False,
                create_summary_dashboard=False,
            ),
        )
        facade = self.facade

        facade.add_large_header("gg-reset: Greengrass V1 group reset and cleanup")
        facade.monitor_custom(
            human_readable_name="Workflow outcomes",
            alarm_friendly_name="Outcomes",
            description=(
                "Requests received, terminal states by outcome and sweeps; a FAILED outcome, a sweep "
                "failure, a foreign status event and an unconfirmed failure event alarm at the first one."
            ),
            metric_groups=[
                mc.CustomMetricGroup(
                    title="Outcomes by terminal state (count)",
                    graph_widget_type=mc.GraphWidgetType.STACKED_AREA,
                    metrics=[_outcome_metric(state) for state in TERMINAL_STATES],
                ),
                mc.CustomMetricGroup(
                    title="Requests received, Force and roll back fallbacks, dropped status events (count)",
                    metrics=[
                        service_metric(metric_names.REQUESTS_RECEIVED, label="Requests received"),
                        service_metric(metric_names.FORCE_FALLBACKS, label="Force fallbacks"),
                        service_metric(metric_names.ROLLBACK_FALLBACKS, label="Roll back fallbacks"),
                        service_metric(
                            metric_names.MALFORMED_STATUS_EVENTS, label="Malformed status events dropped"
                        ),
                    ],
                ),
                mc.CustomMetricGroup(
                    title="Forged or misrouted status events: foreign, unconfirmed failures (count)",
                    metrics=[
                        _alarm_on_any(
                            service_metric(
                                metric_names.FOREIGN_STATUS_EVENTS, label="Foreign status events dropped"
                            ),
                            "ForeignStatusEvents",
                            "The gg-reset worker dropped a Greengrass status event claiming another account "
                            "or region than its own: a forged or misrouted event (the status rule should "
                            "never pass one). Look in the worker's log group ('status event from another "
                            "account dropped' / '... region dropped') for the event's account or region, "
                            "group and deployment id, and find who forwards or puts such events on this bus.",
                        ),
                        _alarm_on_any(
                            service_metric(
                                metric_names.UNCONFIRMED_FAILURES, label="Unconfirmed failure events"
                            ),
                            "UnconfirmedFailureEvents",
                            "A Greengrass failure event's deployment was not confirmed failed by "
                            "GetDeploymentStatus (unknown to the group, or in another status): the "
                            "remediation ended REJECTED with no Greengrass write. A forged or misrouted "
                            "event: look in the worker's log group for the event's account, region and "
                            "deployment id, and find who puts such events on this bus.",
                        ),
                    ],
                ),
                mc.CustomMetricGroup(
                    title="Workflow duration (seconds)",
                    metrics=[
                        service_metric(metric_names.WORKFLOW_DURATION, statistic=stat, label=label)
                        for stat, label in (("p50", "p50"), ("p90", "p90"), ("Maximum", "max"))
                    ],
                ),
                mc.CustomMetricGroup(
                    title="Sweeps: overdue workflows driven, and failed (count)",
                    metrics=[
                        service_metric(metric_names.SWEPT_WORKFLOWS, label="Overdue workflows swept"),
                        _alarm_on_any(
                            service_metric(metric_names.SWEEP_FAILURES, label="Sweep failures"),
                            "SweepFailures",
                            "The gg-reset sweeper could not drive some overdue workflows (it caught the "
                            "error, so no Lambda error alarm fires): its log group names the groups "
                            "('sweep could not drive some groups').",
                        ),
                    ],
                ),
                mc.CustomMetricGroup(
                    title="Janitor runs (when enabled): groups to act on, requests sent, runs to look at",
                    metrics=[
                        service_metric(metric_names.JANITOR_TO_ACT, label="Groups to act on"),
                        service_metric(metric_names.JANITOR_REQUESTS_SENT, label="Requests sent"),
                        service_metric(
                            metric_names.JANITOR_RUNS_NEEDING_ATTENTION, label="Runs needing attention"
                        ),
                    ],
                ),
            ],
        )

        facade.add_medium_header("Work queue")
        facade.monitor_sqs_queue_with_dlq(
            queue=work_queue,
            dead_letter_queue=work_dlq,
            human_readable_name="Work queue",
            alarm_friendly_name="WorkQueue",
            add_queue_max_message_age_alarm={
                WARNING: mc.MaxMessageAgeThreshold(
                    max_age_in_seconds=queue_max_age_seconds,
                    alarm_description_override=(
                        "The oldest gg-reset work item waits longer than expected: the worker is failing, "
                        "throttled or capped by workerMaxConcurrency."
                    ),
                    datapoints_to_alarm=3,
                    evaluation_periods=3,
                )
            },
            add_dead_letter_queue_max_size_alarm={
                CRITICAL: mc.MaxMessageCountThreshold(
                    max_message_count=0,
                    alarm_description_override=(
                        "A work item failed maxReceiveCount times and is in the work queue's DLQ."
                    ),
                )
            },
        )
        for friendly_name, dlq in rule_dlqs:
            facade.monitor_sqs_queue(
                queue=dlq,
                human_readable_name=f"{friendly_name} (rule target DLQ)",
                alarm_friendly_name=friendly_name,
                add_queue_max_size_alarm={
                    CRITICAL: mc.MaxMessageCountThreshold(
                        max_message_count=0,
                        alarm_description_override=(
                            f"EventBridge could not deliver an event to the work queue ({friendly_name})."
                        ),
                    )
                },
            )

        facade.add_medium_header("Lambdas")
        for friendly_name, function in (("Worker", worker), ("Sweeper", sweeper)):
            facade.monitor_lambda_function(
                lambda_function=function,
                human_readable_name=f"{friendly_name} Lambda",
                alarm_friendly_name=friendly_name,
                add_fault_count_alarm={
                    CRITICAL: mc.ErrorCountThreshold(
                        max_error_count=0,
                        alarm_description_override=(
                            f"The gg-reset {friendly_name.lower()} Lambda raised an error (not a per-record "
                            "failure): see its log group."
                        ),
                    )
                },
            )

        facade.add_medium_header("Ledger")
        facade.monitor_dynamo_table(
            table=table, human_readable_name="Ledger table", alarm_friendly_name="Ledger"
        )

        stack = Stack.of(self)
        self.dashboard_url = (
            f"https://{stack.region}.console.aws.amazon.com/cloudwatch/home?region={stack.region}"
            f"#dashboards:name={self.dashboard_name}"
        )
