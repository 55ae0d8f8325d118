"""The DynamoDB ledger adapter against Amazon's own engine (DynamoDB Local)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from gg_reset import ledger_schema as schema
from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger
from gg_reset.domain.events import RequestReceived, Tick
from gg_reset.domain.model import GroupRecord, Request, RequestKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import transition
from gg_reset.local.runtime import SequentialWriteLedger
from gg_reset.ports import VersionConflict
from gg_reset.shell.service import ResetService
from support.fakes import EPOCH, FakeGreengrass, ManualClock, RecordingNotifier

pytestmark = pytest.mark.dynamodb_local
POLICY = WorkflowPolicy()


@pytest.fixture
def ledger(dynamodb_local_client, ledger_table_name) -> DynamoDBLedger:  # type: ignore[no-untyped-def]
    return DynamoDBLedger(dynamodb_local_client, ledger_table_name, retention=timedelta(days=90))


def request(request_id: str = "r1", kind: RequestKind = RequestKind.DELETION, group: str = "g1") -> Request:
    return Request(request_id=request_id, kind=kind, group_id=group, received_at=EPOCH, requested_by="test")


def test_unknown_group_loads_as_empty_record(ledger: DynamoDBLedger) -> None:
    assert ledger.load("nope") == GroupRecord(group_id="nope")


def test_save_round_trips_record_steps_and_finished_workflows(ledger: DynamoDBLedger) -> None:
    record = ledger.load("g1")
    decision = transition(record, RequestReceived(request(kind=RequestKind.RESET)), EPOCH, POLICY)
    stored = ledger.save(record, decision)

    assert stored.version == 1
    assert ledger.load("g1") == stored
    active = stored.active
    assert active is not None
    assert [s.kind for s in ledger.history("g1", active.workflow_id)] == [s.kind for _, s in decision.steps]
    assert ledger.workflows("g1") == [active]


def test_second_writer_with_stale_version_gets_version_conflict(ledger: DynamoDBLedger) -> None:
    record = ledger.load("g1")
    first = transition(record, RequestReceived(request("a")), EPOCH, POLICY)
    second = transition(record, RequestReceived(request("b")), EPOCH, POLICY)
    ledger.save(record, first)
    with pytest.raises(VersionConflict):
        ledger.save(record, second)
    stored = ledger.load("g1")
    assert stored.active is not None and stored.active.request_ids == ("a",)


def test_two_concurrent_workers_on_one_group_exactly_one_resets(
    dynamodb_local_client,  # type: ignore[no-untyped-def]
    ledger_table_name: str,
) -> None:
    """Two workers, two different requests for the same group at the same moment: one workflow, one
    ResetDeployments call; the other request joins it."""
    greengrass = FakeGreengrass()
    greengrass.add_group("g1")
    barrier = threading.Barrier(2)

    class RacingLedger(DynamoDBLedger):
        def load(self, group_id: str) -> GroupRecord:
            record = super().load(group_id)
            if record.version == 0:
                barrier.wait(timeout=10)  # both workers read the empty record before either writes
            return record

    def worker(request_id: str) -> None:
        service = ResetService(
            ledger=RacingLedger(dynamodb_local_client, ledger_table_name, retention=timedelta(days=1)),
            greengrass=greengrass,
            notifier=RecordingNotifier(),
            clock=ManualClock(),
            policy=POLICY,
        )
        service.handle("g1", RequestReceived(request(request_id)))

    threads = [threading.Thread(target=worker, args=(rid,)) for rid in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert greengrass.calls["reset_deployments"] == 1
    assert greengrass.calls["inspect_group"] == 1
    record = DynamoDBLedger(dynamodb_local_client, ledger_table_name, retention=timedelta(days=1)).load("g1")
    assert record.active is not None
    assert sorted(record.active.request_ids) == ["a", "b"]


def test_due_index_holds_only_active_workflows_and_orders_by_due_time(ledger: DynamoDBLedger) -> None:
    service = ResetService(
        ledger=ledger,
        greengrass=_fleet("g1", "g2", "protected"),
        notifier=RecordingNotifier(),
        clock=ManualClock(),
        policy=POLICY,
    )
    for gid in ("g1", "g2", "protected"):
        service.handle(gid, RequestReceived(request(f"r-{gid}", group=gid)))

    assert ledger.load("protected").last is not None
    assert ledger.due_groups(EPOCH) == []  # the resets wait for their one poll, at the deadline
    later = EPOCH + timedelta(seconds=POLICY.reset_timeout_s)
    assert sorted(ledger.due_groups(later)) == ["g1", "g2"]
    assert ledger.due_groups(later, limit=1) in (["g1"], ["g2"])


def test_the_sharded_due_index_merges_its_shards_most_overdue_first(
    ledger: DynamoDBLedger,
    dynamodb_local_client,
    ledger_table_name,  # type: ignore[no-untyped-def]
) -> None:
    clock = ManualClock()
    groups = [f"g{n:02d}" for n in range(40)]
    service = ResetService(
        ledger=ledger,
        greengrass=_fleet(*groups),
        notifier=RecordingNotifier(),
        clock=clock,
        policy=POLICY,
    )
    for gid in groups:  # one second apart: due times one second apart, in this order
        service.handle(gid, RequestReceived(request(f"r-{gid}", group=gid)))
        clock.advance(1)
    assert len({schema.due_bucket(gid) for gid in groups}) > 1  # spread over several shards
    deadline_of_last = EPOCH + timedelta(seconds=POLICY.reset_timeout_s + len(groups))
    assert ledger.due_groups(deadline_of_last) == groups
    assert ledger.due_groups(deadline_of_last, limit=5) == groups[:5]

    # The local runtime's in-memory copy of the index answers exactly as the GSI does.
    local = SequentialWriteLedger(dynamodb_local_client, ledger_table_name, retention=timedelta(days=90))
    local_service = ResetService(
        ledger=local,
        greengrass=_fleet(*groups),
        notifier=RecordingNotifier(),
        clock=clock,
        policy=POLICY,
    )
    for gid in groups[:10]:
        local_service.handle(gid, Tick())  # nothing due: no write, nothing indexed yet
        local_service.handle(gid, RequestReceived(request(f"r2-{gid}", kind=RequestKind.RESET, group=gid)))
    for at in (clock.now(), deadline_of_last, clock.now() + timedelta(days=1)):
        assert local.due_groups(at) == [g for g in ledger.due_groups(at) if g in groups[:10]]


def test_finished_workflow_is_stored_alone_with_ttl(ledger: DynamoDBLedger, dynamodb_local_client) -> None:  # type: ignore[no-untyped-def]
    service = ResetService(
        ledger=ledger,
        greengrass=_fleet("protected"),
        notifier=RecordingNotifier(),
        clock=ManualClock(),
        policy=POLICY,
    )
    service.handle("protected", RequestReceived(request("r", group="protected")))
    [workflow] = ledger.workflows("protected")
    assert workflow.state is WorkflowState.REJECTED

    item = dynamodb_local_client.get_item(
        TableName=ledger.table_name,
        Key={
            schema.PARTITION_KEY: {"S": schema.group_partition("protected")},
            schema.SORT_KEY: {"S": schema.workflow_sort_key(workflow.workflow_id)},
        },
    )["Item"]
    assert item["state"] == {"S": "REJECTED"}
    expected_expiry = int((EPOCH + timedelta(days=90)).timestamp())
    assert int(item[schema.TTL_ATTRIBUTE]["N"]) == expected_expiry
    head = dynamodb_local_client.get_item(
        TableName=ledger.table_name,
        Key={
            schema.PARTITION_KEY: {"S": schema.group_partition("protected")},
            schema.SORT_KEY: {"S": schema.HEAD_SORT_KEY},
        },
    )["Item"]
    assert schema.DUE_INDEX_PARTITION_KEY not in head  # finished: out of the sweeper's index


def test_sweep_through_dynamodb_escalates_overdue_reset(ledger: DynamoDBLedger) -> None:
    clock = ManualClock()
    greengrass = _fleet("g1")
    service = ResetService(
        ledger=ledger, greengrass=greengrass, notifier=RecordingNotifier(), clock=clock, policy=POLICY
    )
    service.handle("g1", RequestReceived(request(kind=RequestKind.RESET)))
    clock.advance(POLICY.reset_timeout_s + 1)
    report = service.sweep()
    assert report.looked_at == ("g1",)
    record = ledger.load("g1")
    assert record.active is not None and record.active.state is WorkflowState.FORCE_RESETTING
    assert [force for _, force, _ in greengrass.tokens] == [False, True]
    assert service.handle("g1", Tick()).record.version == record.version  # nothing due: no write


def _fleet(*groups: str) -> FakeGreengrass:
    greengrass = FakeGreengrass()
    for gid in groups:
        greengrass.add_group(gid, {"gg-reset:protect": "true"} if gid == "protected" else {})
    return greengrass
