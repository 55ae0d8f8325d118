"""The Lambda handlers with the event shapes Lambda hands them (SQS batch, scheduled event), on
in-memory ports: what each message's outcome does to the batch response."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from gg_reset import wiring
from gg_reset.contracts import request_entry
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.handlers import sweeper, worker
from gg_reset.local.runtime import LambdaContext
from gg_reset.service import ResetService
from support.fakes import FakeGreengrass, InMemoryLedger, ManualClock, RecordingNotifier, error


@pytest.fixture
def env() -> Iterator[tuple[ResetService, InMemoryLedger, FakeGreengrass, ManualClock]]:
    ledger, greengrass, clock = InMemoryLedger(), FakeGreengrass(), ManualClock()
    service = ResetService(
        ledger=ledger,
        greengrass=greengrass,
        notifier=RecordingNotifier(),
        clock=clock,
        policy=WorkflowPolicy(),
    )
    wiring.install(service)
    yield service, ledger, greengrass, clock
    wiring.install(None)


def eventbridge_body(group_id: str, *, deletion: bool = True, **detail: Any) -> str:
    entry = request_entry(group_id=group_id, deletion=deletion, bus_name="gg-reset")
    merged = {**json.loads(entry["Detail"]), **detail}
    return json.dumps(
        {
            "version": "0",
            "id": f"evt-{group_id}",
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": merged,
        }
    )


def sqs_record(message_id: str, body: str, receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1767225600000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1767225600000",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:gg-reset-work",
        "awsRegion": "us-east-1",
    }


def test_batch_reports_only_the_throttled_message_as_failed(env) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, _ = env
    greengrass.add_group("g-ok")
    greengrass.add_group("g-throttled")
    greengrass.script(
        "inspect_group",
        *[],
    )
    original = greengrass.inspect_group

    def inspect(group_id: str):  # type: ignore[no-untyped-def]
        if group_id == "g-throttled":
            raise error(ErrorKind.THROTTLED, "GetGroup")
        return original(group_id)

    greengrass.inspect_group = inspect  # type: ignore[method-assign]
    event = {
        "Records": [
            sqs_record("m-ok", eventbridge_body("g-ok")),
            sqs_record("m-poison", "{not json"),
            sqs_record("m-throttled", eventbridge_body("g-throttled")),
        ]
    }
    response = worker.handler(event, LambdaContext("gg-reset-worker"))

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-throttled"}]}
    assert ledger.load("g-ok").active is not None
    poison = ledger.load("_unparseable_").last
    assert poison is not None
    assert poison.state is WorkflowState.REJECTED
    assert "not JSON" in poison.reason
    throttled = ledger.load("g-throttled").active
    assert throttled is not None
    assert throttled.attempts == 1  # the retry is in the ledger too


def test_throttled_message_is_not_handed_back_forever(env) -> None:  # type: ignore[no-untyped-def]
    _, _, greengrass, _ = env
    greengrass.add_group("g")
    greengrass.script("inspect_group", error(ErrorKind.THROTTLED, "GetGroup"))
    event = {"Records": [sqs_record("m", eventbridge_body("g"), receive_count=worker.RETRY_LATER_RECEIVES)]}
    assert worker.handler(event, LambdaContext("gg-reset-worker")) == {"batchItemFailures": []}


def test_a_batch_where_every_message_is_throttled_is_not_a_lambda_error(env) -> None:  # type: ignore[no-untyped-def]
    _, _, greengrass, _ = env
    greengrass.add_group("a")
    greengrass.script("inspect_group", error(ErrorKind.THROTTLED))
    response = worker.handler({"Records": [sqs_record("m-a", eventbridge_body("a"))]}, LambdaContext("w"))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-a"}]}


def test_after_a_throttle_the_rest_of_the_batch_is_deferred_in_the_ledger(env) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, clock = env
    for gid in ("a", "b"):
        greengrass.add_group(gid)
    greengrass.script("inspect_group", error(ErrorKind.THROTTLED))
    event = {"Records": [sqs_record("m-a", eventbridge_body("a")), sqs_record("m-b", eventbridge_body("b"))]}
    response = worker.handler(event, LambdaContext("gg-reset-worker"))

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-a"}]}
    assert greengrass.calls["inspect_group"] == 1  # b was not sent into the throttle
    deferred = ledger.load("b").active
    assert deferred is not None
    assert deferred.attempts == 0
    assert deferred.next_action_at is not None
    assert deferred.next_action_at > clock.now()


def test_sweeper_drives_overdue_workflows_and_reports_counts(env) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, clock = env
    greengrass.add_group("g")
    worker.handler({"Records": [sqs_record("m", eventbridge_body("g", deletion=False))]}, LambdaContext("w"))
    assert sweeper.handler({}, LambdaContext("gg-reset-sweeper")) == {"swept": 0, "failed": []}
    clock.advance(WorkflowPolicy().reset_timeout_s + 1)
    assert sweeper.handler({}, LambdaContext("gg-reset-sweeper")) == {"swept": 1, "failed": []}
    active = ledger.load("g").active
    assert active is not None
    assert active.state is WorkflowState.FORCE_RESETTING


def test_worker_logs_carry_group_and_request_id(env) -> None:  # type: ignore[no-untyped-def]
    _, _, greengrass, _ = env
    greengrass.add_group("g-log")
    from gg_reset.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    previous = logger.log_level
    logger.setLevel("INFO")
    try:
        worker.handler(
            {"Records": [sqs_record("m", eventbridge_body("g-log", **{"request-id": "ticket-9"}))]},
            LambdaContext("gg-reset-worker"),
        )
    finally:
        logger.setLevel(previous)
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    handled = [line for line in lines if line.get("message") == "event handled"]
    assert handled
    assert handled[0]["group_id"] == "g-log"
    assert handled[0]["request_id"] == "ticket-9"
    assert handled[0]["function_name"] == "gg-reset-worker"


class NearlyOutOfTime(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 5_000


def test_worker_hands_back_records_it_has_no_time_left_for(env) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, _ = env
    greengrass.add_group("late")
    event = {"Records": [sqs_record("m-late", eventbridge_body("late"))]}
    response = worker.handler(event, NearlyOutOfTime("gg-reset-worker"))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-late"}]}
    assert ledger.load("late").active is None  # not started: nothing half-done
    assert greengrass.calls == {}


def test_sweeper_stops_when_its_invocation_is_nearly_out_of_time(env) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, clock = env
    greengrass.add_group("g")
    worker.handler({"Records": [sqs_record("m", eventbridge_body("g", deletion=False))]}, LambdaContext("w"))
    clock.advance(WorkflowPolicy().reset_timeout_s + 1)
    assert sweeper.handler({}, NearlyOutOfTime("gg-reset-sweeper")) == {"swept": 0, "failed": []}
    assert ledger.due_groups(clock.now()) == ["g"]  # still due for the next sweep


def test_a_malformed_status_event_is_dropped_and_counted_not_recorded(env, capfd) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, _ = env
    body = json.dumps(
        {
            "version": "0",
            "id": "evt-bad-status",
            "detail-type": "Greengrass Deployment Status Change",
            "source": "aws.greengrass",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "group-id": "g-s",
                "deployment-id": "d",
                "deployment-type": "Rollback",
                "status": "Success",
            },
        }
    )
    response = worker.handler({"Records": [sqs_record("m", body)]}, LambdaContext("gg-reset-worker"))
    assert response == {"batchItemFailures": []}
    assert ledger.records == {}
    assert greengrass.calls == {}
    emitted = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any(doc.get(worker.MALFORMED_STATUS_EVENTS) == [1.0] for doc in emitted)
