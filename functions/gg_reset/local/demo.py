"""The demo scenario: a mixed simulated fleet, its requests, the janitor, and an outcome report.

Deletions tear down what the groups owned (`teardown=things`): some groups share definitions (with each
other, and with protected groups), some cores have moved to Greengrass V2. The Teardown table counts what
was deleted and kept by resource type, and the run fails if a torn-down group left anything behind that
nothing uses (orphans), or if anything a remaining group uses was deleted.

Most group kinds get a request of their own when the fleet is set up. The janitor kinds get none: they
carry the expiry tag, and the janitor (its default selection, `expired`) plans them in a dry run, then
cleans them in a real run, while the workflows of the other requests are still queued. Every group kind
has an expected outcome; the report says for each group whether it got it, and the CLI exits non-zero
when anything is off (a request not terminal, a protected group touched, an unexpected state, a janitor
plan that is not exactly the expired groups), so `make demo` is also a smoke test of the whole service.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Final

from gg_reset.cleanup.janitor import JanitorConfig, JanitorRun, RunOutcome
from gg_reset.cleanup.selection import EXPIRY_TAG, PlanEntry, Verdict
from gg_reset.contracts import ForcePolicy
from gg_reset.domain.enums import RemediationPolicy
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.remediation import ON_FAILURE_TAG
from gg_reset.domain.safety import PROTECT_TAG, SafetyRules
from gg_reset.domain.teardown import ResourceKind, Teardown
from gg_reset.domain.workflow import remediation_request_id
from gg_reset.local import fleet_mix
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import DefinitionRef
from gg_reset.local.runtime import LocalService, RunStats, WorkflowView
from gg_reset.local.timeline import Timeline, TimelineRecorder
from gg_reset.shell.codec import to_plain
from gg_reset.text import plural

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
    "on-failure-rollback": 6,
    "on-failure-notify": 3,
    "force-never": 3,
    "migrated": 5,
    "expired": 6,
    "expired-protected": 2,
    "expired-denied": 2,
    "unexpired": 4,
    "expiry-unreadable": 1,
}
"""Relative weights of the group kinds in the demo fleet. The expired groups are about 5 % of it, under
the janitor's 10 % cap (`_within_janitor_cap` sees to it for fleets too small for the weights)."""

JANITOR_VERDICTS: dict[str, Verdict] = {
    "expired": Verdict.ACT,
    "expired-protected": Verdict.REJECTED,
    "expired-denied": Verdict.REJECTED,
    "unexpired": Verdict.NOT_SELECTED,
    "expiry-unreadable": Verdict.NOT_SELECTED,
}
"""The janitor kinds (no request of their own) and the verdict its plan must give each: `expired` groups
are deleted through the janitor's requests, the others must be left alone."""
UNTOUCHABLE_KINDS: Final = frozenset(k for k, v in JANITOR_VERDICTS.items() if v is not Verdict.ACT)
DENIED_PATTERN: Final = "demo-expired-denied-*"
"""The demo deployment's deny list: matches the names of the `expired-denied` groups and nothing else."""
UNREADABLE_EXPIRY: Final = "when the project ends"
"""An expiry tag value that is not a date: the plan reports it as a problem and never selects the group."""
JANITOR_REQUEST: Final = "janitor-deletion"
"""The request kind of an expired group's entry: the janitor's deletion request, not one of the demo's."""
UNTOUCHED: Final = "UNTOUCHED"
"""Not a workflow state: the entry state of a group the janitor rightly left alone (no request, no
workflow, no reset, still there). Its reason is the janitor plan's verdict and reason."""
TOUCHED: Final = "TOUCHED"
"""Not a workflow state either: a group the janitor should have left alone has a workflow, was reset or
is gone (always a problem)."""

