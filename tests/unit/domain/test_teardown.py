"""The teardown's vocabulary (`gg_reset.domain.teardown`), the policy's ceiling, and the ledger's plain form
of a workflow that tears down what a group owned.

The workflow's transitions with a teardown are in the transition matrix (test_workflow_transitions.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gg_reset.contracts import DeploymentStatus, DeploymentType
from gg_reset.domain.events import (
    DeploymentStatusReported,
    Event,
    GroupDeleted,
    GroupInspected,
    RequestReceived,
    ResetAccepted,
    ResourceTornDown,
    TeardownCollected,
)
from gg_reset.domain.model import GroupRecord, Request, RequestKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.teardown import (
    DEFINITION_KINDS,
    TEARDOWN_ORDER,
    Resource,
    ResourceKind,
    ResourceOutcome,
    Teardown,
    in_teardown_order,
    next_resource,
    summary,
)
from gg_reset.domain.workflow import transition
from gg_reset.shell.codec import record_from_plain, request_from_plain, to_plain, workflow_from_plain

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GROUP = "g-1"
K = ResourceKind
Out = ResourceOutcome


def resource(kind: ResourceKind, resource_id: str, **fields: object) -> Resource:
    return Resource(kind, f"arn:{kind.value}/{resource_id}", resource_id, **fields)  # type: ignore[arg-type]


CORE = resource(K.CORE_DEFINITION, "c-1")
FUNCTIONS = resource(K.FUNCTION_DEFINITION, "f-1", used_by=("group g-2",))
CONNECTORS = resource(K.CONNECTOR_DEFINITION, "x-1")
CERTIFICATE = resource(K.CERTIFICATE, "cert-1", core_thing="core-1")
THING = resource(K.THING, "core-1", used_by=("Greengrass V2 core device core-1",))


# --- levels and kinds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "ceiling", "allowed"),
    [
        (Teardown.GROUP, Teardown.GROUP, True),
        (Teardown.GROUP, Teardown.THINGS, True),
        (Teardown.DEFINITIONS, Teardown.GROUP, False),
        (Teardown.DEFINITIONS, Teardown.DEFINITIONS, True),
        (Teardown.DEFINITIONS, Teardown.THINGS, True),
        (Teardown.THINGS, Teardown.DEFINITIONS, False),
        (Teardown.THINGS, Teardown.THINGS, True),
    ],
)
def test_each_level_includes_the_one_before(level: Teardown, ceiling: Teardown, allowed: bool) -> None:
    assert level.at_most(ceiling) is allowed
    assert (level.rank <= ceiling.rank) is allowed


def test_the_levels_are_spelled_as_requests_spell_them() -> None:
    assert [t.value for t in sorted(Teardown, key=lambda t: t.rank)] == ["group", "definitions", "things"]
    assert Teardown("things") is Teardown.THINGS


def test_definitions_come_first_then_the_certificate_then_the_thing() -> None:
    assert len(DEFINITION_KINDS) == 7 and all(kind.is_definition for kind in DEFINITION_KINDS)
    assert all(kind.value.endswith("Definition") for kind in DEFINITION_KINDS)
    assert not K.CERTIFICATE.is_definition and not K.THING.is_definition
    assert (*DEFINITION_KINDS, K.CERTIFICATE, K.THING) == TEARDOWN_ORDER


# --- resources -------------------------------------------------------------------------------------------


def test_a_resource_is_done_once_it_has_an_outcome_and_describes_itself_by_kind_and_id() -> None:
    assert not CORE.done and CORE.describe() == "CoreDefinition c-1"
    ended = CORE.ended(Out.KEPT, "used by group g-2")
    assert ended.done and (ended.outcome, ended.detail) == (Out.KEPT, "used by group g-2")
    assert replace(ended, outcome=None, detail="") == CORE  # nothing else changed
    assert THING.describe() == "Thing core-1"


def test_in_teardown_order_sorts_by_kind_then_arn_and_keeps_each_arn_once() -> None:
    other_core = resource(K.CORE_DEFINITION, "a-0")
    ordered = in_teardown_order((THING, CONNECTORS, FUNCTIONS, CERTIFICATE, CORE, other_core, FUNCTIONS))
    assert ordered == (other_core, CORE, FUNCTIONS, CONNECTORS, CERTIFICATE, THING)
    assert in_teardown_order(()) == ()
    # The same ARN twice (two versions referencing one definition) is one resource.
    twice = in_teardown_order((FUNCTIONS, replace(FUNCTIONS, used_by=())))
    assert [r.arn for r in twice] == [FUNCTIONS.arn]


def test_next_resource_is_the_first_without_an_outcome() -> None:
    resources = (CORE.ended(Out.DELETED, "deleted"), FUNCTIONS, CONNECTORS)
    assert next_resource(resources) == FUNCTIONS
    assert next_resource((CORE.ended(Out.DELETED, ""), FUNCTIONS.ended(Out.FAILED, ""))) is None
    assert next_resource(()) is None


def test_the_summary_counts_outcomes_in_their_order_and_names_what_failed_and_what_was_kept() -> None:
    assert summary(()) == "nothing else to delete"
    assert summary((CORE, FUNCTIONS)) == "nothing else to delete"  # no turn has come yet
    resources = (
        CORE.ended(Out.DELETED, "deleted"),
        FUNCTIONS.ended(Out.KEPT, "used by group g-2"),
        CONNECTORS.ended(Out.FAILED, "refused: AccessDenied"),
        CERTIFICATE.ended(Out.ALREADY_GONE, "not found"),
        THING.ended(Out.DELETED, "deleted"),
    )
    assert summary(resources) == (
        "2 deleted, 1 already-gone, 1 kept, 1 failed; "
        "not deleted: ConnectorDefinition x-1: refused: AccessDenied; "
        "kept: FunctionDefinition f-1: used by group g-2"
    )
    assert summary((CORE.ended(Out.DELETED, ""), FUNCTIONS)) == "1 deleted"  # the rest not yet answered


# --- the policy's ceiling --------------------------------------------------------------------------------


def test_the_ceiling_is_definitions_unless_the_things_teardown_is_enabled() -> None:
    assert WorkflowPolicy().teardown_ceiling is Teardown.DEFINITIONS
    assert WorkflowPolicy().teardown_default is Teardown.GROUP
    assert WorkflowPolicy(things_teardown=True).teardown_ceiling is Teardown.THINGS


@pytest.mark.parametrize("default", [Teardown.GROUP, Teardown.DEFINITIONS])
def test_a_default_within_the_ceiling_is_accepted(default: Teardown) -> None:
    assert WorkflowPolicy(teardown_default=default).teardown_default is default
    assert WorkflowPolicy(teardown_default=Teardown.THINGS, things_teardown=True).teardown_default is (
        Teardown.THINGS
    )


def test_a_default_of_things_without_the_things_teardown_is_refused() -> None:
    with pytest.raises(ValueError, match="teardown_default=things needs things_teardown"):
        WorkflowPolicy(teardown_default=Teardown.THINGS)


# --- the ledger's plain form -----------------------------------------------------------------------------

OWN = "dep-own"
POLICY = WorkflowPolicy()


def deletion(request_id: str, teardown: Teardown | None, at: datetime = T0) -> RequestReceived:
    return RequestReceived(
        Request(request_id, RequestKind.DELETION, GROUP, at, "alice", "ticket-42", teardown=teardown)
    )


def drive(record: GroupRecord, *events: Event, at: datetime = T0) -> GroupRecord:
    for event in events:
        record = transition(record, event, at, POLICY).record
    return record


def tearing_down() -> GroupRecord:
    """A record whose active workflow is tearing down (one resource answered, one not yet), with a deletion
    finished before it, built by the real workflow."""
    success = DeploymentStatusReported(OWN, DeploymentType.RESET, DeploymentStatus.SUCCESS)
    reset = (GroupInspected(exists=True), ResetAccepted(OWN, forced=False), success)
    finished = drive(
        GroupRecord(GROUP),
        deletion("r0", Teardown.DEFINITIONS, T0 - timedelta(hours=1)),
        *reset,
        TeardownCollected((CORE,)),
        GroupDeleted(),
        ResourceTornDown(CORE.arn, Out.KEPT, "used by group g-2"),
        at=T0 - timedelta(hours=1),
    )
    assert finished.last is not None and finished.last.state is WorkflowState.DELETED
    return drive(
        finished,
        deletion("r1", Teardown.DEFINITIONS),
        *reset,
        TeardownCollected((FUNCTIONS, CORE, CONNECTORS, CERTIFICATE, THING)),
        GroupDeleted(),
        ResourceTornDown(CORE.arn, Out.ALREADY_GONE, "not found"),
    )


def test_a_workflow_with_resources_survives_the_round_trip() -> None:
    record = tearing_down()
    wf = record.active
    assert wf is not None and wf.state is WorkflowState.TEARING_DOWN and wf.collected
    assert wf.teardown is Teardown.DEFINITIONS and wf.request.teardown is Teardown.DEFINITIONS
    assert [(r.resource_id, r.outcome) for r in wf.resources] == [
        ("c-1", Out.ALREADY_GONE),
        ("f-1", None),
        ("x-1", None),
    ]
    plain = json.loads(json.dumps(to_plain(wf)))  # what the ledger and the reports hold
    assert workflow_from_plain(plain) == wf
    assert record_from_plain(json.loads(json.dumps(to_plain(record)))) == record


def test_a_resource_keeps_everything_it_was_collected_with() -> None:
    full = replace(CERTIFICATE, used_by=("thing other-1",)).ended(Out.FAILED, "refused")
    wf = tearing_down().active
    assert wf is not None
    again = workflow_from_plain(to_plain(replace(wf, resources=(full, THING))))
    assert again.resources == (full, THING)
    assert again.resources[0].core_thing == "core-1" and again.resources[1].used_by == THING.used_by


@pytest.mark.parametrize("teardown", [None, *Teardown])
def test_the_request_s_teardown_survives_and_none_stays_the_default(teardown: Teardown | None) -> None:
    """An explicit `group` is not the same as none (the default may change with the stack)."""
    request = deletion("r1", teardown).request
    assert request_from_plain(to_plain(request)).teardown is teardown
    record = drive(GroupRecord(GROUP), deletion("r1", teardown))  # things: REJECTED under the default
    assert record.current is not None and record.current.request.teardown is teardown
    assert record_from_plain(to_plain(record)) == record


def test_an_item_written_before_teardowns_existed_reads_as_a_group_only_deletion() -> None:
    record = drive(GroupRecord(GROUP), deletion("r1", None))
    assert record.active is not None
    plain = to_plain(record.active)
    for name in ("teardown", "resources", "collected"):
        plain.pop(name)
    plain["request"].pop("teardown", None)
    old = workflow_from_plain(plain)
    assert (old.teardown, old.resources, old.collected, old.request.teardown) == (
        Teardown.GROUP,
        (),
        False,
        None,
    )
    assert old == record.active
