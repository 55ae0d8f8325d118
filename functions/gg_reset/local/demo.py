"""The demo scenario: a mixed simulated fleet, a request for every group, and an outcome report.

Every group kind has an expected outcome; the report says for each request whether it got it, and the
CLI exits non-zero when anything is off (a request not terminal, a protected group touched, an
unexpected state), so `make demo` is also a smoke test of the whole service.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gg_reset.codec import to_plain
from gg_reset.contracts import ForcePolicy
from gg_reset.domain.model import WorkflowState
from gg_reset.local.faults import FaultProfile
from gg_reset.local.runtime import LocalService, RunStats, WorkflowView

DEFAULT_MIX: dict[str, int] = {
    "online": 30,
    "offline": 20,
    "failing": 10,
    "flaky": 10,
    "slow": 5,
    "protected": 5,
    "never-deployed": 5,
    "already-deleted": 5,
    "failed-deployment": 10,
    "force-never": 3,
}
"""Relative weights of the group kinds in the demo fleet."""

S = WorkflowState
EXPECTED: dict[str, dict[str, frozenset[WorkflowState]]] = {
    # kind -> request kind -> acceptable terminal states
    "online": {
        "deletion": frozenset({S.DELETED}),
        "reset": frozenset({S.RESET}),
        "dry-run": frozenset({S.PLANNED}),
    },
    "offline": {
        "deletion": frozenset({S.DELETED}),
        "reset": frozenset({S.RESET}),
        "dry-run": frozenset({S.PLANNED}),
    },
    "failing": {
        "deletion": frozenset({S.DELETED}),
        "reset": frozenset({S.RESET}),
        "dry-run": frozenset({S.PLANNED}),
    },
    "flaky": {
        "deletion": frozenset({S.DELETED}),
        "reset": frozenset({S.RESET}),
        "dry-run": frozenset({S.PLANNED}),
    },
    "slow": {
        "deletion": frozenset({S.DELETED}),
        "reset": frozenset({S.RESET}),
        "dry-run": frozenset({S.PLANNED}),
    },
    "protected": {"deletion": frozenset({S.REJECTED}), "reset": frozenset({S.REJECTED})},
    "never-deployed": {"deletion": frozenset({S.DELETED}), "reset": frozenset({S.RESET})},
    "already-deleted": {"deletion": frozenset({S.GONE}), "reset": frozenset({S.GONE})},
    "failed-deployment": {"remediation": frozenset({S.RESET})},
    "force-never": {"deletion": frozenset({S.FAILED}), "reset": frozenset({S.FAILED})},
}
FORCE_EXPECTED = {"offline", "failing"}
"""Kinds whose resets can only complete with Force=True (their cores are silent or failing)."""
FORCE_EXPECTED_WHEN_PROMPT = {"slow"}
"""A slow core answers after the reset timeout: forced, unless throttling delayed gg-reset's own polls and
deadline checks until after the core had answered (then the normal reset succeeded, which is right)."""


@dataclass
class PlannedRequest:
    group_id: str
    group_kind: str
    request_kind: str
    request_id: str


@dataclass
class DemoResult:
    entries: list[dict[str, Any]]
    stats: RunStats
    api_calls: Counter[str]
    simulated_seconds: float
    wall_seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def outcomes(self) -> Counter[str]:
        return Counter(str(e["state"]) for e in self.entries)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": len(self.entries),
            "outcomes": dict(sorted(self.outcomes.items())),
            "force_fallbacks": self.stats.force_fallbacks,
            "forced_requests": sum(1 for e in self.entries if e["forced"]),
            "api_calls": dict(sorted(self.api_calls.items())),
            "worker_invocations": self.stats.worker_invocations,
            "messages": self.stats.messages,
            "redeliveries": self.stats.redeliveries,
            "sweeps": self.stats.sweeps,
            "notifications": len(self.stats.notifications),
            "simulated_seconds": round(self.simulated_seconds, 1),
            "wall_seconds": round(self.wall_seconds, 2),
            "problems": self.problems,
        }

    def report(self) -> dict[str, Any]:
        return {"summary": self.summary(), "requests": self.entries}


def parse_mix(text: str | None) -> dict[str, int]:
    """`online=3,offline=1` -> weights; unknown kinds are an error that lists the known ones."""
    if not text:
        return dict(DEFAULT_MIX)
    mix: dict[str, int] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in DEFAULT_MIX:
            raise ValueError(f"unknown group kind {name!r} in --mix; choose from {', '.join(DEFAULT_MIX)}")
        try:
            mix[name] = int(weight) if weight else 1
        except ValueError as exc:
            raise ValueError(f"weight of {name!r} in --mix must be a whole number, got {weight!r}") from exc
        if mix[name] < 0:
            raise ValueError(f"weight of {name!r} in --mix must not be negative")
    if not any(mix.values()):
        raise ValueError("--mix gives every kind a weight of 0")
    return mix


def fleet_kinds(groups: int, mix: Mapping[str, int], rng: random.Random) -> list[str]:
    """`groups` kinds in the proportions of `mix` (largest remainder), in a seeded random order."""
    total = sum(mix.values())
    exact = {k: groups * w / total for k, w in mix.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[: groups - sum(counts.values())]:
        counts[k] += 1
    kinds = [k for k, n in counts.items() for _ in range(n)]
    rng.shuffle(kinds)
    return kinds


def run_demo(
    *,
    groups: int = 300,
    seed: int = 7,
    mix: Mapping[str, int] | None = None,
    faults: FaultProfile | None = None,
    greengrass_rps: float | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> DemoResult:
    """`greengrass_rps`: the service's request budget; by default the simulated API's quota (a
    deployment configured for its account's quota), unpaced when there is none."""
    rng = random.Random(seed)
    if greengrass_rps is None and faults is not None:
        greengrass_rps = faults.requests_per_second
    kinds = fleet_kinds(groups, mix or DEFAULT_MIX, rng)
    started = time.perf_counter()
    with LocalService(seed=seed, faults=faults, log_level="ERROR", greengrass_rps=greengrass_rps) as svc:
        epoch = svc.clock.now()
        planned: list[PlannedRequest] = []
        protected_groups: list[str] = []
        for index, kind in enumerate(kinds):
            planned.append(_setup_group(svc, kind, index, rng, protected_groups))

        def progress(_: RunStats) -> None:
            if on_progress is not None:
                on_progress(sum(svc.stats.outcomes.values()), len(planned))

        stats = svc.run_until_idle(on_progress=progress)
        everything = svc.ledger.all_workflows()
        entries = [_entry(everything.get(p.group_id, []), p) for p in planned]
        throttled = faults is not None and faults.requests_per_second is not None
        problems = _check(svc, entries, protected_groups, throttled=throttled)
        if on_progress is not None:
            on_progress(len(planned), len(planned))
        return DemoResult(
            entries=entries,
            stats=stats,
            api_calls=Counter(svc.fleet.calls),
            simulated_seconds=(svc.clock.now() - epoch).total_seconds(),
            wall_seconds=time.perf_counter() - started,
            problems=problems,
        )


def _setup_group(
    svc: LocalService, kind: str, index: int, rng: random.Random, protected_groups: list[str]
) -> PlannedRequest:
    name = f"demo-{kind}-{index:04d}"
    if kind == "failed-deployment":
        gid = svc.fleet.add_group(name=name, core="failing", deployed=True)
        deployment_id = svc.fleet.fail_deployment(gid)
        return PlannedRequest(gid, kind, "remediation", f"deployment-failure:{deployment_id}")
    if kind == "protected":
        gid = svc.fleet.add_group(name=name, core="online", tags={"gg-reset:protect": "true"})
        protected_groups.append(gid)
    elif kind == "never-deployed":
        gid = svc.fleet.add_group(name=name, core="online", deployed=False)
    elif kind == "already-deleted":
        gid = svc.fleet.add_group(name=name, core="online", deployed=False)
        svc.simulator.remove_group(gid)
    elif kind == "force-never":
        gid = svc.fleet.add_group(name=name, core="offline")
        request_id = svc.request_deletion(gid, force=ForcePolicy.NEVER, reason="demo: never force")
        return PlannedRequest(gid, kind, "deletion", request_id)
    else:
        gid = svc.fleet.add_group(name=name, core=kind)
    roll = rng.random()
    if kind in ("online", "offline") and roll < 0.1:
        return PlannedRequest(
            gid, kind, "dry-run", svc.request_deletion(gid, dry_run=True, reason="demo plan")
        )
    if roll < 0.35:
        return PlannedRequest(gid, kind, "reset", svc.request_reset(gid, reason="demo reset"))
    return PlannedRequest(gid, kind, "deletion", svc.request_deletion(gid, reason="demo cleanup"))


def _entry(views: list[WorkflowView], planned: PlannedRequest) -> dict[str, Any]:
    view = next((v for v in views if planned.request_id in v.request_ids), None)
    if view is None:
        return {
            "group_id": planned.group_id,
            "group_kind": planned.group_kind,
            "request_kind": planned.request_kind,
            "request_id": planned.request_id,
            "state": "MISSING",
            "reason": "no workflow recorded for this request",
            "forced": False,
            "steps": [],
        }
    return {
        "group_id": planned.group_id,
        "group_kind": planned.group_kind,
        "request_kind": planned.request_kind,
        "request_id": planned.request_id,
        "workflow_id": view.workflow.workflow_id,
        "state": view.state.value,
        "reason": view.reason,
        "forced": view.forced,
        "plan": list(view.workflow.plan),
        "steps": [to_plain(s) for s in view.history],
    }


def _check(
    svc: LocalService, entries: list[dict[str, Any]], protected_groups: list[str], *, throttled: bool
) -> list[str]:
    must_force = FORCE_EXPECTED if throttled else FORCE_EXPECTED | FORCE_EXPECTED_WHEN_PROMPT
    problems: list[str] = []
    for e in entries:
        state = e["state"]
        if state not in {s.value for s in WorkflowState if s.terminal}:
            problems.append(f"{e['group_id']} ({e['group_kind']}): request {e['request_id']} ended {state}")
            continue
        allowed = EXPECTED.get(e["group_kind"], {}).get(e["request_kind"])
        if allowed is not None and WorkflowState(state) not in allowed:
            problems.append(
                f"{e['group_id']} ({e['group_kind']} {e['request_kind']}): expected "
                f"{'/'.join(sorted(allowed))}, got {state}: {e['reason']}"
            )
        if e["group_kind"] in must_force and e["request_kind"] in ("reset", "deletion") and not e["forced"]:
            problems.append(f"{e['group_id']} ({e['group_kind']}): expected a forced reset, none recorded")
    for gid in protected_groups:
        if not svc.fleet.exists(gid) or svc.simulator.reset_count(gid):
            problems.append(f"protected group {gid} was touched")
    return problems
