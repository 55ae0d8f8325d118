"""From an SQS message body (an EventBridge event) to a domain event: valid requests, the AWS status
event, and poison messages that must become `InvalidRequestReceived` (recorded REJECTED, never retried)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from gg_reset.contracts import (
    DeploymentStatus,
    DeploymentType,
    DetailType,
    ForcePolicy,
    request_entry,
)
from gg_reset.domain.events import DeploymentStatusReported, InvalidRequestReceived, RequestReceived
from gg_reset.domain.model import Request, RequestKind
from gg_reset.shell.intake import UNPARSEABLE_GROUP, Intake, from_message_body, unparseable_group

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MESSAGE_ID = "sqs-msg-1"

AWS_STATUS_EVENT = """
{"version": "0", "id": "cd4d811e-ab12-322b-8255-EXAMPLEb1bc8",
 "detail-type": "Greengrass Deployment Status Change", "source": "aws.greengrass",
 "account": "123456789012", "time": "2018-03-22T00:38:11Z", "region": "us-west-2", "resources": [],
 "detail": {"group-id": "284dcd4e-24bc-4c8c-a770-EXAMPLEf03b8",
            "deployment-id": "4f38f1a7-3dd0-42a1-af48-EXAMPLE09681",
            "deployment-type": "NewDeployment",
            "status": "Failure"}}
"""
"""The AWS developer guide's example, verbatim: docs/greengrass-v1.md, "Deployment status-change events"."""


def envelope(
    detail: Any, detail_type: str = DetailType.RESET_REQUESTED.value, **extra: Any
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "evt-1",
        "detail-type": detail_type,
        "source": "platform.pipeline",
        "account": "123456789012",
        "time": "2026-03-01T11:59:59Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
        **extra,
    }


def parse(raw: Any) -> Intake:
    body = raw if isinstance(raw, str) else json.dumps(raw)
    return from_message_body(body, message_id=MESSAGE_ID, now=NOW)


def parsed_request(raw: Any) -> Request:
    intake = parse(raw)
    assert isinstance(intake.event, RequestReceived), intake.event
    assert intake.group_id == intake.event.request.group_id
    return intake.event.request


def invalid(raw: Any) -> InvalidRequestReceived:
    intake = parse(raw)
    assert isinstance(intake.event, InvalidRequestReceived), intake.event
    assert intake.group_id == intake.event.group_id
    assert intake.correlation_id == intake.event.request_id
    return intake.event


# --- valid requests -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detail_type", "kind"),
    [(DetailType.RESET_REQUESTED, RequestKind.RESET), (DetailType.DELETION_REQUESTED, RequestKind.DELETION)],
)
def test_a_request_with_every_field(detail_type: DetailType, kind: RequestKind) -> None:
    detail = {
        "group-id": "3f1a2b-c4d5:e6.f_7",
        "requested-by": "arn:aws:iam::123456789012:role/pipeline",
        "reason": "decommissioned site",
        "force": "never",
        "dry-run": True,
        "request-id": "req-42",
    }
    request = parsed_request(envelope(detail, detail_type.value))
    assert request == Request(
        request_id="req-42",
        kind=kind,
        group_id="3f1a2b-c4d5:e6.f_7",
        received_at=NOW,
        requested_by="arn:aws:iam::123456789012:role/pipeline",
        reason="decommissioned site",
        force=ForcePolicy.NEVER,
        dry_run=True,
    )
    assert parse(envelope(detail, detail_type.value)).correlation_id == "req-42"


def test_a_minimal_request_takes_the_defaults_and_the_event_id_as_request_id() -> None:
    request = parsed_request(envelope({"group-id": "g-1"}))
    assert request == Request(
        request_id="event:evt-1",
        kind=RequestKind.RESET,
        group_id="g-1",
        received_at=NOW,
        requested_by="unknown",
        reason="",
        force=ForcePolicy.AUTO,
        dry_run=False,
    )


