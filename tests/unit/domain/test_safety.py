"""The safety layers (account guard, deny list, allow list, protection tag), alone and in the workflow."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gg_reset.contracts import DeploymentStatus, DeploymentType
from gg_reset.domain.actions import DeleteGroup, InspectGroup
from gg_reset.domain.events import DeploymentStatusReported, GroupInspected, RequestReceived, ResetAccepted
from gg_reset.domain.model import GroupRecord, Request, RequestKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.safety import SafetyRules
from gg_reset.domain.workflow import transition
from support.fakes import EPOCH

PROTECTED = {"gg-reset:protect": "True "}


@pytest.mark.parametrize(
    ("rules", "group_id", "name", "tags", "refused"),
    [
        (SafetyRules(), "g-1", "edge-01", {}, None),
        (SafetyRules(), "g-1", "edge-01", PROTECTED, "group is protected by tag gg-reset:protect=true"),
        (SafetyRules(deny=("prod-*",)), "g-1", "prod-17", {}, "group matches the deny list ('prod-*')"),
        (SafetyRules(deny=("g-1",)), "g-1", None, {}, "group matches the deny list ('g-1')"),
        (SafetyRules(allow=("test-*",)), "g-1", "prod-17", {}, "group is not on the allow list"),
        (SafetyRules(allow=("test-*",)), "g-1", "test-3", {}, None),
        (SafetyRules(allow=("g-1",)), "g-1", None, {}, None),
        # deny wins over allow
        (SafetyRules(allow=("*",), deny=("*-canary",)), "g", "a-canary", {}, "group matches the deny list"),
        # globs are case-sensitive, as group names are
        (SafetyRules(deny=("PROD-*",)), "g-1", "prod-17", {}, None),
        (SafetyRules(accounts=("111111111111",), account="111111111111"), "g", "n", {}, None),
        (
            SafetyRules(accounts=("111111111111",), account="222222222222"),
            "g",
            "n",
            {},
            "account guard: this deployment acts only in account(s) 111111111111, not in 222222222222",
        ),
        (SafetyRules(accounts=("111111111111",), account=None), "g", "n", {}, "account guard"),
    ],
)
def test_refusal(
    rules: SafetyRules, group_id: str, name: str | None, tags: dict[str, str], refused: str | None
) -> None:
    reason = rules.refusal(group_id, name, tags)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(refused)


def policy(**rules: object) -> WorkflowPolicy:
    return WorkflowPolicy(safety=SafetyRules(**rules))  # type: ignore[arg-type]


def request(kind: RequestKind = RequestKind.DELETION) -> RequestReceived:
    return RequestReceived(Request("r1", kind, "g-1", EPOCH, requested_by="janitor"))


@pytest.mark.parametrize(
    "rules",
    [
        {"deny": ("edge-*",)},
        {"allow": ("lab-*",)},
        {"accounts": ("111111111111",), "account": "999999999999"},
    ],
)
def test_a_request_for_a_group_outside_the_rules_is_rejected_with_the_reason_and_nothing_written(
    rules: dict[str, object],
) -> None:
    rules_policy = policy(**rules)
    record = transition(GroupRecord("g-1"), request(), EPOCH, rules_policy).record
    decision = transition(record, GroupInspected(exists=True, name="edge-01"), EPOCH, rules_policy)
    assert decision.record.last is not None
    assert decision.record.last.state is WorkflowState.REJECTED
    assert decision.record.last.reason == rules_policy.safety.refusal("g-1", "edge-01", {})
    assert decision.actions == ()


def test_a_group_denied_while_its_reset_ran_is_not_deleted() -> None:
    lenient = policy()
    record = transition(GroupRecord("g-1"), request(), EPOCH, lenient).record
    record = transition(record, GroupInspected(exists=True, name="edge-01"), EPOCH, lenient).record
    record = transition(record, ResetAccepted("d-1", forced=False), EPOCH, lenient).record
    later = EPOCH + timedelta(seconds=lenient.protection_freshness_s + 1)
    strict = replace(lenient, safety=SafetyRules(deny=("edge-*",)))  # the deny list changed meanwhile
    success = DeploymentStatusReported("d-1", DeploymentType.RESET, DeploymentStatus.SUCCESS)
    decision = transition(record, success, later, strict)
    assert decision.actions == (InspectGroup("g-1", recheck=True),)  # stale: read again before DeleteGroup
    decision = transition(decision.record, GroupInspected(exists=True, name="edge-01"), later, strict)
    assert decision.record.last is not None
    assert decision.record.last.state is WorkflowState.REJECTED
    assert (
        "deny list" in decision.record.last.reason
        and "stopped before DeleteGroup" in decision.record.last.reason
    )
    assert not any(isinstance(a, DeleteGroup) for a in decision.actions)
