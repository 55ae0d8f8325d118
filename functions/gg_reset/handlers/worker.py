"""Worker Lambda: an SQS batch of EventBridge events (requests and Greengrass status changes).

Each message is one event (a request, a Greengrass status change, or one of the service's own timers);
failures are reported per message (partial batch response), so one bad message never holds back the
others. Invalid messages are recorded `REJECTED` and succeed. A throttled call waits for the request
budget within the invocation; what cannot be done before the invocation ends is kept in the ledger and
comes back with its timer, so no message is handed back to SQS for throttling.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gg_reset.adapters.greengrass import CONNECT_TIMEOUT_S, READ_TIMEOUT_S
from gg_reset.metric_names import FOREIGN_STATUS_EVENTS, MALFORMED_STATUS_EVENTS, WORK_MESSAGES
from gg_reset.shell.intake import Intake, from_message_body
from gg_reset.shell.observability import logger, metrics, tracer
from gg_reset.shell.wiring import service

# A batch handed back whole (the invocation ran out of time) is not a Lambda error: report every item as
# failed instead of raising, so the worker-errors alarm means real errors.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


TIME_RESERVE_MS = 30_000
"""A record is started only with this much of the invocation left."""
CALL_MARGIN = timedelta(seconds=CONNECT_TIMEOUT_S + READ_TIMEOUT_S)
"""The longest one Greengrass call may take: no call starts later than this before the invocation ends
(what the request budget cannot fit before then is deferred to the ledger and its timer)."""


class RetryLater(Exception):
    """Raised for a message the invocation has no time left for: SQS redelivers it later."""


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    svc = service()
    until = None
    if lambda_context is not None:
        remaining_ms = lambda_context.get_remaining_time_in_millis()
        if remaining_ms < TIME_RESERVE_MS:
            # Hand the rest of the batch back rather than be cut off in the middle of a group's calls.
            raise RetryLater("worker invocation almost out of time")
        until = svc.clock.now() + timedelta(milliseconds=remaining_ms) - CALL_MARGIN
    intake = from_message_body(record.body, message_id=record.message_id, now=svc.clock.now())
    if intake.event is None:
        # Not a request: nobody waits for an outcome. Logged with the error and counted (and alarmed on
        # in the dashboard), never retried.
        logger.warning("event dropped", extra={"group_id": intake.group_id, "reason": intake.dropped})
        metrics.add_metric(name=MALFORMED_STATUS_EVENTS, unit=MetricUnit.Count, value=1)
        return
    if _foreign(intake, lambda_context):
        return
    logger.append_keys(group_id=intake.group_id, request_id=intake.correlation_id)
    try:
        result = svc.handle(intake.group_id, intake.event, until=until, timer_for=intake.timer_for)
        current = result.record.current
        logger.info(
            "event handled",
            extra={
                "event_type": type(intake.event).__name__,
                "state": current.state.value if current else None,
            },
        )
    finally:
        logger.remove_keys(["group_id", "request_id"])


def _foreign(intake: Intake, context: LambdaContext | None) -> bool:
    """Whether a status event claims another account or region than this function's own: if so it is
    logged and counted, and must not be handled. The rule matches this account and region only; this is
    defence in depth, so a forged or misrouted event never opens a remediation of a group here."""
    own_account, own_region = _own_account_and_region(context)
    for field, claimed, own in (
        ("account", intake.account, own_account),
        ("region", intake.region, own_region),
    ):
        if claimed is not None and own is not None and claimed != own:
            logger.warning(
                f"status event from another {field} dropped",
                extra={
                    "group_id": intake.group_id,
                    f"event_{field}": claimed,
                    "deployment_id": intake.correlation_id,
                },
            )
            metrics.add_metric(name=FOREIGN_STATUS_EVENTS, unit=MetricUnit.Count, value=1)
            return True
    return False


def _own_account_and_region(context: LambdaContext | None) -> tuple[str | None, str | None]:
    """The account and region this function runs in, from its ARN
    (`arn:aws:lambda:<region>:<account>:function:...`); the region falls back to `AWS_REGION`."""
    parts = context.invoked_function_arn.split(":") if context is not None else []
    account = parts[4] if len(parts) > 4 and parts[4] else None
    region = parts[3] if len(parts) > 3 and parts[3] else os.environ.get("AWS_REGION") or None
    return account, region


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    metrics.add_metric(name=WORK_MESSAGES, unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
