"""cdk-nag 3.x acknowledgments: one helper so every one names its rule pack and carries a real reason.

cdk-nag 3 reports through CDK's policy-validation framework: an unacknowledged finding fails synthesis, and
`Validations.of(construct).acknowledge(...)` accepts a finding for that construct and everything below it.
Findings with several targets (IAM5) are acknowledged one by one: `AwsSolutions-IAM5[Resource::<arn>]`.

`GgResetAwsSolutionsChecks` is the pack the app runs: cdk-nag's AwsSolutions pack with its EVB1 rule
evaluated without the deprecated property cdk-nag reads (see `event_bus_policy_is_open`).
The findings of this pack and of the NIST 800-53 rev 5 pack, with their status: docs/security-findings.md.
"""

from __future__ import annotations

from typing import Any, Final, cast

import jsii
from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_events as events
from cdk_nag import AwsSolutionsChecks, IApplyRule, NagMessageLevel, NagRuleCompliance
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


# --- AwsSolutions-EVB1 without the deprecated CfnEventBusPolicy#principal ---------------------------------

EVB1: Final = "EVB1"


def event_bus_policy_is_open(node: events.CfnEventBusPolicy) -> bool:
    """cdk-nag's AwsSolutions-EVB1 (EventBusOpenAccess): an event bus policy that lets anyone (`*`) put
    events without a condition, in the current form (`Statement`) or the legacy one (`Principal` with
    `Condition`).

    Read from the rendered properties: cdk-nag 3.0.2 reads the deprecated `CfnEventBusPolicy#principal`
    property itself, so every synthesis of a stack with a bus policy printed a deprecation warning, even
    though gg-reset writes the current form (`EventBus.add_to_resource_policy`).
    """
    stack = Stack.of(node)
    rendered = stack.resolve(node._cfn_properties)  # the L1's props, no deprecated accessor involved
    if rendered.get("principal") == "*":
        condition = rendered.get("condition") or {}
        if any(condition.get(part) is None for part in ("key", "type", "value")):
            return True
    statement = rendered.get("statement")
    if isinstance(statement, dict) and statement.get("Effect") == "Allow":
        return _names_everyone(statement.get("Principal")) and not statement.get("Condition")
    return False


def _names_everyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


@jsii.implements(IApplyRule)
class _EventBusOpenAccess:
    """AwsSolutions-EVB1 as cdk-nag applies it (same id, level and finding), on one bus policy."""

    def __init__(self, node: events.CfnEventBusPolicy) -> None:
        self._node = node

    @property
    def node(self) -> CfnResource:
        return self._node

    @property
    def rule_suffix_override(self) -> str:
        return EVB1

    @property
    def info(self) -> str:
        return "The event bus policy allows for open access."

    @property
    def explanation(self) -> str:
        return (
            "A policy that admits every principal ('*') without a condition lets anyone put events on the "
            "bus. Limit it with a condition, such as membership of an AWS organization."
        )

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    def rule(self, node: CfnResource) -> NagRuleCompliance:
        assert isinstance(node, events.CfnEventBusPolicy)
        if event_bus_policy_is_open(node):
            return NagRuleCompliance.NON_COMPLIANT
        return NagRuleCompliance.COMPLIANT


class GgResetAwsSolutionsChecks(AwsSolutionsChecks):
    """cdk-nag's AwsSolutions pack, every rule unchanged, except that AwsSolutions-EVB1 (the only rule of
    the pack that applies to an `AWS::Events::EventBusPolicy`) reads the rendered properties instead of the
    deprecated `CfnEventBusPolicy#principal` (see `event_bus_policy_is_open`). Drop this class once
    cdk-nag's own rule stops reading `principal`."""

    def _check_resource(self, node: CfnResource) -> None:
        if isinstance(node, events.CfnEventBusPolicy):
            # Read-only properties: the Protocol's setters are for jsii's side, which never sets them.
            self._apply_rule(cast(IApplyRule, _EventBusOpenAccess(node)))
            return
        super()._check_resource(node)
