"""Metrics from decisions, through Powertools (CloudWatch embedded metric format)."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from gg_reset.domain.model import StepKind
from gg_reset.domain.workflow import Decision
from gg_reset.metric_names import (
    FORCE_FALLBACKS,
    REQUESTS_RECEIVED,
    ROLLBACK_FALLBACKS,
    UNCONFIRMED_FAILURES,
    WORKFLOW_DURATION,
    outcome_metric,
)


class PowertoolsTelemetry:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def record(self, decision: Decision) -> None:
        for _, step in decision.steps:
            if step.kind is StepKind.REQUESTED:
                self.metrics.add_metric(name=REQUESTS_RECEIVED, unit=MetricUnit.Count, value=1)
            elif step.kind is StepKind.ESCALATED:
                self.metrics.add_metric(name=FORCE_FALLBACKS, unit=MetricUnit.Count, value=1)
            elif step.kind is StepKind.FELL_BACK:
                self.metrics.add_metric(name=ROLLBACK_FALLBACKS, unit=MetricUnit.Count, value=1)
            elif step.kind is StepKind.FAILURE_UNCONFIRMED:
                self.metrics.add_metric(name=UNCONFIRMED_FAILURES, unit=MetricUnit.Count, value=1)
        for workflow in decision.finished:
            self.metrics.add_metric(name=outcome_metric(workflow.state.value), unit=MetricUnit.Count, value=1)
            if workflow.finished_at is not None:
                seconds = (workflow.finished_at - workflow.started_at).total_seconds()
                self.metrics.add_metric(name=WORKFLOW_DURATION, unit=MetricUnit.Seconds, value=seconds)