REMEDIATION_KINDS: Final = {
    "failed-deployment": RemediationPolicy.RESET,
    "on-failure-rollback": RemediationPolicy.ROLLBACK,
    "on-failure-notify": RemediationPolicy.NOTIFY,
}
"""Groups whose deployment fails, and the remediation policy each gets: no `gg-reset:on-failure` tag (the
default, reset), `rollback` and `notify`. A rollback group that was never deployed before has nothing to go
back to: the default fallback notifies."""
NOTHING_TO_ROLL_BACK: Final = "remediation, nothing to roll back to"
TEARDOWN: Final = Teardown.THINGS
"""What the demo's deletions (and the janitor's) remove: definitions, and the core's certificate and thing."""
SHARED_FUNCTIONS: Final = 4
"""Function definitions shared among the fleet's groups (about a third of them use one)."""
FUNCTION: Final = {
    "Id": "sensor",
    "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:sensor:1",
    "FunctionConfiguration": {"MemorySize": 16384, "Timeout": 3},
}
LOGGER: Final = {
    "Id": "log",
    "Component": "GreengrassSystem",
    "Level": "INFO",
    "Type": "FileSystem",
    "Space": 128,
}

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
    "on-failure-rollback": {
        "remediation": frozenset({S.ROLLED_BACK}),
        NOTHING_TO_ROLL_BACK: frozenset({S.NOTIFIED}),
    },
    "on-failure-notify": {"remediation": frozenset({S.NOTIFIED})},
    "force-never": {"deletion": frozenset({S.FAILED}), "reset": frozenset({S.FAILED})},
    "migrated": {"deletion": frozenset({S.DELETED})},
    "expired": {JANITOR_REQUEST: frozenset({S.DELETED})},
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


@dataclass(frozen=True)
class SharedDefinitions:
    """Definitions several demo groups reference: a teardown must keep them while any group still does."""

    functions: tuple[DefinitionRef, ...]
    protected_logger: DefinitionRef
    """Shared by every protected group and a few deletable ones: never deleted."""

    @classmethod
    def make(cls, svc: LocalService) -> SharedDefinitions:
        sim = svc.simulator
        return cls(
            functions=tuple(
                sim.add_definition("Function", items=[FUNCTION]) for _ in range(SHARED_FUNCTIONS)
            ),
            protected_logger=sim.add_definition("Logger", items=[LOGGER]),
        )


@dataclass(frozen=True)
class Owned:
    """What a group's version references (read from the simulator and moto, before any request runs)."""

    definitions: frozenset[tuple[str, str]]
    """(kind, definition id)."""
    thing: str
    certificate_arn: str


@dataclass
class TeardownReport:
    """What the deletions tore down, by resource type, and the checks on it."""

    counts: dict[str, dict[str, int]]
    """Resource type -> outcome (deleted, already-gone, kept, failed) -> how many."""
    orphans: list[str]
    """Resources a deleted group owned that still exist although nothing uses them: must be none."""
    deleted_in_use: list[str]
    """Definitions a remaining group's version references that no longer exist: must be none."""
    protected_touched: list[str]
    """Resources of a protected group that were deleted or changed: must be none."""

    def summary(self) -> dict[str, Any]:
        return {
            "by_type": self.counts,
            "orphans": len(self.orphans),
            "deleted_in_use": len(self.deleted_in_use),
            "protected_touched": len(self.protected_touched),
        }

    @property
    def problems(self) -> list[str]:
        return (
            [f"teardown left {o} behind (nothing uses it)" for o in self.orphans]
            + [f"teardown deleted {d}, which a remaining group uses" for d in self.deleted_in_use]
            + [f"teardown touched {p} of a protected group" for p in self.protected_touched]
        )


@dataclass(frozen=True)
class DemoGroup:
    group_id: str
    kind: str
    request: PlannedRequest | None
    """The demo's own request for it; None for the janitor kinds (the janitor sends theirs)."""


