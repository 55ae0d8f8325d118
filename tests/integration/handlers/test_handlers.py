"""The Lambda handlers with the event shapes Lambda hands them (SQS batch, scheduled event), on
in-memory ports: what each message's outcome does to the batch response."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from gg_reset import metric_names
from gg_reset.contracts import request_entry, timer_message_body
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.handlers import sweeper, worker
from gg_reset.local.runtime import LambdaContext
from gg_reset.settings import SWEEP_GRACE_S
from gg_reset.shell import wiring
from gg_reset.shell.budget import RequestBudget
from gg_reset.shell.service import ResetService
from support.fakes import (
    FakeGreengrass,
    InMemoryLedger,
    ManualClock,
    RecordingNotifier,
    RecordingTimers,
    error,
)
from support.lambda_events import sqs_record

CLOCK: list[ManualClock] = [ManualClock()]
"""The clock of the current test's service (for `ctx`)."""


@pytest.fixture
def env() -> Iterator[tuple[ResetService, InMemoryLedger, FakeGreengrass, ManualClock]]:
    ledger, greengrass, clock = InMemoryLedger(), FakeGreengrass(), ManualClock()
    CLOCK[0] = clock
    service = ResetService(
        ledger=ledger,
        greengrass=greengrass,
        notifier=RecordingNotifier(),
        clock=clock,
        policy=WorkflowPolicy(),
        timers=RecordingTimers(),
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


def ctx(name: str = "gg-reset-worker", remaining_s: int = 120) -> LambdaContext:
    """A Lambda context whose remaining time runs on the tests' clock."""
    return LambdaContext(name, CLOCK[0], remaining_s, CLOCK[0].now())


def test_a_poison_message_is_recorded_and_the_rest_of_the_batch_is_processed(env) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, _ = env
    greengrass.add_group("g-ok")
    event = {
        "Records": [
            sqs_record("m-ok", eventbridge_body("g-ok")),
            sqs_record("m-poison", "{not json"),
        ]
    }
    assert worker.handler(event, ctx()) == {"batchItemFailures": []}
    assert ledger.load("g-ok").active is not None
    poisoned = [r.last for gid, r in ledger.records.items() if gid.startswith("_unparseable_")]
    assert len(poisoned) == 1 and poisoned[0] is not None
    assert poisoned[0].state is WorkflowState.REJECTED
    assert "not JSON" in poisoned[0].reason


def test_a_throttled_message_is_never_handed_back_to_sqs(env) -> None:  # type: ignore[no-untyped-def]
    service, ledger, greengrass, _ = env
    service.budget = RequestBudget(5, service.clock)
    greengrass.add_group("g")
    greengrass.script("inspect_group", *[error(ErrorKind.THROTTLED, "GetGroup")] * 50)
    event = {"Records": [sqs_record("m", eventbridge_body("g"))]}
    assert worker.handler(event, ctx()) == {"batchItemFailures": []}
    active = ledger.load("g").active
    assert active is not None and active.next_action_at is not None  # its retry is in the ledger
    assert service.timers.armed[-1] == ("g", active.next_action_at)  # ... and on its timer


def test_a_timer_message_drives_the_due_call(env) -> None:  # type: ignore[no-untyped-def]
    service, ledger, greengrass, clock = env
    greengrass.add_group("g")
    worker.handler({"Records": [sqs_record("m", eventbridge_body("g", deletion=False))]}, ctx())
    (_, due), *_ = service.timers.armed
    clock.current = due
    body = timer_message_body("g", due)
    assert worker.handler({"Records": [sqs_record("t", body)]}, ctx()) == {"batchItemFailures": []}
    assert greengrass.calls["get_deployment_status"] == 1  # the poll at the deadline
    active = ledger.load("g").active
    assert active is not None and active.state is WorkflowState.FORCE_RESETTING


def test_sweeper_drives_overdue_workflows_and_reports_counts(env) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, clock = env
    greengrass.add_group("g")
    worker.handler({"Records": [sqs_record("m", eventbridge_body("g", deletion=False))]}, ctx())
    assert sweeper.handler({}, ctx("gg-reset-sweeper", 55)) == {"swept": 0, "failed": []}
    clock.advance(WorkflowPolicy().reset_timeout_s + 1)  # due, but its timer has the grace to fire
    assert sweeper.handler({}, ctx("gg-reset-sweeper", 55)) == {"swept": 0, "failed": []}
    clock.advance(SWEEP_GRACE_S)  # the timer was lost: the sweeper is the safety net
    assert sweeper.handler({}, ctx("gg-reset-sweeper", 55)) == {"swept": 1, "failed": []}
    active = ledger.load("g").active
    assert active is not None
    assert active.state is WorkflowState.FORCE_RESETTING


def test_worker_logs_carry_group_and_request_id(env) -> None:  # type: ignore[no-untyped-def]
    _, _, greengrass, _ = env
    greengrass.add_group("g-log")
    from gg_reset.shell.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    previous = logger.log_level
    logger.setLevel("INFO")
    try:
        worker.handler(
            {"Records": [sqs_record("m", eventbridge_body("g-log", **{"request-id": "ticket-9"}))]},
            ctx(),
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


def test_worker_hands_back_records_it_has_no_time_left_for(env) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, _ = env
    greengrass.add_group("late")
    event = {"Records": [sqs_record("m-late", eventbridge_body("late"))]}
    response = worker.handler(event, ctx(remaining_s=5))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-late"}]}
    assert ledger.load("late").active is None  # not started: nothing half-done
    assert greengrass.calls == {}


def test_sweeper_stops_when_its_invocation_is_nearly_out_of_time(env) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, clock = env
    greengrass.add_group("g")
    worker.handler({"Records": [sqs_record("m", eventbridge_body("g", deletion=False))]}, ctx())
    clock.advance(WorkflowPolicy().reset_timeout_s + SWEEP_GRACE_S + 1)
    assert sweeper.handler({}, ctx("gg-reset-sweeper", 5)) == {"swept": 0, "failed": []}
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
    response = worker.handler({"Records": [sqs_record("m", body)]}, ctx())
    assert response == {"batchItemFailures": []}
    assert ledger.records == {}
    assert greengrass.calls == {}
    emitted = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any(doc.get(worker.MALFORMED_STATUS_EVENTS) == [1.0] for doc in emitted)


def status_body(account: str, region: str = "us-east-1") -> str:
    return json.dumps(
        {
            "version": "0",
            "id": f"evt-{account}-{region}",
            "detail-type": "Greengrass Deployment Status Change",
            "source": "aws.greengrass",
            "account": account,
            "time": "2026-01-01T00:00:00Z",
            "region": region,
            "resources": [],
            "detail": {
                "group-id": "g-f",
                "deployment-id": f"dep-{account}-{region}",
                "deployment-type": "NewDeployment",
                "status": "Failure",
            },
        }
    )


def test_a_failure_event_from_another_account_opens_no_remediation(env, capfd) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, _ = env
    greengrass.add_group("g-f")
    response = worker.handler({"Records": [sqs_record("m", status_body("999999999999"))]}, ctx())
    assert response == {"batchItemFailures": []}
    assert ledger.records == {} and greengrass.calls == {}
    emitted = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any(doc.get(metric_names.FOREIGN_STATUS_EVENTS) == [1.0] for doc in emitted)
    # The same event from the worker's own account opens one.
    worker.handler({"Records": [sqs_record("m2", status_body("123456789012"))]}, ctx())
    opened = ledger.load("g-f").current
    assert opened is not None and opened.kind.value == "remediation"


def test_a_failure_event_from_another_region_opens_no_remediation(env, capfd) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, _ = env
    greengrass.add_group("g-f")
    from gg_reset.shell.observability import logger

    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        response = worker.handler(
            {"Records": [sqs_record("m", status_body("123456789012", "eu-west-1"))]}, ctx()
        )
    finally:
        logger.removeHandler(handler)
    assert response == {"batchItemFailures": []}
    assert ledger.records == {} and greengrass.calls == {}
    emitted = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert any(doc.get(metric_names.FOREIGN_STATUS_EVENTS) == [1.0] for doc in emitted)
    warnings = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert any(w.get("event_region") == "eu-west-1" and w["level"] == "WARNING" for w in warnings)


def test_a_failure_event_from_the_workers_own_account_and_region_is_handled(env, capfd) -> None:  # type: ignore[no-untyped-def]
    _, ledger, greengrass, _ = env
    greengrass.add_group("g-f")
    response = worker.handler({"Records": [sqs_record("m", status_body("123456789012", "us-east-1"))]}, ctx())
    assert response == {"batchItemFailures": []}
    # Handled: the failure opened a remediation of the group (whatever came of it).
    workflow = ledger.load("g-f").current
    assert workflow is not None and workflow.kind.value == "remediation"
    assert workflow.request.trigger_deployment_id == "dep-123456789012-us-east-1"
    emitted = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert not any(metric_names.FOREIGN_STATUS_EVENTS in doc for doc in emitted)


def test_the_workers_own_region_falls_back_to_aws_region_when_its_arn_lacks_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert worker._own_account_and_region(ctx()) == ("123456789012", "us-east-1")
    no_region = SimpleNamespace(invoked_function_arn="arn:aws:lambda::123456789012:function:w")
    assert worker._own_account_and_region(no_region) == ("123456789012", "eu-central-1")  # type: ignore[arg-type]
    assert worker._own_account_and_region(None) == (None, "eu-central-1")
