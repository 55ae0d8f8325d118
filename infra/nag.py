"""cdk-nag 3.x acknowledgments: one helper so every one names its rule pack and carries a real reason.

cdk-nag 3 reports through CDK's policy-validation framework: an unacknowledged finding fails synthesis, and
`Validations.of(construct).acknowledge(...)` accepts a finding for that construct and everything below it.
Findings with several targets (IAM5) are acknowledged one by one: `AwsSolutions-IAM5[Resource::<arn>]`.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

PACK: Final = "AwsSolutions"
MIN_REASON_LENGTH: Final = 60


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge the AwsSolutions `finding` (e.g. `AwsSolutions-IAM5[Resource::*]`) on `scope`."""
    if not finding.startswith(f"{PACK}-"):
        raise ValueError(f"{finding!r} is not an {PACK} rule id")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"the reason for acknowledging {finding} must say why, specifically: {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{finding}", reason=reason))