@dataclass(frozen=True)
class JanitorRuns:
    """The demo's two janitor runs, one after the other on the same fleet."""

    dry_run: JanitorRun
    run: JanitorRun
    dry_run_changes: list[str]
    """What the dry run changed besides its own run record (Greengrass writes, workflows, requests sent):
    must be empty."""
    verdicts: dict[str, PlanEntry]
    """Group id -> the real run's plan entry (every group it listed)."""

    def summary(self) -> dict[str, Any]:
        return {
            "dry_run": {"outcome": self.dry_run.outcome.value, **self.dry_run.counts()},
            "run": {"outcome": self.run.outcome.value, **self.run.counts()},
        }

    def report(self) -> dict[str, Any]:
        # Every selected group and every problem, not the notification's first twenty.
        return {
            "dry_run": self.dry_run.summary(max_entries=_fleet_size(self.dry_run)),
            "run": self.run.summary(max_entries=_fleet_size(self.run)),
        }


def _fleet_size(run: JanitorRun) -> int:
    return run.plan.fleet_size if run.plan is not None else 0


@dataclass
class DemoResult:
    entries: list[dict[str, Any]]
    """One per group: its request's outcome, or (janitor kinds left alone) `UNTOUCHED`."""
    stats: RunStats
    api_calls: Counter[str]
    simulated_seconds: float
    wall_seconds: float
    janitor: JanitorRuns
    teardown: TeardownReport
    timeline: Timeline
    """Greengrass calls and finished workflows over simulated time (`gg-reset demo --plot`)."""
    problems: list[str] = field(default_factory=list)

    @property
    def outcomes(self) -> Counter[str]:
        return Counter(str(e["state"]) for e in self.entries)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": sum(1 for e in self.entries if e["request_id"] is not None),
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
            "janitor": self.janitor.summary(),
            "teardown": self.teardown.summary(),
            "problems": self.problems,
        }

    def report(self) -> dict[str, Any]:
        return {"summary": self.summary(), "requests": self.entries, "janitor": self.janitor.report()}


def parse_mix(text: str | None) -> dict[str, int]:
    """`online=3,offline=1` -> weights over the demo's kinds (`DEFAULT_MIX` when no text); see `fleet_mix`."""
    return fleet_mix.parse_mix(text, DEFAULT_MIX)


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
    # The janitor's blast-radius cap is min(max_groups, max_percent of the fleet). max_groups is the whole
    # fleet here, so only the default percentage applies, whatever --groups is (with the default of 50
    # groups, a demo of 20,000 groups would be capped).
    janitor_config = replace(JanitorConfig.default(), max_groups=groups, teardown=TEARDOWN)
    kinds = _within_janitor_cap(fleet_mix.fleet_kinds(groups, mix or DEFAULT_MIX, rng), janitor_config)
    policy = WorkflowPolicy(safety=SafetyRules(deny=(DENIED_PATTERN,)), things_teardown=True)
    started = time.perf_counter()
    with LocalService(
        seed=seed, policy=policy, faults=faults, log_level="ERROR", greengrass_rps=greengrass_rps
    ) as svc:
        epoch = svc.clock.now()
        recorder = TimelineRecorder(svc.simulator, start=epoch)
        shared = SharedDefinitions.make(svc)
        fleet = [_setup_group(svc, kind, index, rng, shared) for index, kind in enumerate(kinds)]
        owned = {g: _owned(svc, g) for g in svc.simulator.group_ids()}
        janitor = _run_janitor(svc, janitor_config)
        planned = [g.request for g in fleet if g.request is not None]
        requests = len(planned) + len(janitor.run.request_ids)

        def progress(_: RunStats) -> None:
            if on_progress is not None:
                on_progress(sum(svc.stats.outcomes.values()), requests)

        stats = svc.run_until_idle(on_progress=progress)
        everything = svc.ledger.all_workflows()
        entries = [_group_entry(svc, everything, g, janitor) for g in fleet]
        throttled = faults is not None and faults.requests_per_second is not None
        problems = _check(
            svc, entries, [g.group_id for g in fleet if g.kind == "protected"], throttled=throttled
        )
        problems += _check_janitor(fleet, entries, janitor)
        teardown = _teardown_report(svc, everything, owned, [g for g in fleet if g.kind == "protected"])
        problems += teardown.problems
        if on_progress is not None:
            on_progress(requests, requests)
        quota = faults.requests_per_second if faults is not None else None
        timeline = recorder.timeline(
            (view.workflow for views in everything.values() for view in views),
            quota=quota,
            budget=greengrass_rps,
            title=f"gg-reset demo: {plural(groups, 'group')}, seed {seed}, "
            + (f"Greengrass API quota {quota:g} req/s" if quota else "no API quota"),
            reset_timeout_s=policy.reset_timeout_s,
        )
        return DemoResult(
            entries=entries,
            stats=stats,
            api_calls=Counter(svc.fleet.calls),
            simulated_seconds=(svc.clock.now() - epoch).total_seconds(),
            wall_seconds=time.perf_counter() - started,
            janitor=janitor,
            teardown=teardown,
            timeline=timeline,
            problems=problems,
        )


