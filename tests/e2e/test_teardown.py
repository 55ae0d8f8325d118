"""The full teardown through `LocalService`: the real worker and sweeper, the Greengrass V1 simulator (groups,
versions, definitions), moto's AWS IoT (the cores' things and certificates) and the Greengrass V2 simulator.

The fleet: groups with definitions of their own, groups sharing definitions (one with a protected group),
a group whose older version references a definition its latest does not, a group whose core is now a
Greengrass V2 core device. After each teardown, from the simulator's and moto's own state:

- nothing the torn-down group owned is left (orphans: 0), unless a remaining group's versions, a V2 core
  device or another thing still use it;
- nothing a remaining group's versions reference was deleted (0 deleted resources still referenced).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from gg_reset.domain.model import StepKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.local import LocalService
from gg_reset.local.greengrass_sim import DefinitionRef
from gg_reset.local.runtime import InvocationCrashed

FUNCTION = {
    "Id": "f-1",
    "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:sensor:1",
    "FunctionConfiguration": {"MemorySize": 16384, "Timeout": 3},
}
SUBSCRIPTION = {"Id": "s-1", "Source": "cloud", "Subject": "t/#", "Target": "cloud"}
LOGGER = {"Id": "l-1", "Component": "GreengrassSystem", "Level": "INFO", "Type": "FileSystem", "Space": 128}

THINGS = WorkflowPolicy(things_teardown=True)
DEFINITION_KINDS = ("Core", "Device", "Function", "Subscription", "Logger", "Resource", "Connector")


@dataclass
class Fleet:
    own: str
    """A group with a core, function and subscription definition of its own."""
    sharer: str
    other_sharer: str
    """Two groups sharing a function definition."""
    shared: DefinitionRef
    protected: str
    next_to_protected: str
    """Shares a logger definition with `protected`."""
    protected_logger: DefinitionRef
    old_version: str
    """Its older version references `old_function`; its latest does not."""
    old_user: str
    """Deleted in tests: its only version references `old_function` too."""
    old_function: DefinitionRef
    migrated: str
    """Its core thing is a Greengrass V2 core device."""


def build(svc: LocalService) -> Fleet:
    sim = svc.simulator
    shared = sim.add_definition("Function", items=[FUNCTION])
    protected_logger = sim.add_definition("Logger", items=[LOGGER])
    old_function = sim.add_definition("Function", items=[FUNCTION])
    own = sim.add_group(
        name="own",
        definitions=[
            sim.add_definition("Function", items=[FUNCTION]),
            sim.add_definition("Subscription", items=[SUBSCRIPTION]),
        ],
    )
    old_version = sim.add_group(name="old-version", definitions=[old_function])
    # A newer version without the function definition: the older one still references it.
    client = sim.client()
    core_arn = sim.group_definitions(old_version)["Core"].version_arn
    client.create_group_version(GroupId=old_version, CoreDefinitionVersionArn=core_arn)
    fleet = Fleet(
        own=own,
        sharer=sim.add_group(name="sharer", definitions=[shared]),
        other_sharer=sim.add_group(name="other-sharer", definitions=[shared]),
        shared=shared,
        protected=sim.add_group(
            name="protected", definitions=[protected_logger], tags={"gg-reset:protect": "true"}
        ),
        next_to_protected=sim.add_group(name="next-to-protected", definitions=[protected_logger]),
        protected_logger=protected_logger,
        old_version=old_version,
        old_user=sim.add_group(name="old-user", definitions=[old_function]),
        old_function=old_function,
        migrated=sim.add_group(name="migrated", core="offline"),
    )
    svc.greengrass_v2.register_core_device(sim.core_thing(fleet.migrated).thing_name)
    return fleet


@pytest.fixture
def svc() -> Iterator[LocalService]:
    with LocalService(seed=11, policy=THINGS) as service:
        yield service


@pytest.fixture
def fleet(svc: LocalService) -> Fleet:
    return build(svc)


# --- what the simulator and moto hold --------------------------------------------------------------------


@dataclass(frozen=True)
class Owned:
    """Everything a group's versions reference, read before it is deleted."""

    definitions: frozenset[tuple[str, str]]
    """(kind, definition id) over every version."""
    thing: str
    certificate_arn: str


def owned(svc: LocalService, group_id: str) -> Owned:
    client = svc.simulator.client()
    definitions: set[tuple[str, str]] = set()
    for version in client.list_group_versions(GroupId=group_id)["Versions"]:
        body = client.get_group_version(GroupId=group_id, GroupVersionId=version["Version"])["Definition"]
        for key, arn in body.items():
            kind = key.removesuffix("DefinitionVersionArn")
            definitions.add((kind, arn.split("/versions/")[0].rpartition("/")[2]))
    core = svc.simulator.core_thing(group_id)
    return Owned(frozenset(definitions), core.thing_name, core.certificate_arn)