@pytest.mark.parametrize(
    ("value", "force"),
    [
        ("auto", ForcePolicy.AUTO),
        ("AUTO", ForcePolicy.AUTO),
        ("Never", ForcePolicy.NEVER),
        ("NEVER", ForcePolicy.NEVER),
        ("immediately", ForcePolicy.IMMEDIATELY),
        ("Immediately", ForcePolicy.IMMEDIATELY),
    ],
)
def test_force_is_case_insensitive(value: str, force: ForcePolicy) -> None:
    assert parsed_request(envelope({"group-id": "g-1", "force": value})).force is force


def test_unknown_detail_fields_are_ignored() -> None:
    request = parsed_request(envelope({"group-id": "g-1", "ticket": "OPS-1"}))
    assert request.group_id == "g-1"


@pytest.mark.parametrize("deletion", [False, True])
def test_what_request_entry_puts_is_what_intake_reads(deletion: bool) -> None:
    entry = request_entry(
        group_id="g-9",
        deletion=deletion,
        bus_name="gg-reset",
        requested_by="janitor",
        reason="expired",
        force=ForcePolicy.IMMEDIATELY,
        dry_run=True,
        request_id="janitor-2026-03-01-g-9",
    )
    raw = envelope(json.loads(entry["Detail"]), entry["DetailType"], source=entry["Source"])
    request = parsed_request(raw)
    assert request.kind is (RequestKind.DELETION if deletion else RequestKind.RESET)
    assert (request.group_id, request.requested_by, request.reason) == ("g-9", "janitor", "expired")
    assert (request.force, request.dry_run, request.request_id) == (
        ForcePolicy.IMMEDIATELY,
        True,
        "janitor-2026-03-01-g-9",
    )


# --- the AWS deployment status event ---------------------------------------------------------------


def test_the_documented_aws_status_event() -> None:
    intake = parse(AWS_STATUS_EVENT)
    assert intake.group_id == "284dcd4e-24bc-4c8c-a770-EXAMPLEf03b8"
    assert intake.event == DeploymentStatusReported(
        deployment_id="4f38f1a7-3dd0-42a1-af48-EXAMPLE09681",
        deployment_type=DeploymentType.NEW,
        status=DeploymentStatus.FAILURE,
        source="event",
        error_message=None,
        occurred_at=datetime(2018, 3, 22, 0, 38, 11, tzinfo=UTC),
    )
    assert intake.correlation_id == "4f38f1a7-3dd0-42a1-af48-EXAMPLE09681"


def test_a_status_event_carries_the_account_and_region_it_claims() -> None:
    """The worker refuses a status event from another account or region: intake carries both."""
    intake = parse(AWS_STATUS_EVENT)
    assert (intake.account, intake.region) == ("123456789012", "us-west-2")
    raw = json.loads(AWS_STATUS_EVENT)
    raw["region"] = "ap-southeast-2"
    assert parse(raw).region == "ap-southeast-2"


def test_a_request_carries_no_account_or_region() -> None:
    intake = parse(envelope({"group-id": "g-1"}))
    assert isinstance(intake.event, RequestReceived)
    assert (intake.account, intake.region) == (None, None)


@pytest.mark.parametrize("deployment_type", list(DeploymentType))
@pytest.mark.parametrize("status", list(DeploymentStatus))
def test_every_deployment_type_and_status(deployment_type: DeploymentType, status: DeploymentStatus) -> None:
    raw = json.loads(AWS_STATUS_EVENT)
    raw["detail"]["deployment-type"] = deployment_type.value
    raw["detail"]["status"] = status.value
    event = parse(raw).event
    assert isinstance(event, DeploymentStatusReported)
    assert (event.deployment_type, event.status) == (deployment_type, status)


# --- poison messages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["not json", "{", "", '{"detail": '])
def test_a_body_that_is_not_json(body: str) -> None:
    event = invalid(body)
    assert event.group_id == unparseable_group(MESSAGE_ID)
    assert event.request_id == f"message:{MESSAGE_ID}"
    assert event.error.startswith("message body is not JSON")