def _within_janitor_cap(kinds: list[str], config: JanitorConfig) -> list[str]:
    """`kinds` with the expired groups the janitor's cap would refuse turned into unexpired ones.

    A fleet too small for the weights (5 groups: a 10 % cap allows none) or a --mix heavy on expired
    groups would otherwise make the real run stop at the cap, which is the janitor doing its job, not
    the cleanup the demo is there to show. The janitor lists every group but the already-deleted ones.
    """
    allowed = config.cap(sum(1 for k in kinds if k != "already-deleted"))
    expired = [i for i, k in enumerate(kinds) if k == "expired"]
    adjusted = list(kinds)
    for index in expired[allowed:]:
        adjusted[index] = "unexpired"
    return adjusted


def _setup_group(
    svc: LocalService, kind: str, index: int, rng: random.Random, shared: SharedDefinitions
) -> DemoGroup:
    name = f"demo-{kind}-{index:04d}"
    if kind in JANITOR_VERDICTS:
        # No request of its own: the janitor finds it by its expiry tag (or must leave it alone).
        return DemoGroup(_add_janitor_group(svc, kind, name, rng), kind, None)
    if kind in REMEDIATION_KINDS:
        return DemoGroup(*_add_failed_deployment(svc, kind, name, rng))
    sim = svc.simulator
    # A third of the groups share a function definition; protected groups and one group in ten of the
    # others share a logger definition: a teardown must keep both while any group still uses them.
    definitions = [rng.choice(shared.functions)] if rng.random() < 0.33 else []
    if kind == "protected" or rng.random() < 0.1:
        definitions.append(shared.protected_logger)
    if kind == "protected":
        gid = sim.add_group(
            name=name, core="online", tags={"gg-reset:protect": "true"}, definitions=definitions
        )
    elif kind == "never-deployed":
        gid = sim.add_group(name=name, core="online", deployed=False, definitions=definitions)
    elif kind == "already-deleted":
        gid = sim.add_group(name=name, core="online", deployed=False)
        sim.remove_group(gid)
    elif kind == "force-never":
        gid = sim.add_group(name=name, core="offline", definitions=definitions)
        request_id = svc.request_deletion(
            gid, force=ForcePolicy.NEVER, reason="demo: never force", teardown=TEARDOWN
        )
        return DemoGroup(gid, kind, PlannedRequest(gid, kind, "deletion", request_id))
    elif kind == "migrated":
        # The device now runs Greengrass V2 under its V1 core thing: the V1 core never answers again.
        gid = sim.add_group(name=name, core="offline", definitions=definitions)
        svc.greengrass_v2.register_core_device(
            sim.core_thing(gid).thing_name, last_status_update=svc.clock.now()
        )
        request_id = svc.request_deletion(gid, reason="demo: migrated to V2", teardown=TEARDOWN)
        return DemoGroup(gid, kind, PlannedRequest(gid, kind, "deletion", request_id))
    else:
        gid = sim.add_group(name=name, core=kind, definitions=definitions)
    roll = rng.random()
    if kind in ("online", "offline") and roll < 0.1:
        request_id = svc.request_deletion(gid, dry_run=True, reason="demo plan", teardown=TEARDOWN)
        request = PlannedRequest(gid, kind, "dry-run", request_id)
    elif roll < 0.35:
        request = PlannedRequest(gid, kind, "reset", svc.request_reset(gid, reason="demo reset"))
    else:
        request_id = svc.request_deletion(gid, reason="demo cleanup", teardown=TEARDOWN)
        request = PlannedRequest(gid, kind, "deletion", request_id)
    return DemoGroup(gid, kind, request)


