"""The domain's own vocabulary for Greengrass: force policies, deployment statuses and types.

Defined here, in the pure core, so the workflow depends on nothing outside `domain/`; the event contracts
(`gg_reset.contracts`) and the settings import them from here.
"""

from __future__ import annotations

from enum import StrEnum


class ForcePolicy(StrEnum):
    """When a reset may use `Force=True`."""

    AUTO = "auto"  # normal reset first; Force when the core stays silent or the reset fails
    NEVER = "never"  # normal reset only; a silent core ends the request FAILED
    IMMEDIATELY = "immediately"  # Force=True straight away


class DeploymentStatus(StrEnum):
    BUILDING = "Building"
    IN_PROGRESS = "InProgress"
    SUCCESS = "Success"
    FAILURE = "Failure"


class DeploymentType(StrEnum):
    NEW = "NewDeployment"
    REDEPLOYMENT = "Redeployment"
    RESET = "ResetDeployment"
    FORCE_RESET = "ForceResetDeployment"


RESET_DEPLOYMENT_TYPES = frozenset({DeploymentType.RESET, DeploymentType.FORCE_RESET})


class RemediationPolicy(StrEnum):
    """What a failed `NewDeployment`/`Redeployment` of a group leads to (tag `gg-reset:on-failure`)."""

    RESET = "reset"
    """Reset the group's deployments (with the force fallback): every function leaves the core. Right for
    test and ephemeral groups; the default."""
    ROLLBACK = "rollback"
    """Redeploy the group's last successful deployment; if there is none, or it fails too, the configured
    fallback (`WorkflowPolicy.rollback_fallback`)."""
    NOTIFY = "notify"
    """Record and notify only: no Greengrass write."""