@pytest.mark.parametrize("body", ["[]", "[1, 2]", '"a string"', "42", "null", "true"])
def test_a_body_that_is_not_an_object(body: str) -> None:
    event = invalid(body)
    assert event.group_id == unparseable_group(MESSAGE_ID)
    assert event.request_id == f"message:{MESSAGE_ID}"
    assert event.error == "message body is not a JSON object"


@pytest.mark.parametrize(
    ("detail", "field", "group_id"),
    [
        ({}, "detail.group-id", UNPARSEABLE_GROUP),
        ({"group-id": ""}, "detail.group-id", UNPARSEABLE_GROUP),
        ({"group-id": "x" * 129}, "detail.group-id", UNPARSEABLE_GROUP),
        ({"group-id": 42}, "detail.group-id", UNPARSEABLE_GROUP),
        ({"group-id": "g 1"}, "detail.group-id", UNPARSEABLE_GROUP),
        ({"group-id": "g/1"}, "detail.group-id", UNPARSEABLE_GROUP),
        ({"group-id": "g#1"}, "detail.group-id", UNPARSEABLE_GROUP),
        ({"group-id": "g-1", "force": "sometimes"}, "detail.force", "g-1"),
        ({"group-id": "g-1", "force": True}, "detail.force", "g-1"),
        ({"group-id": "g-1", "dry-run": "maybe"}, "detail.dry-run", "g-1"),
        ({"group-id": "g-1", "request-id": ""}, "detail.request-id", "g-1"),
        ({"group-id": "g-1", "reason": "x" * 1025}, "detail.reason", "g-1"),
    ],
)
def test_an_invalid_detail_names_the_field(detail: dict[str, Any], field: str, group_id: str) -> None:
    event = invalid(envelope(detail))
    assert event.error.startswith(f"{field}: "), event.error
    assert event.group_id == (unparseable_group(MESSAGE_ID) if group_id == UNPARSEABLE_GROUP else group_id)
    assert event.request_id == "event:evt-1"


def test_an_invalid_request_keeps_its_request_id_and_requester() -> None:
    detail = {"group-id": "g-1", "force": "bogus", "request-id": "req-7", "requested-by": "alice"}
    event = invalid(envelope(detail))
    assert (event.request_id, event.requested_by, event.group_id) == ("req-7", "alice", "g-1")
    assert "detail.force" in event.error and "'auto', 'never' or 'immediately'" in event.error


@pytest.mark.parametrize(
    ("detail_type", "kind"),
    [(DetailType.DELETION_REQUESTED, RequestKind.DELETION), (DetailType.RESET_REQUESTED, RequestKind.RESET)],
)
def test_an_invalid_request_is_recorded_as_what_it_asked_for(
    detail_type: DetailType, kind: RequestKind
) -> None:
    event = invalid(envelope({"group-id": "g-1", "force": "bogus"}, detail_type.value))
    assert event.kind is kind


def test_an_illegal_group_id_says_which_characters_are_allowed() -> None:
    error = invalid(envelope({"group-id": "g 1"})).error
    assert error == "detail.group-id: String should match pattern '^[A-Za-z0-9_.:-]+$'"


@pytest.mark.parametrize("detail", [None, "g-1", ["g-1"]])
def test_a_detail_that_is_not_an_object(detail: Any) -> None:
    event = invalid(envelope(detail))
    assert event.group_id == unparseable_group(MESSAGE_ID)
    assert event.error.startswith("detail: ")


@pytest.mark.parametrize("detail_type", ["Greengrass Group Exploded", "", None, 7])
def test_an_unknown_detail_type(detail_type: Any) -> None:
    event = invalid(envelope({"group-id": "g-1"}, detail_type))
    assert event.error == f"unsupported detail-type {detail_type!r}"
    assert event.group_id == "g-1"


def test_a_missing_detail_type() -> None:
    raw = envelope({"group-id": "g-1"})
    del raw["detail-type"]
    assert invalid(raw).error == "unsupported detail-type None"