def live_references(svc: LocalService) -> set[tuple[str, str]]:
    """(kind, definition id) referenced by any version of any live group."""
    found: set[tuple[str, str]] = set()
    for group_id in svc.simulator.group_ids():
        found |= owned(svc, group_id).definitions
    return found


def dangling(svc: LocalService) -> set[tuple[str, str]]:
    """Definitions a live group's versions reference that no longer exist: must always be empty."""
    return {(k, d) for k, d in live_references(svc) if not svc.simulator.definition_exists(k, d)}


def leftovers(svc: LocalService, before: Owned) -> set[str]:
    """What the deleted group owned that still exists although nothing uses it: must be empty."""
    used = live_references(svc)
    left = {
        f"{kind} {definition}"
        for kind, definition in before.definitions
        if svc.simulator.definition_exists(kind, definition) and (kind, definition) not in used
    }
    identities = svc.identities
    assert identities is not None
    live_things = {owned(svc, g).thing for g in svc.simulator.group_ids()}
    device = before.thing in svc.greengrass_v2.core_device_names()
    if identities.thing_exists(before.thing) and before.thing not in live_things and not device:
        left.add(f"thing {before.thing}")
    if identities.certificate_exists(before.certificate_arn) and not device:
        left.add(f"certificate {before.certificate_arn}")
    return left


def torn_down(svc: LocalService, group_id: str, **options: object) -> Owned:
    before = owned(svc, group_id)
    svc.request_deletion(group_id, teardown="things", **options)
    svc.run_until_idle()
    return before


# --- the tests -------------------------------------------------------------------------------------------


def test_a_group_of_its_own_leaves_nothing_behind(svc: LocalService, fleet: Fleet) -> None:
    before = torn_down(svc, fleet.own)
    view = svc.ledger.get(fleet.own)
    assert view is not None and view.state is WorkflowState.DELETED, view and view.reason
    assert not svc.simulator.group_exists(fleet.own)
    assert leftovers(svc, before) == set()
    assert dangling(svc) == set()
    identities = svc.identities
    assert identities is not None
    assert not identities.thing_exists(before.thing)
    assert not identities.certificate_exists(before.certificate_arn)
    torn = [s for s in view.history if s.kind is StepKind.RESOURCE_TORN_DOWN]
    # Core, function and subscription definitions, the certificate, the thing: one step each, with its ARN.
    assert len(torn) == 5
    assert all("deleted" in s.detail and "arn:aws:" in s.detail for s in torn)
    assert "teardown=things: 5 deleted" in view.reason


def test_a_shared_definition_is_kept_until_its_last_group_goes(svc: LocalService, fleet: Fleet) -> None:
    first = torn_down(svc, fleet.sharer)
    assert svc.simulator.definition_exists("Function", fleet.shared.definition_id)
    view = svc.ledger.get(fleet.sharer)
    assert view is not None and view.state is WorkflowState.DELETED
    assert f"used by group {fleet.other_sharer}" in view.reason
    assert leftovers(svc, first) == set() and dangling(svc) == set()
    second = torn_down(svc, fleet.other_sharer)
    assert not svc.simulator.definition_exists("Function", fleet.shared.definition_id)
    assert leftovers(svc, second) == set() and dangling(svc) == set()


def test_a_definition_an_older_version_references_is_kept(svc: LocalService, fleet: Fleet) -> None:
    before = torn_down(svc, fleet.old_user)
    # old-version's latest version no longer names it, but its older one does: it can be redeployed.
    assert svc.simulator.definition_exists("Function", fleet.old_function.definition_id)
    assert leftovers(svc, before) == set() and dangling(svc) == set()


def test_a_definition_shared_with_a_protected_group_is_kept(svc: LocalService, fleet: Fleet) -> None:
    before = torn_down(svc, fleet.next_to_protected)
    assert svc.simulator.definition_exists("Logger", fleet.protected_logger.definition_id)
    view = svc.ledger.get(fleet.next_to_protected)
    assert view is not None and f"used by group {fleet.protected}" in view.reason
    assert leftovers(svc, before) == set() and dangling(svc) == set()


def test_a_protected_group_loses_nothing(svc: LocalService, fleet: Fleet) -> None:
    before = owned(svc, fleet.protected)
    svc.request_deletion(fleet.protected, teardown="things")
    svc.run_until_idle()
    view = svc.ledger.get(fleet.protected)
    assert view is not None and view.state is WorkflowState.REJECTED
    assert svc.simulator.group_exists(fleet.protected)
    assert all(svc.simulator.definition_exists(k, d) for k, d in before.definitions)
    identities = svc.identities
    assert identities is not None
    assert identities.thing_exists(before.thing) and identities.certificate_exists(before.certificate_arn)
    assert identities.certificate_status(before.certificate_arn) == "ACTIVE"


