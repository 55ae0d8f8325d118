"""Janitor Lambda, on a schedule: evaluates the configured selection and records, or sends, the cleanup.

The logic is `gg_reset.cleanup.janitor`; this handler only reads the configuration (`JanitorConfig.from_env`),
takes the run's id and time from the scheduled event (a retried invocation gets the same event, so the
same run id and request ids) and its deadline from the context, and reports metrics.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from gg_reset.cleanup.janitor import JanitorConfig
from gg_reset.metric_names import JANITOR_REQUESTS_SENT, JANITOR_RUNS_NEEDING_ATTENTION, JANITOR_TO_ACT
from gg_reset.shell.janitor_wiring import janitor
from gg_reset.shell.observability import logger, metrics, tracer

TIME_RESERVE_MS = 30_000
"""Stop calling Greengrass and sending with this much of the invocation left: recording the run and the
notification fit in it."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cleaner = janitor()
    config = JanitorConfig.from_env()
    run_id = str(event.get("id") or context.aws_request_id)
    run = cleaner.run(
        config,
        run_id=run_id,
        scheduled_at=_event_time(event.get("time")),
        should_stop=lambda: context.get_remaining_time_in_millis() < TIME_RESERVE_MS,
    )
    counts = run.counts()
    metrics.add_metric(name=JANITOR_TO_ACT, unit=MetricUnit.Count, value=counts.get("act", 0))
    metrics.add_metric(name=JANITOR_REQUESTS_SENT, unit=MetricUnit.Count, value=counts["sent"])
    metrics.add_metric(
        name=JANITOR_RUNS_NEEDING_ATTENTION, unit=MetricUnit.Count, value=int(run.outcome.needs_attention)
    )
    return {"run_id": run.run_id, "outcome": run.outcome.value, "message": run.message, "counts": counts}


def _event_time(raw: object) -> datetime | None:
    """The scheduled event's `time` (`2026-01-01T03:00:00Z`); None if absent or unreadable."""
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
