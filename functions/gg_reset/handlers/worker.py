"""Worker Lambda: an SQS batch of EventBridge events (requests and Greengrass status changes).

Each message is one event; failures are reported per message (partial batch response), so one bad
message never holds back the others. Invalid messages are recorded `REJECTED` and succeed; throttled
calls hand their message back to SQS for a later retry (the ledger also schedules one for the sweeper).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from gg_reset.intake import from_message_body
from gg_reset.observability import logger, metrics, tracer
from gg_reset.wiring import service

# A batch where every message was throttled is normal under a bulk cleanup, not a Lambda error: report
# every item as failed instead of raising, so the worker-errors alarm means real errors.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


MALFORMED_STATUS_EVENTS = "MalformedStatusEvents"
TIME_RESERVE_MS = 15_000
"""A record is started only with this much of the invocation left (a group's calls fit in it)."""

RETRY_LATER_RECEIVES = 3
"""A throttled message goes back to SQS for its first few deliveries only: the retry itself is in the
ledger and the sweeper drives it regardless, so a long throttling episode never pushes a message into
the dead-letter queue (whose alarm means "a message gg-reset could not process")."""


class RetryLater(Exception):
    """Raised for a message whose group was throttled: SQS redelivers it after the visibility timeout."""


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    if lambda_context is not None and lambda_context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
        # Hand the rest of the batch back rather than be cut off in the middle of a group's calls.
        raise RetryLater("worker invocation almost out of time")
    svc = service()
    intake = from_message_body(record.body, message_id=record.message_id, now=svc.clock.now())
    if intake.event is None:
        # Not a request: nobody waits for an outcome. Logged with the error and counted (and alarmed on
        # in the dashboard), never retried.
        logger.warning("event dropped", extra={"group_id": intake.group_id, "reason": intake.dropped})
        metrics.add_metric(name=MALFORMED_STATUS_EVENTS, unit=MetricUnit.Count, value=1)
        return
    logger.append_keys(group_id=intake.group_id, request_id=intake.correlation_id)
    try:
        result = svc.handle(intake.group_id, intake.event)
        current = result.record.current
        logger.info(
            "event handled",
            extra={
                "event_type": type(intake.event).__name__,
                "state": current.state.value if current else None,
            },
        )
        if result.throttled and int(record.attributes.approximate_receive_count) < RETRY_LATER_RECEIVES:
            raise RetryLater(f"group {intake.group_id}: Greengrass throttled; retry scheduled")
    finally:
        logger.remove_keys(["group_id", "request_id"])


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
