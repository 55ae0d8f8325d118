"""The soak: a mixed fleet through the whole local service with every simulator fault at once.

`make soak` runs it with 1,000 requests (`GG_RESET_SOAK_REQUESTS`) and prints the figures; `make test`
runs a 120-request slice of the same code. What must hold, whatever the faults:
- every request ends in a terminal state, and none is lost (each request id has its workflow);
- no group gets two resets of one kind from one workflow (client tokens), nor a deletion twice;
- a protected group and a dry-run group get no Greengrass write;
- nothing reaches the dead-letter queue.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from dataclasses import dataclass

from gg_reset.contracts import DeploymentType, ForcePolicy
from gg_reset.domain.model import WorkflowState
from gg_reset.local import LocalService
from gg_reset.local.faults import FaultProfile

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
KINDS = ("online", "online", "online", "offline", "failing", "flaky", "slow", "protected", "dry-run", "gone")
DUPLICATED_REQUESTS = 0.20


@dataclass
class Sent:
    group_id: str
    kind: str
    request_id: str


def test_soak_under_every_fault_loses_nothing_and_never_writes_where_it_must_not() -> None:
    rng = random.Random(SEED)
    started = time.perf_counter()
    with LocalService(seed=SEED, faults=ALL_FAULTS, greengrass_rps=10) as svc:
        sent: list[Sent] = []
        for n in range(REQUESTS):
            kind = rng.choice(KINDS)
            core = {"protected": "online", "dry-run": "online", "gone": "online"}.get(kind, kind)
            tags = {"gg-reset:protect": "true"} if kind == "protected" else {}
            gid = svc.fleet.add_group(core=core, tags=tags, name=f"soak-{kind}-{n:05d}")
            if kind == "gone":
                svc.simulator.remove_group(gid)
            options: dict[str, object] = {"dry_run": kind == "dry-run"}
            if rng.random() < 0.1:
                options["force"] = ForcePolicy.NEVER
            send = svc.request_deletion if rng.random() < 0.7 else svc.request_reset
            request_id = send(gid, **options)  # type: ignore[arg-type]
            if rng.random() < DUPLICATED_REQUESTS:
                send(gid, request_id=request_id, **options)  # type: ignore[arg-type]
            sent.append(Sent(gid, kind, request_id))
        svc.run_until_idle()
        workflows = svc.ledger.all_workflows()

        outcomes: Counter[str] = Counter()
        lost, not_terminal, double, wrongly_written = [], [], [], []
        for item in sent:
            views = workflows.get(item.group_id, [])
            view = next((v for v in views if item.request_id in v.request_ids), None)
            if view is None:
                lost.append(item)
                continue
            outcomes[view.state.value] += 1
            if not view.state.terminal:
                not_terminal.append(item)
            deployments = svc.simulator.deployments(item.group_id)
            normal = sum(d.deployment_type is DeploymentType.RESET for d in deployments)
            forced = sum(d.deployment_type is DeploymentType.FORCE_RESET for d in deployments)
            if normal > len(views) or forced > len(views):
                double.append((item, normal, forced))
            if item.kind in ("protected", "dry-run") and (
                svc.simulator.reset_count(item.group_id) or not svc.fleet.exists(item.group_id)
            ):
                wrongly_written.append(item)
        wall = time.perf_counter() - started
        simulated = svc.clock.now()
        print(
            f"\nsoak: {len(sent)} requests ({REQUESTS} groups), seed {SEED}: "
            f"{100 * (len(sent) - len(not_terminal) - len(lost)) / len(sent):.1f}% terminal, "
            f"{len(lost)} lost, {len(double)} double resets, {len(wrongly_written)} writes on protected or "
            f"dry-run groups, {len(svc.dead_letters)} dead letters; "
            f"outcomes {dict(sorted(outcomes.items()))}; "
            f"{sum(svc.fleet.calls.values())} Greengrass calls ({svc.simulator.throttled_count} throttled, "
            f"{svc.simulator.server_error_count} 5xx), {len(svc.simulator.dropped_events)} events dropped; "
            f"simulated until {simulated:%H:%M:%S}, {wall:.1f} s wall"
        )
        assert lost == []
        assert not_terminal == []
        assert double == []
        assert wrongly_written == []
        assert svc.dead_letters == []
        assert svc.ledger.active_groups() == []
        assert outcomes[WorkflowState.REJECTED.value] >= sum(1 for s in sent if s.kind == "protected")