def test_an_envelope_missing_a_field_names_it() -> None:
    raw = envelope({"group-id": "g-1"})
    del raw["time"]
    event = invalid(raw)
    assert event.error == "time: Field required"
    assert event.group_id == "g-1"


def dropped(raw: Any) -> str:
    intake = parse(raw)
    assert intake.event is None
    assert intake.dropped is not None
    assert intake.dropped.startswith("malformed deployment status event: ")
    return intake.dropped.removeprefix("malformed deployment status event: ")


def test_a_status_event_from_a_source_other_than_greengrass_is_dropped_not_recorded() -> None:
    raw = json.loads(AWS_STATUS_EVENT)
    raw["source"] = "evil.actor"
    assert dropped(raw).startswith("source: ")
    assert parse(raw).group_id == "284dcd4e-24bc-4c8c-a770-EXAMPLEf03b8"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "Exploded"}, "detail.status"),
        ({"deployment-type": "Rollback"}, "detail.deployment-type"),
        ({"deployment-id": ""}, "detail.deployment-id"),
    ],
)
def test_an_invalid_status_event_names_the_field(change: dict[str, str], field: str) -> None:
    raw = json.loads(AWS_STATUS_EVENT)
    raw["detail"].update(change)
    assert dropped(raw).startswith(f"{field}: ")


def test_only_the_first_five_validation_errors_are_reported_on_one_line() -> None:
    detail = {
        "group-id": "g 1",
        "force": "x",
        "dry-run": "x",
        "request-id": "",
        "reason": "x" * 2000,
        "requested-by": "x" * 300,
    }
    error = invalid(envelope(detail)).error
    assert "\n" not in error
    assert error.count("; ") == 4


# --- poison messages: whatever arrives ends as a bounded, sanitised record -------------------------------


def assert_fits_the_ledger(event: InvalidRequestReceived) -> None:
    for text in (event.request_id, event.requested_by, event.error, event.group_id):
        text.encode("utf-8")  # no lone surrogate left
        assert text.isprintable()
    assert len(event.request_id) <= 128 and len(event.requested_by) <= 256 and len(event.error) <= 1024


@pytest.mark.parametrize("depth", [1_000, 5_000, 100_000])
def test_a_body_nested_too_deeply_is_an_invalid_request(depth: int) -> None:
    event = invalid("[" * depth + "]" * depth)
    assert "nested too deeply" in event.error or "not a JSON object" in event.error
    assert_fits_the_ledger(event)


def test_a_detail_nested_too_deeply_is_an_invalid_request() -> None:
    deep = '{"a": ' * 3_000 + '"x"' + "}" * 3_000
    body = json.dumps(envelope({"group-id": "g-1", "reason": "PLACEHOLDER"})).replace('"PLACEHOLDER"', deep)
    event = invalid(body)
    assert event.group_id == "g-1" or event.group_id.startswith(UNPARSEABLE_GROUP)
    assert_fits_the_ledger(event)


@pytest.mark.parametrize("field", ["request-id", "requested-by", "reason"])
def test_a_lone_surrogate_in_a_request_field_is_rejected_with_a_sanitised_copy(field: str) -> None:
    event = invalid(envelope({"group-id": "g-1", field: "ab\ud800cd"}))
    assert f"detail.{field}" in event.error
    assert_fits_the_ledger(event)


def test_huge_request_id_and_requester_are_cut_but_stay_distinct() -> None:
    huge = {"group-id": "g-1", "request-id": "r" * 200_000 + "1", "requested-by": "x" * 10**6}
    first = invalid(envelope(huge))
    second = invalid(envelope({"group-id": "g-1", "request-id": "r" * 200_000 + "2"}))
    assert_fits_the_ledger(first)
    assert first.request_id != second.request_id
    assert first.request_id.startswith("rrrr")


def test_unreadable_group_ids_spread_over_bounded_partitions() -> None:
    groups = {from_message_body("{not json", message_id=f"m-{n}", now=NOW).group_id for n in range(400)}
    assert 8 < len(groups) <= 16
    assert all(g.startswith(UNPARSEABLE_GROUP) for g in groups)
