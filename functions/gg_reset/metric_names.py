"""Names of the custom metrics the Lambdas emit (namespace `settings.METRICS_NAMESPACE`, dimension `service`).

One list for the code that emits them and the stack that charts and alarms on them (`infra/constructs/
monitoring.py`), so a renamed metric cannot leave a dashboard or an alarm watching nothing. Standard library
only: the CDK app imports it without the Lambda runtime's dependencies.
"""

from __future__ import annotations

from typing import Final

# Workflow decisions (adapters/telemetry.py).
REQUESTS_RECEIVED: Final = "RequestsReceived"
FORCE_FALLBACKS: Final = "ForceFallbacks"
ROLLBACK_FALLBACKS: Final = "RollbackFallbacks"
"""Roll backs that could not be made (no good deployment) or failed: the configured fallback took over."""
WORKFLOW_DURATION: Final = "WorkflowDurationSeconds"
UNCONFIRMED_FAILURES: Final = "UnconfirmedFailureEvents"
"""Failure events whose deployment GetDeploymentStatus did not confirm as failed (unknown to the group, or
in another status): the remediation ended REJECTED with no Greengrass write. A forged or misrouted event:
alarmed."""
OUTCOME_PREFIX: Final = "Outcome_"

# Worker (handlers/worker.py).
WORK_MESSAGES: Final = "WorkMessages"
MALFORMED_STATUS_EVENTS: Final = "MalformedStatusEvents"
FOREIGN_STATUS_EVENTS: Final = "ForeignStatusEvents"
"""Status events claiming another account or region than the worker's own: dropped (the rule should never
pass one, so one is a forged or misrouted event: alarmed)."""

# Sweeper (handlers/sweeper.py).
SWEPT_WORKFLOWS: Final = "SweptWorkflows"
SWEEP_FAILURES: Final = "SweepFailures"
"""Groups a sweep tried to drive and could not (an exception, logged with the group ids)."""

# Janitor (handlers/janitor.py).
JANITOR_TO_ACT: Final = "JanitorGroupsToAct"
"""Groups a janitor run selected and the safety rules allow (whether or not it sent requests)."""
JANITOR_REQUESTS_SENT: Final = "JanitorRequestsSent"
JANITOR_RUNS_NEEDING_ATTENTION: Final = "JanitorRunsNeedingAttention"
"""Runs that were capped, failed, ran out of time, or could not send every request."""


def outcome_metric(state: str) -> str:
    """`Outcome_<STATE>`: one count per workflow that ended in that terminal state."""
    return f"{OUTCOME_PREFIX}{state}"
