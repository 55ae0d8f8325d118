"""The connectivity source through `LocalService`: AWS IoT fleet indexing (the simulator's `SearchIndex`)
tells a silent core apart, so its reset is forced at once instead of at the reset timeout. Evidence, not
proof: what the index says never skips the protection check, and a core it calls connected waits as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from gg_reset.domain.model import StepKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.local import LocalService
from gg_reset.local.runtime import WorkflowView

HOUR = 3600
POLICY = WorkflowPolicy(force_when_disconnected_for_s=HOUR)


@pytest.fixture
def svc() -> Iterator[LocalService]:
    with LocalService(seed=21, policy=POLICY) as service:
        yield service


def delete(svc: LocalService, gid: str) -> tuple[WorkflowView, float]:
    started = svc.clock.now()
    svc.request_deletion(gid)
    svc.run_until_idle()
    view = svc.ledger.get(gid)
    assert view is not None and view.workflow.finished_at is not None
    return view, (view.workflow.finished_at - started).total_seconds()


def test_a_core_disconnected_for_longer_than_the_threshold_is_forced_at_once(svc: LocalService) -> None:
    gid = svc.simulator.add_group(name="silent", core="offline")
    svc.fleet_index.set_group_connectivity(gid, False, svc.clock.now() - timedelta(hours=3))
    view, took = delete(svc, gid)
    assert view.state is WorkflowState.DELETED and view.forced
    assert took < POLICY.reset_timeout_s / 4, took
    escalated = [s for s in view.history if s.kind is StepKind.ESCALATED]
    assert len(escalated) == 1
    assert "silent_Core disconnected since" in escalated[0].detail and "(fleet index)" in escalated[0].detail


def test_a_core_disconnected_for_less_than_the_threshold_waits_for_the_deadline(svc: LocalService) -> None:
    gid = svc.simulator.add_group(name="just-gone", core="offline")
    svc.fleet_index.set_group_connectivity(gid, False, svc.clock.now() - timedelta(minutes=10))
    view, took = delete(svc, gid)
    assert view.state is WorkflowState.DELETED and view.forced  # forced, but only at the reset timeout
    assert took >= POLICY.reset_timeout_s
    checked = [s for s in view.history if s.kind is StepKind.CONNECTIVITY_CHECKED]
    assert len(checked) == 1 and "disconnected only since" in checked[0].detail


def test_a_connected_core_is_never_forced_early(svc: LocalService) -> None:
    """A slow core the index calls connected: its normal reset gets the whole timeout, then Force as ever."""
    gid = svc.simulator.add_group(name="slow", core="slow")
    view, took = delete(svc, gid)
    assert view.state is WorkflowState.DELETED
    assert took >= POLICY.reset_timeout_s
    assert not any(s.kind is StepKind.ESCALATED and "fleet index" in s.detail for s in view.history)
    assert any(
        s.kind is StepKind.CONNECTIVITY_CHECKED and "connected (fleet index)" in s.detail
        for s in view.history
    )


def test_an_answering_core_costs_no_connectivity_lookup(svc: LocalService) -> None:
    gid = svc.simulator.add_group(name="online", core="online")
    view, _ = delete(svc, gid)
    assert view.state is WorkflowState.DELETED and not view.forced
    assert sum(svc.fleet_index.calls.values()) == 0
    assert "GetCoreDefinitionVersion" not in svc.simulator.calls


def test_a_protected_disconnected_group_is_untouched(svc: LocalService) -> None:
    gid = svc.simulator.add_group(name="guarded", core="offline", tags={"gg-reset:protect": "true"})
    svc.fleet_index.set_group_connectivity(gid, False, svc.clock.now() - timedelta(days=2))
    view, _ = delete(svc, gid)
    assert view.state is WorkflowState.REJECTED
    assert svc.simulator.group_exists(gid) and svc.simulator.reset_count(gid) == 0


def test_protection_added_while_the_reset_waits_stops_the_early_force() -> None:
    """The index's answer leads to a write like any other: a stale protection check is read again first."""
    with LocalService(
        seed=22, policy=WorkflowPolicy(force_when_disconnected_for_s=HOUR, protection_freshness_s=0)
    ) as strict:
        late = strict.simulator.add_group(name="tagged-late", core="offline")
        strict.fleet_index.set_group_connectivity(late, False, strict.clock.now() - timedelta(hours=5))
        strict.request_deletion(late)
        strict.run_for(10)  # inspected, normal reset started
        strict.simulator.client().tag_resource(
            ResourceArn=strict.simulator.group_arn(late), tags={"gg-reset:protect": "true"}
        )
        strict.run_until_idle()
        view = strict.ledger.get(late)
        assert view is not None and view.state is WorkflowState.REJECTED
        assert "stopped before ResetDeployments(Force=True)" in view.reason
        assert strict.simulator.group_exists(late)


def test_without_a_source_nothing_asks_the_index() -> None:
    with LocalService(seed=23) as svc:
        gid = svc.simulator.add_group(name="silent", core="offline")
        view, took = delete(svc, gid)
        assert view.state is WorkflowState.DELETED and took >= WorkflowPolicy().reset_timeout_s
        assert sum(svc.fleet_index.calls.values()) == 0
