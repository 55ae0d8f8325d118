"""The soak: a mixed fleet through the whole local service with every simulator fault at once, run twice:
without a request budget (every 429 reaches the workflow's retries) and with one of 10 req/s.

`make soak` runs it with 1,000 requests (`GG_RESET_SOAK_REQUESTS`) and prints the figures; `make test`
runs a 120-request slice of the same code. The fleet (`soak_fleet.py`): request groups (online, offline,
failing, flaky, slow, protected, dry-run, gone), remediation groups (a failed deployment, no request:
on-failure rollback, notify, the default reset, and rollback on a core that fails the redeployment too),
forged Failure events (a deployment that never existed, from this region or another one), and, once all
that is done, a dry run then a late Failure event of each roll back's own redeployment. What must hold,
whatever the faults:
- every request ends in a terminal state, and none is lost (each request id has its workflow);
- every group ends in the state its kind expects (`Sent.expected`, `REMEDIATION_ENDS`; a forged event from
  this region ends REJECTED, one from another region opens nothing);
- no group gets two resets of one kind from one workflow (client tokens), two redeployments from one
  remediation, nor a deletion twice;
- a protected group, a dry-run group and a notify group get no Greengrass write, nor does a forged or late
  event (no write at all, not even an attempt);
- nothing reaches the dead-letter queue.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from reliability.soak_fleet import (
    ALLOWED_WRITES,
    DRY_RUN_AFTER_ROLLBACK,
    REMEDIATION_ENDS,
    Forged,
    Remediation,
    Sent,
    WriteLog,
    build,
    describe,
    put_failure,
)

from gg_reset.contracts import DeploymentType
from gg_reset.domain.model import WorkflowState
from gg_reset.local import LocalService
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import DeploymentRecord
from gg_reset.local.runtime import WorkflowView

REQUESTS = int(os.environ.get("GG_RESET_SOAK_REQUESTS", "120"))
SEED = int(os.environ.get("GG_RESET_SOAK_SEED", "20261125"))

ALL_FAULTS = FaultProfile(
    requests_per_second=10,
    server_error_rate=0.05,
    lost_response_rate=0.03,
    latency_s=0.05,
    drop_event_rate=0.10,
    duplicate_event_rate=0.20,
    event_delay_s=20,
)
SHOWN = 25
"""Rows of each kind of failure printed before the assertions."""


@pytest.mark.parametrize("greengrass_rps", [None, 10], ids=["unpaced", "paced-10rps"])
def test_soak_under_every_fault_loses_nothing_and_never_writes_where_it_must_not(
    greengrass_rps: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.perf_counter()
    # ERROR: every 429 of the unpaced run is a WARNING line, thousands of them at full size.
    with LocalService(seed=SEED, faults=ALL_FAULTS, greengrass_rps=greengrass_rps, log_level="ERROR") as svc:
        writes = WriteLog()
        monkeypatch.setattr(svc.simulator, "handle", writes.wrap(svc.simulator.handle))
        fleet = build(svc, requests=REQUESTS, seed=SEED)
        svc.run_until_idle()

        # A dry run on every group that got a redeployment, so the group's last workflow is no longer the
        # roll back; then a late Failure event of that redeployment (as EventBridge may deliver it again).
        writes.phase = 2
        late: list[tuple[Remediation, DeploymentRecord]] = []
        for remediation in fleet.remediations:
            gid = remediation.group_id
            redeployments = [
                d for d in svc.simulator.deployments(gid) if d.deployment_type is DeploymentType.REDEPLOYMENT
            ]
            if redeployments:
                late.append((remediation, redeployments[0]))
                fleet.requests.append(
                    Sent(gid, DRY_RUN_AFTER_ROLLBACK, svc.request_reset(gid, dry_run=True), False, False)
                )
        svc.run_until_idle()
        writes.phase = 3
        before_late = svc.ledger.all_workflows()
        deployments_before_late = {r.group_id: len(svc.simulator.deployments(r.group_id)) for r, _ in late}
        for remediation, redeployment in late:
            put_failure(
                svc,
                remediation.group_id,
                redeployment.deployment_id,
                DeploymentType.REDEPLOYMENT,
                at=redeployment.updated_at,
            )
        svc.run_until_idle()
        workflows = svc.ledger.all_workflows()

        def find(group_id: str, request_id: str) -> WorkflowView | None:
            return next((v for v in workflows.get(group_id, []) if request_id in v.request_ids), None)

        lost: list[object] = []
        unexpected: list[tuple[str, str, str]] = []  # kind, expected, what happened
        double: list[tuple[str, str]] = []
        wrongly_written: list[tuple[str, list[str]]] = []
        forged_writes: list[tuple[str, list[str]]] = []
        late_remediations: list[tuple[str, str]] = []
        undelivered = 0

        for item in fleet.requests:
            view = find(item.group_id, item.request_id)
            if view is None:
                lost.append(item)
                continue
            expected = item.expected(view, svc)
            if view.state not in expected:
                unexpected.append((item.label, "|".join(sorted(expected)), describe(view)))
        for remediation in fleet.remediations:
            view = find(remediation.group_id, remediation.request_id)
            if view is None and not remediation.failure_delivered(svc):
                undelivered += 1  # every copy of the Failure event was dropped: nothing to remediate
            elif view is None:
                lost.append(remediation)
            elif view.state is not REMEDIATION_ENDS[remediation.kind]:
                unexpected.append(
                    (remediation.kind, REMEDIATION_ENDS[remediation.kind].value, describe(view))
                )
        for forged in fleet.forged:
            _check_forged(forged, workflows.get(forged.group_id, []), unexpected)

        kinds = fleet.kinds()
        allowed = {s.group_id: s.allowed_writes for s in fleet.requests if s.kind != DRY_RUN_AFTER_ROLLBACK}
        for group_id, kind in kinds.items():
            views = workflows.get(group_id, [])
            deployments = svc.simulator.deployments(group_id)
            count = Counter(d.deployment_type for d in deployments)
            if count[DeploymentType.RESET] > len(views) or count[DeploymentType.FORCE_RESET] > len(views):
                double.append(
                    (kind, f"{count[DeploymentType.RESET]}+{count[DeploymentType.FORCE_RESET]} resets")
                )
            # Each redeployment is the one redeployment of one remediation workflow (its client token).
            redeployed = {
                d.deployment_id for d in deployments if d.deployment_type is DeploymentType.REDEPLOYMENT
            }
            owned = {v.workflow.rollback_deployment_id for v in views} - {None}
            if redeployed - owned:
                double.append((kind, f"{len(redeployed)} redeployments, {len(owned)} made by a roll back"))
            if sum(v.state is WorkflowState.DELETED for v in views) > 1:
                double.append((kind, "deleted twice"))
            made = writes.ops(group_id)
            untouched = len(deployments) == fleet.baseline[group_id] and (
                kind == "gone" or svc.fleet.exists(group_id)
            )
            if kind.startswith(("forged", "foreign")):
                if made or not untouched:
                    forged_writes.append((kind, made))
                continue
            may = allowed.get(group_id, ALLOWED_WRITES.get(kind, frozenset()))
            # After the first run only dry runs and late events come: no write is right in phases 2 and 3.
            if (
                set(writes.ops(group_id, phase=1)) - may
                or writes.ops(group_id, phase=2)
                or (not may and not untouched)
            ):
                wrongly_written.append((kind, made))
        for remediation, _ in late:
            gid = remediation.group_id
            new = {v.workflow.workflow_id for v in workflows.get(gid, [])} - {
                v.workflow.workflow_id for v in before_late.get(gid, [])
            }
            if new or len(svc.simulator.deployments(gid)) != deployments_before_late[gid]:
                late_remediations.append((remediation.kind, describe(find_new(workflows.get(gid, []), new))))
            if writes.ops(gid, phase=3):
                forged_writes.append(
                    (f"late Failure of {remediation.kind}'s redeployment", writes.ops(gid, phase=3))
                )

        every = [v for views in workflows.values() for v in views]
        not_terminal = [v for v in every if not v.state.terminal]
        outcomes = Counter(v.state.value for v in every)
        tracked = len(fleet.requests) + len(fleet.remediations) - undelivered
        wall = time.perf_counter() - started
        label = "unpaced" if greengrass_rps is None else f"paced {greengrass_rps:g} req/s"
        print(
            f"\nsoak [{label}]: {len(fleet.requests)} requests ({REQUESTS} groups) + "
            f"{len(fleet.remediations)} failed deployments ({undelivered} unannounced: event dropped) + "
            f"{len(fleet.forged)} forged events + "
            f"{len(late)} late events, seed {SEED}: "
            f"{100 * (tracked - len(not_terminal) - len(lost)) / tracked:.1f}% terminal, {len(lost)} lost, "
            f"{len(double)} double resets/deletes/redeployments, {len(wrongly_written)} writes on protected, "
            f"dry-run or notify groups (or beyond their kind), {len(forged_writes)} writes caused by forged "
            f"or late events, {len(late_remediations)} remediations of our own redeployments, "
            f"{len(unexpected)} in an unexpected state, {len(svc.dead_letters)} dead letters; "
            f"outcomes {dict(sorted(outcomes.items()))}; "
            f"{sum(svc.fleet.calls.values())} Greengrass calls ({svc.simulator.throttled_count} throttled, "
            f"{svc.simulator.server_error_count} 5xx), {len(svc.simulator.dropped_events)} events dropped; "
            f"simulated until {svc.clock.now():%H:%M:%S}, {wall:.1f} s wall"
        )
        if unexpected:
            tally = Counter(
                f"{kind}: {happened.split(' ', 1)[0]} not {expected}"
                for kind, expected, happened in unexpected
            )
            print(f"  in an unexpected state, by kind: {dict(tally.most_common())}")
        for title, rows in (
            ("in an unexpected state", unexpected),
            ("double", double),
            ("written", wrongly_written),
            ("written by a forged or late event", forged_writes),
            ("remediated a redeployment of ours", late_remediations),
        ):
            for row in rows[:SHOWN]:
                print(f"  {title}: {row}")
            if len(rows) > SHOWN:
                print(f"  {title}: ... and {len(rows) - SHOWN} more")
        assert lost == []
        assert not_terminal == []
        assert svc.ledger.active_groups() == []
        assert svc.dead_letters == []
        assert double == []
        assert wrongly_written == []
        assert forged_writes == []
        assert late_remediations == []
        assert unexpected == []


def _check_forged(
    forged: Forged,
    views: list[WorkflowView],
    unexpected: list[tuple[str, str, str]],
) -> None:
    """From this region: one workflow, the remediation's, REJECTED. From another region: no workflow."""
    if forged.foreign:
        if views:
            unexpected.append((forged.kind, "no workflow", describe(views[0])))
        return
    view = next((v for v in views if forged.request_id in v.request_ids), None)
    if view is None or view.state is not WorkflowState.REJECTED or len(views) != 1:
        unexpected.append((forged.kind, WorkflowState.REJECTED.value, describe(view)))


def find_new(views: list[WorkflowView], new: set[str]) -> WorkflowView | None:
    return next((v for v in views if v.workflow.workflow_id in new), None)