def test_a_migrated_core_keeps_its_thing_and_certificate(svc: LocalService, fleet: Fleet) -> None:
    before = torn_down(svc, fleet.migrated)
    view = svc.ledger.get(fleet.migrated)
    assert view is not None and view.state is WorkflowState.DELETED, view and view.reason
    identities = svc.identities
    assert identities is not None
    assert identities.thing_exists(before.thing)
    assert identities.certificate_status(before.certificate_arn) == "ACTIVE"
    assert f"Greengrass V2 core device {before.thing}" in view.reason
    # Its V1 core definition is V1's alone: deleted.
    assert not any(svc.simulator.definition_exists(k, d) for k, d in before.definitions)
    assert leftovers(svc, before) == set() and dangling(svc) == set()


def test_a_dry_run_lists_the_teardown_and_deletes_nothing(svc: LocalService, fleet: Fleet) -> None:
    before = owned(svc, fleet.sharer)
    calls_before = dict(svc.fleet.calls)
    svc.request_deletion(fleet.sharer, teardown="things", dry_run=True)
    svc.run_until_idle()
    view = svc.ledger.get(fleet.sharer)
    assert view is not None and view.state is WorkflowState.PLANNED
    plan = "\n".join(view.workflow.plan)
    assert f"keep FunctionDefinition {fleet.shared.definition_id}: used by group {fleet.other_sharer}" in plan
    assert f"delete Thing {before.thing}" in plan and "delete Certificate" in plan
    assert svc.simulator.group_exists(fleet.sharer)
    assert all(svc.simulator.definition_exists(k, d) for k, d in before.definitions)
    writes = {op for op in svc.fleet.calls if op.startswith(("Delete", "Reset", "Create"))}
    assert {op for op in calls_before if op.startswith(("Delete", "Reset", "Create"))} == writes
    assert all(svc.fleet.calls[op] == calls_before.get(op, 0) for op in writes)


def test_teardown_beyond_what_the_deployment_allows_is_rejected_with_what_to_do() -> None:
    with LocalService(seed=5) as svc:
        gid = svc.simulator.add_group(name="g")
        svc.request_deletion(gid, teardown="things")
        svc.run_until_idle()
        view = svc.ledger.get(gid)
        assert view is not None and view.state is WorkflowState.REJECTED
        assert "gg-reset:thingsTeardown=true" in view.reason
        assert svc.simulator.group_exists(gid)


def test_definitions_teardown_leaves_the_core_thing_alone() -> None:
    with LocalService(seed=6, policy=THINGS) as svc:
        gid = svc.simulator.add_group(name="g")
        core = svc.simulator.core_thing(gid)
        svc.request_deletion(gid, teardown="definitions")
        svc.run_until_idle()
        view = svc.ledger.get(gid)
        assert view is not None and view.state is WorkflowState.DELETED
        assert not svc.simulator.definition_exists("Core", core.core_definition_id)
        assert svc.identities is not None and svc.identities.thing_exists(core.thing_name)


def test_a_bulk_teardown_of_groups_sharing_definitions_leaves_no_orphan(
    svc: LocalService, fleet: Fleet
) -> None:
    """Every unprotected group at once: the last of the sharers deletes what they shared."""
    groups = [g for g in svc.simulator.group_ids() if g != fleet.protected]
    before = {g: owned(svc, g) for g in groups}
    for gid in groups:
        svc.request_deletion(gid, teardown="things")
    svc.run_until_idle()
    for gid in groups:
        view = svc.ledger.get(gid)
        assert view is not None and view.state is WorkflowState.DELETED, (gid, view and view.reason)
    assert svc.simulator.group_ids() == [fleet.protected]
    left = set().union(*(leftovers(svc, b) for b in before.values()))
    assert left == set()
    assert dangling(svc) == set()
    assert not svc.simulator.definition_exists("Function", fleet.shared.definition_id)
    assert svc.simulator.definition_exists("Logger", fleet.protected_logger.definition_id)


def test_a_certificate_another_thing_uses_is_kept_and_the_core_thing_still_goes() -> None:
    with LocalService(seed=8, policy=THINGS) as svc:
        gid = svc.simulator.add_group(name="g")
        core = svc.simulator.core_thing(gid)
        identities = svc.identities
        assert identities is not None
        identities.share_certificate(core.certificate_arn, "gateway")
        svc.request_deletion(gid, teardown="things")
        svc.run_until_idle()
        view = svc.ledger.get(gid)
        assert view is not None and view.state is WorkflowState.DELETED, view and view.reason
        assert identities.certificate_status(core.certificate_arn) == "ACTIVE"
        assert identities.things_of(core.certificate_arn) == ["gateway"]
        assert not identities.thing_exists(core.thing_name)
        assert "attached to thing gateway as well" in view.reason