def _owned(svc: LocalService, group_id: str) -> Owned:
    sim = svc.simulator
    core = sim.core_thing(group_id)
    return Owned(
        definitions=frozenset(
            (kind, ref.definition_id) for kind, ref in sim.group_definitions(group_id).items()
        ),
        thing=core.thing_name,
        certificate_arn=core.certificate_arn,
    )


def _teardown_report(
    svc: LocalService,
    everything: Mapping[str, list[WorkflowView]],
    owned: Mapping[str, Owned],
    protected: list[DemoGroup],
) -> TeardownReport:
    """Counts what the workflows say they did; checks it against what the simulator and moto hold now."""
    counts: dict[str, dict[str, int]] = {kind.value: {} for kind in ResourceKind}
    for views in everything.values():
        for view in views:
            for resource in view.workflow.resources:
                if resource.outcome is not None and view.workflow.teardown is not Teardown.GROUP:
                    row = counts[resource.kind.value]
                    row[resource.outcome.value] = row.get(resource.outcome.value, 0) + 1
    sim, identities, v2 = svc.simulator, svc.identities, svc.greengrass_v2
    assert identities is not None
    live = [owned[g] for g in sim.group_ids() if g in owned]
    in_use = {d for o in live for d in o.definitions}
    live_things = {o.thing for o in live} | set(v2.core_device_names())
    live_certificates = {o.certificate_arn for o in live}
    orphans: list[str] = []
    for gid, was in owned.items():
        if sim.group_exists(gid):
            continue
        torn = [v for v in everything.get(gid, []) if v.workflow.teardown is TEARDOWN]
        if not any(v.state is WorkflowState.DELETED for v in torn):
            continue  # deleted by someone else (already-deleted), or without a teardown
        orphans += [
            f"{k}Definition {d}"
            for k, d in was.definitions
            if (k, d) not in in_use and sim.definition_exists(k, d)
        ]
        if was.thing not in live_things and identities.thing_exists(was.thing):
            orphans.append(f"thing {was.thing}")
        moved = was.thing in v2.core_device_names()
        if (
            not moved
            and was.certificate_arn not in live_certificates
            and identities.certificate_exists(was.certificate_arn)
        ):
            orphans.append(f"certificate {was.certificate_arn}")
    deleted_in_use = sorted(f"{k}Definition {d}" for k, d in in_use if not sim.definition_exists(k, d))
    touched: list[str] = []
    for group in protected:
        was = owned[group.group_id]
        touched += [f"{k}Definition {d}" for k, d in was.definitions if not sim.definition_exists(k, d)]
        if identities.certificate_status(was.certificate_arn) != "ACTIVE":
            touched.append(f"certificate {was.certificate_arn}")
        if not identities.thing_exists(was.thing):
            touched.append(f"thing {was.thing}")
    return TeardownReport(
        counts={k: v for k, v in counts.items() if v},
        orphans=sorted(orphans),
        deleted_in_use=deleted_in_use,
        protected_touched=touched,
    )


