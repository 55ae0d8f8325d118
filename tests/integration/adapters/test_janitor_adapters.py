"""The adapters the janitor needs: group timestamps and the last deployment from the Greengrass adapter
(on the simulator and botocore's Stubber), `EventBridgeRequests` (Stubber, for refused entries and failed
calls; moto, for the real thing) and the janitor's ledger item (moto)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from gg_reset import ledger_schema as schema
from gg_reset.adapters.greengrass import Boto3Greengrass
from gg_reset.adapters.janitor_ledger import RUN_ATTRIBUTE, DynamoDBJanitorLedger
from gg_reset.adapters.notifier import SnsNotifier, sns_subject
from gg_reset.adapters.requests import EventBridgeRequests
from gg_reset.cleanup.janitor import JanitorConfig, JanitorRun, RunOutcome, SentRequest
from gg_reset.cleanup.selection import Selection, select
from gg_reset.contracts import request_entry
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.domain.safety import SafetyRules
from gg_reset.local.clock import SimulatedClock
from gg_reset.local.greengrass_sim import GreengrassSimulator

REGION = "us-east-1"
START = datetime(2026, 1, 1, tzinfo=UTC)


# --- Greengrass: timestamps and the last deployment --------------------------------------------------------


@pytest.fixture
def simulated() -> tuple[GreengrassSimulator, Boto3Greengrass, SimulatedClock]:
    clock = SimulatedClock(START)
    simulator = GreengrassSimulator(clock, lambda entries: None, rng=random.Random(1))
    return simulator, Boto3Greengrass(simulator.client()), clock


def test_list_groups_carries_creation_and_update_times(
    simulated: tuple[GreengrassSimulator, Boto3Greengrass, SimulatedClock],
) -> None:
    simulator, adapter, clock = simulated
    fresh = simulator.add_group(name="fresh", deployed=False)
    clock.advance(3600)
    [summary] = [g for g in adapter.list_groups() if g.group_id == fresh]
    assert summary.created_at == START and summary.updated_at == START
    assert summary.name == "fresh" and summary.arn == simulator.group_arn(fresh)


def test_last_deployment_is_the_newest_over_every_page_or_none(
    simulated: tuple[GreengrassSimulator, Boto3Greengrass, SimulatedClock],
) -> None:
    simulator, adapter, clock = simulated
    never = simulator.add_group(name="never", deployed=False)
    busy = simulator.add_group(name="busy", deployed=True)
    newest = clock.now()
    for _ in range(60):  # more than one ListDeployments page (50)
        clock.advance(60)
        newest = clock.now()
        simulator.deploy(busy)
        simulator.run_until_idle()
    assert adapter.last_deployment_at(never) is None
    assert adapter.last_deployment_at(busy) == newest
    assert adapter.last_deployment_at("no-such-group") is None  # ListDeployments does not check the group


def test_select_against_the_simulator_through_the_real_adapter(
    simulated: tuple[GreengrassSimulator, Boto3Greengrass, SimulatedClock],
) -> None:
    simulator, adapter, clock = simulated
    old = simulator.add_group(name="lab-old", deployed=True, tags={"gg-reset:expires-at": "2025-06-01"})
    clock.advance(10 * 86_400)
    new = simulator.add_group(name="lab-new", deployed=False, tags={"gg-reset:expires-at": "2025-06-01"})
    plan = select(
        adapter,
        Selection.parse("name=lab-* expired older-than=5d not-deployed=1d"),
        clock.now(),
        SafetyRules(),
    )
    verdicts = {e.group_id: e.verdict.value for e in plan.entries}
    assert verdicts == {old: "act", new: "not-selected"}
    assert simulator.calls["ListGroups"] == 1
    assert simulator.calls["GetGroup"] == 1 and simulator.calls["ListDeployments"] == 1


def test_unreadable_list_timestamps_are_none(stubbed: tuple[Boto3Greengrass, Stubber]) -> None:
    adapter, stubber = stubbed
    stubber.add_response(
        "list_groups",
        {
            "Groups": [
                {"Id": "g1", "Name": "a", "Arn": "arn:g1", "CreationTimestamp": "2019-06-25T18:07:17.688Z"},
                {"Id": "g2", "Name": "b", "Arn": "arn:g2", "CreationTimestamp": "yesterday"},
            ]
        },
    )
    first, second = adapter.list_groups()
    assert first.created_at == datetime(2019, 6, 25, 18, 7, 17, 688_000, tzinfo=UTC)
    assert first.updated_at is None
    assert second.created_at is None


def test_a_deployment_without_a_readable_creation_time_is_not_skipped(
    stubbed: tuple[Boto3Greengrass, Stubber],
) -> None:
    adapter, stubber = stubbed
    stubber.add_response(
        "list_deployments",
        {
            "Deployments": [
                {"DeploymentId": "d1", "CreatedAt": "2026-01-01T00:00:00.000Z"},
                {"DeploymentId": "d2", "CreatedAt": "soon"},
            ]
        },
        {"GroupId": "g1", "MaxResults": "50"},
    )
    with pytest.raises(GreengrassError) as raised:
        adapter.last_deployment_at("g1")
    assert raised.value.kind is ErrorKind.UNKNOWN and "d2" in raised.value.message


# --- EventBridgeRequests -----------------------------------------------------------------------------------


def _entries(count: int) -> list[dict[str, Any]]:
    return [
        request_entry(group_id=f"g{i}", deletion=True, bus_name="gg-reset", request_id=f"r{i}")
        for i in range(count)
    ]


@pytest.fixture
def events_stub() -> Iterator[tuple[Any, Stubber, list[float]]]:
    client = boto3.client("events", region_name=REGION, endpoint_url="http://127.0.0.1:9")
    slept: list[float] = []
    with Stubber(client) as stubber:
        yield EventBridgeRequests(client, sleep=slept.append), stubber, slept
        stubber.assert_no_pending_responses()


def test_entries_go_ten_per_call(events_stub: tuple[Any, Stubber, list[float]]) -> None:
    bus, stubber, slept = events_stub
    entries = _entries(23)
    for start, size in ((0, 10), (10, 10), (20, 3)):
        stubber.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{start + i}"} for i in range(size)]},
            {"Entries": entries[start : start + size]},
        )
    deliveries = bus.send(entries)
    assert [d.event_id for d in deliveries] == [f"e{i}" for i in range(23)]
    assert all(d.accepted and d.attempts == 1 for d in deliveries) and slept == []


def test_refused_entries_are_retried_alone_and_permanent_refusals_are_not(
    events_stub: tuple[Any, Stubber, list[float]],
) -> None:
    bus, stubber, slept = events_stub
    entries = _entries(3)
    stubber.add_response(
        "put_events",
        {
            "FailedEntryCount": 2,
            "Entries": [
                {"EventId": "e0"},
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                {"ErrorCode": "MalformedDetail", "ErrorMessage": "bad"},
            ],
        },
        {"Entries": entries},
    )
    stubber.add_response(
        "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]}, {"Entries": [entries[1]]}
    )
    deliveries = bus.send(entries)
    assert [(d.event_id, d.error, d.attempts) for d in deliveries] == [
        ("e0", None, 1),
        ("e1", None, 2),
        (None, "MalformedDetail: bad", 1),
    ]
    assert slept == [0.5]


def test_retries_are_bounded(events_stub: tuple[Any, Stubber, list[float]]) -> None:
    bus, stubber, slept = events_stub
    [entry] = _entries(1)
    for _ in range(4):
        stubber.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "oops"}]},
            {"Entries": [entry]},
        )
    [delivery] = bus.send([entry])
    assert delivery.error == "InternalFailure: oops" and delivery.attempts == 4
    assert slept == [0.5, 1.0, 2.0]


def test_a_failed_call_is_retried_when_transient_and_fails_every_entry_otherwise(
    events_stub: tuple[Any, Stubber, list[float]],
) -> None:
    bus, stubber, _ = events_stub
    entries = _entries(2)
    stubber.add_client_error("put_events", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_response(
        "put_events",
        {"FailedEntryCount": 0, "Entries": [{"EventId": "a"}, {"EventId": "b"}]},
        {"Entries": entries},
    )
    assert [d.event_id for d in bus.send(entries)] == ["a", "b"]
    stubber.add_client_error("put_events", "ResourceNotFoundException", "no such bus", 400)
    assert [d.error for d in bus.send(entries)] == ["ResourceNotFoundException: no such bus"] * 2


def test_requests_reach_a_rule_on_moto() -> None:
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name="gg-reset")
        queue = sqs.create_queue(QueueName="q")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="r", EventBusName="gg-reset", EventPattern=json.dumps({"source": ["gg-reset"]}))
        events.put_targets(Rule="r", EventBusName="gg-reset", Targets=[{"Id": "q", "Arn": arn}])
        deliveries = EventBridgeRequests(events).send(_entries(12))
        assert all(d.accepted for d in deliveries)
        received = 0
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            received += len(batch)
            sqs.delete_message_batch(
                QueueUrl=queue,
                Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch],
            )
        assert received == 12


# --- the janitor's ledger item -----------------------------------------------------------------------------


def _run(run_id: str, at: datetime, outcome: RunOutcome = RunOutcome.PLANNED) -> JanitorRun:
    return JanitorRun(
        run_id=run_id,
        scheduled_at=at,
        started_at=at,
        finished_at=at + timedelta(seconds=5),
        config=JanitorConfig.default(),
        outcome=outcome,
        plan=None,
        sent=(SentRequest("g1", f"janitor:{run_id}:g1", event_id="e1"),),
    )


def test_runs_are_recorded_under_their_own_partition_with_a_ttl_and_read_back_newest_first() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**schema.create_table_kwargs("ledger"))
        ledger = DynamoDBJanitorLedger(client, "ledger", retention=timedelta(days=90))
        ledger.record_run(_run("first", START))
        ledger.record_run(_run("second", START + timedelta(days=1), RunOutcome.SENT))
        ledger.record_run(_run("second", START + timedelta(days=1), RunOutcome.SENT))  # a retried run
        items = client.scan(TableName="ledger")["Items"]
        assert sorted(i[schema.SORT_KEY]["S"] for i in items) == [
            "RUN#2026-01-01T00:00:00Z#first",
            "RUN#2026-01-02T00:00:00Z#second",
        ]
        assert {i[schema.PARTITION_KEY]["S"] for i in items} == {"JANITOR"}
        first = next(i for i in items if i["run_id"]["S"] == "first")
        assert int(first[schema.TTL_ATTRIBUTE]["N"]) == int(
            (START + timedelta(days=90, seconds=5)).timestamp()
        )
        assert first["outcome"]["S"] == "planned" and first["dry_run"]["BOOL"] is True
        assert not {"record", "workflow", "step"} & set(first)  # invisible to the group readers
        assert json.loads(first[RUN_ATTRIBUTE]["S"])["run_id"] == "first"
        assert [r["run_id"] for r in ledger.runs()] == ["second", "first"]
        assert [r["run_id"] for r in ledger.runs(limit=1)] == ["second"]


def test_run_notices_go_to_the_topic_with_an_sns_safe_subject() -> None:
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="t")["TopicArn"]
        queue = sqs.create_queue(QueueName="n")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        notice = _run("r", START).notice()
        SnsNotifier(sns, topic).notify_run(notice)
        [message] = sqs.receive_message(QueueUrl=queue).get("Messages", [])
        body = json.loads(message["Body"])
        assert body["source"] == "janitor" and body["run_id"] == "r" and body["outcome"] == "planned"
    assert sns_subject("é" * 200) == "?" * 100
