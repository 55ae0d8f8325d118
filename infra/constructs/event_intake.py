"""How work reaches gg-reset: the service bus, the two rules and the one work queue behind them.

```
bus "gg-reset"  (requests)                      ──rule──► ┐
default bus     (aws.greengrass status changes) ──rule──► ┴► work queue ──► worker (see ResetFunctions)
                                                              └─► work DLQ after maxReceiveCount
each rule target has its own DLQ for events EventBridge could not deliver
```

Both patterns come from `gg_reset.contracts`, which the local runtime installs on its emulated buses too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from gg_reset import contracts, settings
from infra.nag import acknowledge

_PATTERN_FIELDS: Final = {
    "account": "account",
    "detail": "detail",
    "detail-type": "detail_type",
    "id": "id",
    "region": "region",
    "resources": "resources",
    "source": "source",
    "time": "time",
    "version": "version",
}

DLQ_RETENTION: Final = Duration.days(14)
TARGET_MAX_EVENT_AGE: Final = Duration.hours(24)
TARGET_RETRY_ATTEMPTS: Final = 185  # EventBridge's own maximum: retry for the whole max_event_age


def event_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    """An `EventPattern` holding exactly this JSON pattern (kebab-case keys, as EventBridge writes them)."""
    unknown = set(pattern) - set(_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"event pattern fields not supported by EventPattern: {sorted(unknown)}")
    return events.EventPattern(**{_PATTERN_FIELDS[key]: value for key, value in pattern.items()})


def _principal(entry: str) -> iam.IPrincipal:
    if entry.isdigit():
        return iam.AccountPrincipal(entry)
    return iam.ArnPrincipal(entry)


class EventIntake(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        allowed_principals: Sequence[str],
        organization_id: str | None,
        visibility_timeout: Duration,
        max_receive_count: int,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        # --- the service bus and who may put requests on it --------------------------------------------
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=settings.DEFAULT_BUS_NAME,
            description="gg-reset: Greengrass group reset and deletion requests",
        )
        # Without a grant in this policy no other account can put events here; the deploying account's own
        # principals still need an IAM permission of their own (events:PutEvents on this bus).
        self.bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowPutEventsFromTrustedPrincipals",
                principals=[iam.AccountRootPrincipal(), *(_principal(p) for p in allowed_principals)],
                actions=["events:PutEvents"],
                resources=[self.bus.event_bus_arn],
            )
        )
        if organization_id:
            self.bus.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowPutEventsFromOrganization",
                    principals=[iam.AnyPrincipal()],
                    actions=["events:PutEvents"],
                    resources=[self.bus.event_bus_arn],
                    conditions={"StringEquals": {"aws:PrincipalOrgID": organization_id}},
                )
            )

        # --- the work queue and its dead-letter queue --------------------------------------------------
        self.work_dlq = self._queue(
            "WorkDeadLetterQueue", retention=DLQ_RETENTION, visibility_timeout=visibility_timeout
        )
        self.work_queue = self._queue(
            "WorkQueue",
            retention=Duration.days(4),
            visibility_timeout=visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.work_dlq, max_receive_count=max_receive_count),
        )

        # --- the rules ---------------------------------------------------------------------------------
        self.request_rule_dlq = self._rule_dlq("RequestRuleDeadLetterQueue")
        self.request_rule = events.Rule(
            self,
            "RequestRule",
            description="gg-reset requests on the service bus -> work queue",
            event_bus=self.bus,
            event_pattern=event_pattern(contracts.REQUEST_PATTERN),
            targets=[self._target(self.request_rule_dlq)],
        )

        self.status_rule_dlq = self._rule_dlq("DeploymentStatusRuleDeadLetterQueue")
        self.status_rule = events.Rule(
            self,
            "DeploymentStatusRule",
            description="aws.greengrass deployment status changes of this account and region -> work queue",
            event_pattern=event_pattern(contracts.deployment_status_pattern(stack.account, stack.region)),
            targets=[self._target(self.status_rule_dlq)],
        )

        self.dead_letter_queues: tuple[sqs.Queue, ...] = (
            self.work_dlq,
            self.request_rule_dlq,
            self.status_rule_dlq,
        )

    def _queue(
        self,
        construct_id: str,
        *,
        retention: Duration,
        visibility_timeout: Duration,
        dead_letter_queue: sqs.DeadLetterQueue | None = None,
    ) -> sqs.Queue:
        # SQS-managed SSE: encrypted at rest, and EventBridge can send to it without a KMS key grant.
        return sqs.Queue(
            self,
            construct_id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=retention,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=dead_letter_queue,
        )

    def _rule_dlq(self, construct_id: str) -> sqs.Queue:
        queue = self._queue(construct_id, retention=DLQ_RETENTION, visibility_timeout=Duration.seconds(30))
        acknowledge(
            queue,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: EventBridge puts here the events its rule "
            "target could not deliver to the work queue. It is alarmed on (depth > 0) and never consumed "
            "automatically, so it needs no DLQ of its own.",
        )
        return queue

    def _target(self, dead_letter_queue: sqs.IQueue) -> targets.SqsQueue:
        return targets.SqsQueue(
            self.work_queue,
            dead_letter_queue=dead_letter_queue,
            max_event_age=TARGET_MAX_EVENT_AGE,
            retry_attempts=TARGET_RETRY_ATTEMPTS,
        )