def _add_failed_deployment(
    svc: LocalService, kind: str, name: str, rng: random.Random
) -> tuple[str, str, PlannedRequest]:
    """A group whose latest deployment fails (its Failure event opens the remediation)."""
    policy = REMEDIATION_KINDS[kind]
    request_kind = "remediation"
    if policy is RemediationPolicy.RESET:
        # Untagged: the default policy. A failing core, so the reset needs its Force fallback too.
        gid = svc.fleet.add_group(name=name, core="failing", deployed=True)
    else:
        # An online core whose earlier deployment worked; one rollback group in four was never deployed,
        # so there is nothing to go back to.
        deployed = policy is not RemediationPolicy.ROLLBACK or rng.random() >= 0.25
        if not deployed:
            request_kind = NOTHING_TO_ROLL_BACK
        tags = {ON_FAILURE_TAG: policy.value}
        gid = svc.fleet.add_group(name=name, core="online", deployed=deployed, tags=tags)
    deployment_id = svc.fleet.fail_deployment(gid)
    return gid, kind, PlannedRequest(gid, kind, request_kind, remediation_request_id(deployment_id))


def _add_janitor_group(svc: LocalService, kind: str, name: str, rng: random.Random) -> str:
    now = svc.clock.now()
    expired = {EXPIRY_TAG: (now - timedelta(days=30)).date().isoformat()}
    if kind == "expired":
        return svc.fleet.add_group(name=name, core=rng.choice(("online", "offline")), tags=expired)
    if kind == "expired-protected":
        return svc.fleet.add_group(name=name, tags={**expired, PROTECT_TAG[0]: PROTECT_TAG[1]})
    if kind == "expired-denied":
        return svc.fleet.add_group(name=name, tags=expired)  # its name matches DENIED_PATTERN
    if kind == "unexpired":
        later = (now + timedelta(days=365)).date().isoformat()
        return svc.fleet.add_group(name=name, tags={EXPIRY_TAG: later})
    if kind == "expiry-unreadable":
        return svc.fleet.add_group(name=name, tags={EXPIRY_TAG: UNREADABLE_EXPIRY})
    raise ValueError(f"not a janitor kind: {kind!r}")


def _run_janitor(svc: LocalService, config: JanitorConfig) -> JanitorRuns:
    """The janitor's default selection, as a dry run and then as a real run, before any workflow runs."""

    def janitor_run(*, dry_run: bool) -> JanitorRun:
        return svc.run_janitor(
            dry_run=dry_run,
            action=config.action,
            teardown=config.teardown,
            max_groups=config.max_groups,
            max_percent=config.max_percent,
        )

    before = _changes(svc)
    dry_run = janitor_run(dry_run=True)
    after = _changes(svc)
    run = janitor_run(dry_run=False)
    dry_run_changes = [
        f"{what}: {before.get(what, 0)} -> {count}"
        for what, count in after.items()
        if count != before.get(what, 0)
    ]
    if dry_run.sent or dry_run.refused:
        dry_run_changes.append(f"sent {plural(len(dry_run.sent) + len(dry_run.refused), 'request')}")
    verdicts = {e.group_id: e for e in run.plan.entries} if run.plan is not None else {}
    return JanitorRuns(dry_run=dry_run, run=run, dry_run_changes=dry_run_changes, verdicts=verdicts)


def _changes(svc: LocalService) -> dict[str, int]:
    """What a dry run must leave as it is: Greengrass writes so far and the workflows in the ledger."""
    writes = {op: n for op, n in svc.fleet.calls.items() if not op.startswith(("Get", "List"))}
    return {**writes, "workflows": sum(len(v) for v in svc.ledger.all_workflows().values())}


