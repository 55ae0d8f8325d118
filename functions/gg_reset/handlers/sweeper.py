"""Sweeper Lambda, on a schedule: drives every workflow that is due.

Timers (delayed messages on the work queue) drive every workflow at its due time; the sweeper is the
safety net behind them. It takes the workflows overdue by more than `SWEEP_GRACE_S` (a lost timer, a
worker that crashed holding a call's lease, a status event that never came) and drives them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from gg_reset.metric_names import SWEEP_FAILURES, SWEPT_WORKFLOWS
from gg_reset.settings import SWEEP_GRACE_S
from gg_reset.shell.observability import logger, metrics, tracer
from gg_reset.shell.wiring import service

TIME_RESERVE_MS = 30_000
"""Stop driving groups with this much of the invocation left: one group's calls fit in it, and what is
not reached stays due for the next sweep instead of the invocation timing out."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = service()
    until = svc.clock.now() + timedelta(milliseconds=context.get_remaining_time_in_millis() - TIME_RESERVE_MS)
    report = svc.sweep(
        should_stop=lambda: context.get_remaining_time_in_millis() < TIME_RESERVE_MS,
        grace=timedelta(seconds=SWEEP_GRACE_S),
        until=until,
    )
    metrics.add_metric(name=SWEPT_WORKFLOWS, unit=MetricUnit.Count, value=len(report.looked_at))
    if report.failed:
        metrics.add_metric(name=SWEEP_FAILURES, unit=MetricUnit.Count, value=len(report.failed))
        logger.error("sweep could not drive some groups", extra={"groups": list(report.failed)})
    return {"swept": len(report.looked_at), "failed": list(report.failed)}