# --- a crash between any two teardown calls ----------------------------------------------------------------


def crash_fleet(svc: LocalService) -> tuple[str, str]:
    """One group to tear down (a function definition of its own, one shared with a group that stays, its core
    thing and certificate) and the group that stays."""
    sim = svc.simulator
    shared = sim.add_definition("Function", items=[FUNCTION])
    victim = sim.add_group(
        name="victim", definitions=[shared, sim.add_definition("Subscription", items=[SUBSCRIPTION])]
    )
    stays = sim.add_group(name="stays", definitions=[shared])
    return victim, stays


class CrashAt:
    """A botocore hook on the teardown's clients (its Greengrass reads and deletes, AWS IoT): counts their
    calls, and kills the invocation right after call number `at` took effect (None: never; just count)."""

    def __init__(self, svc: LocalService, at: int | None) -> None:
        self.svc, self.at, self.count, self.armed = svc, at, 0, False
        teardown = svc.service.teardown
        assert teardown is not None
        for client in (teardown._greengrass, svc.iot):  # type: ignore[attr-defined]
            client.meta.events.register("after-call", self)

    def __call__(self, **kwargs: object) -> None:
        if not self.armed:
            return
        self.count += 1
        if self.count == self.at:
            raise InvocationCrashed(f"crash after teardown call {self.at}")


def torn_down_world(at: int | None) -> tuple[WorkflowState, frozenset[str], int, int]:
    """Delete the victim with teardown=things, crashing at teardown call `at`; return its final state, what
    of it is left, the teardown calls counted, and the crashes."""
    with LocalService(seed=13, policy=THINGS) as svc:
        victim, _ = crash_fleet(svc)
        before = owned(svc, victim)
        hook = CrashAt(svc, at)
        hook.armed = True  # from the collection's first read to the thing's deletion
        svc.request_deletion(victim, teardown="things")
        svc.run_until_idle()
        hook.armed = False  # what follows is the test looking
        view = svc.ledger.get(victim)
        assert view is not None
        identities = svc.identities
        assert identities is not None
        left = {f"{k} {d}" for k, d in before.definitions if svc.simulator.definition_exists(k, d)}
        if identities.thing_exists(before.thing):
            left.add("thing")
        if identities.certificate_exists(before.certificate_arn):
            left.add("certificate")
        assert dangling(svc) == set()
        return view.state, frozenset(left), hook.count, svc.stats.crashes


def test_a_crash_between_any_two_teardown_calls_replayed_ends_the_same() -> None:
    clean_state, clean_left, calls, crashes = torn_down_world(None)
    assert clean_state is WorkflowState.DELETED and crashes == 0
    assert len(clean_left) == 1 and next(iter(clean_left)).startswith("Function ")  # the shared one
    assert calls >= 8  # definition deletes and the certificate's and thing's IoT calls at least
    for at in range(1, calls + 1):
        state, left, _, crashed = torn_down_world(at)
        assert crashed == 1, at
        assert (state, left) == (clean_state, clean_left), f"crash after teardown call {at}"


def test_a_fleet_too_large_to_index_in_one_invocation_is_still_torn_down() -> None:
    """The reference index's first refresh lists every group's versions. At half a request per second a
    worker invocation (120 s, less its reserve) fits about 40 calls, fewer than the 60 groups'
    `ListGroupVersions` alone: the refresh is deferred part-way, and the next attempt must go on where it
    stopped. (It used to start over, so the deletion never got past collecting: found by `make bench` at
    1,000 groups and 10 requests per second.)"""
    groups = 60
    with LocalService(seed=3, log_level="ERROR", greengrass_rps=0.5) as svc:
        sim = svc.simulator
        shared = sim.add_definition("Function", items=[FUNCTION])
        ids = [sim.add_group(definitions=[shared] if n % 2 else []) for n in range(groups)]
        owned_before = {gid: owned(svc, gid) for gid in ids}
        listed_by_the_test = sim.calls["ListGroupVersions"]
        for gid in ids:
            svc.request_deletion(gid, teardown="definitions")
        svc.run_until_idle(max_simulated_s=4 * 3600)
        states = {gid: view.state if (view := svc.ledger.get(gid)) else None for gid in ids}
        assert set(states.values()) == {WorkflowState.DELETED}, states
        # Every group went, so nothing they owned has a user left: all of it must be gone.
        left = {d for b in owned_before.values() for d in b.definitions if sim.definition_exists(*d)}
        assert left == set()
        # Each group's versions listed about once (again only when its latest version changes): not once
        # per attempt.
        assert sim.calls["ListGroupVersions"] - listed_by_the_test <= 1.2 * groups, sim.calls