def _group_entry(
    svc: LocalService, everything: Mapping[str, list[WorkflowView]], group: DemoGroup, janitor: JanitorRuns
) -> dict[str, Any]:
    views = everything.get(group.group_id, [])
    if group.request is not None:
        return _entry(views, group.request)
    verdict = janitor.verdicts.get(group.group_id)
    janitor_fields = {
        "janitor_verdict": verdict.verdict.value if verdict is not None else None,
        "janitor_reasons": list(verdict.reasons) if verdict is not None else [],
    }
    request_id = janitor.run.request_ids.get(group.group_id)
    if request_id is not None:
        return {
            **_entry(views, PlannedRequest(group.group_id, group.kind, JANITOR_REQUEST, request_id)),
            **janitor_fields,
        }
    touched = _touched(svc, group.group_id, views)
    explanation = (
        f"janitor {verdict.verdict.value}: {'; '.join(verdict.reasons)}"
        if verdict is not None
        else "not in the janitor's plan"
    )
    return {
        "group_id": group.group_id,
        "group_kind": group.kind,
        "request_kind": None,
        "request_id": None,
        "state": TOUCHED if touched else UNTOUCHED,
        "reason": f"{touched}; {explanation}" if touched else explanation,
        "forced": False,
        "steps": [],
        **janitor_fields,
    }


def _touched(svc: LocalService, group_id: str, views: list[WorkflowView]) -> str:
    """How a group that no request was meant for was touched anyway; empty if it was not."""
    if views:
        return f"has {plural(len(views), 'workflow')}: {', '.join(v.state.value for v in views)}"
    if not svc.fleet.exists(group_id):
        return "was deleted"
    if svc.simulator.reset_count(group_id):
        return f"was reset {plural(svc.simulator.reset_count(group_id), 'time')}"
    return ""


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
        if e["request_id"] is None:
            continue  # a group the janitor left alone: `_check_janitor`
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


def _check_janitor(fleet: list[DemoGroup], entries: list[dict[str, Any]], janitor: JanitorRuns) -> list[str]:
    """The janitor planned exactly the expired groups, wrote nothing in its dry run, sent a request for
    each expired group in its real run, and left every other janitor kind alone with the expected verdict.
    (Whether the expired groups ended DELETED is `_check`'s, through `EXPECTED`.)"""
    expired = {g.group_id for g in fleet if g.kind == "expired"}
    dry_run, run = janitor.dry_run, janitor.run
    problems: list[str] = []
    # Without expired groups (a --mix without them) there is nothing to do, which is right.
    expected = (RunOutcome.PLANNED, RunOutcome.SENT) if expired else (RunOutcome.NOTHING_TO_DO,) * 2
    for which, janitor_run, outcome in (("dry run", dry_run, expected[0]), ("run", run, expected[1])):
        if janitor_run.outcome is not outcome:
            problems.append(f"janitor {which}: expected {outcome.value}, got {janitor_run.message}")
    planned = {e.group_id for e in dry_run.plan.to_act} if dry_run.plan is not None else set()
    if planned != expired:
        problems.append(
            f"janitor dry run planned {plural(len(planned), 'group')}, not exactly the {len(expired)} "
            f"expired: {len(planned - expired)} extra, {len(expired - planned)} missing"
        )
    if janitor.dry_run_changes:
        problems.append(f"janitor dry run changed something: {', '.join(janitor.dry_run_changes)}")
    if set(run.request_ids) != expired:
        problems.append(
            f"janitor run sent requests for {plural(len(run.request_ids), 'group')}, not exactly the "
            f"{len(expired)} expired"
        )
    reported = {e.group_id for e in dry_run.plan.problems} if dry_run.plan is not None else set()
    for e in entries:
        kind = e["group_kind"]
        if kind not in JANITOR_VERDICTS:
            continue
        if e["janitor_verdict"] != JANITOR_VERDICTS[kind].value:
            problems.append(
                f"{e['group_id']} ({kind}): janitor verdict {e['janitor_verdict']}, expected "
                f"{JANITOR_VERDICTS[kind].value}"
            )
        if kind in UNTOUCHABLE_KINDS and e["state"] != UNTOUCHED:
            problems.append(f"{e['group_id']} ({kind}) was touched: {e['reason']}")
        if kind == "expiry-unreadable" and e["group_id"] not in reported:
            problems.append(
                f"{e['group_id']} ({kind}): its unreadable expiry tag is not among the plan's problems"
            )
    return problems
