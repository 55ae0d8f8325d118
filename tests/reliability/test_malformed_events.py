"""Generated malformed events, mixed with valid requests, through the real worker in real SQS batch shapes.

`make soak` runs 1,800 batches of 5 to 10 messages (`GG_RESET_FUZZ_BATCHES`) and fails below 10,000 events
(`GG_RESET_FUZZ_MIN_EVENTS`); `make test` a 40-batch slice of the same code. Whatever arrives:
- no exception escapes the worker, and no message is reported failed (it would be redelivered until it
  reached the dead-letter queue with no ledger record);
- every invalid request is recorded REJECTED in the ledger with its reason, bounded;
- every valid request in the same batches is processed (it has its workflow).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gg_reset.domain.events import InvalidRequestReceived, RequestReceived
from gg_reset.domain.model import WorkflowState
from gg_reset.handlers import worker
from gg_reset.local import LocalService
from gg_reset.local.runtime import LambdaContext
from gg_reset.shell.intake import from_message_body
from support.lambda_events import sqs_record

BATCHES = int(os.environ.get("GG_RESET_FUZZ_BATCHES", "40"))
MIN_EVENTS = int(os.environ.get("GG_RESET_FUZZ_MIN_EVENTS", "0"))
"""`make soak` asks for at least 10,000 events: the run fails if the batches drawn add up to fewer."""
DETAIL_TYPES = (
    "Greengrass Group Reset Requested",
    "Greengrass Group Deletion Requested",
    "Greengrass Deployment Status Change",
    "Something Else",
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "\n\r\t", "\u202e", "💥", "a" * 130]),
    st.integers(min_value=1, max_value=300_000).map(lambda n: "x" * n),
)
JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), HOSTILE_TEXT)
ANY_JSON = st.recursive(
    JSON_SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(HOSTILE_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def malformed_body(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["text", "deep", "json", "envelope", "status", "timer"]))
    if shape == "text":
        return draw(st.text(max_size=200))
    if shape == "deep":
        depth = draw(st.integers(min_value=900, max_value=20_000))
        return draw(st.sampled_from(["[", '{"a":'])) * depth
    if shape == "json":
        return json.dumps(draw(ANY_JSON))
    detail: dict[str, Any] = draw(
        st.dictionaries(
            st.sampled_from(["group-id", "request-id", "requested-by", "force", "dry-run", "reason", "x"]),
            ANY_JSON,
            max_size=6,
        )
    )
    if shape == "timer":
        return json.dumps({"gg-reset-timer": draw(st.one_of(ANY_JSON, st.just(detail)))})
    envelope: dict[str, Any] = {
        "version": draw(st.one_of(st.just("0"), JSON_SCALAR)),
        "id": draw(st.one_of(st.just(str(uuid.uuid4())), JSON_SCALAR)),
        "detail-type": draw(st.one_of(st.sampled_from(DETAIL_TYPES), JSON_SCALAR)),
        "source": draw(st.one_of(st.sampled_from(["aws.greengrass", "platform"]), JSON_SCALAR)),
        "account": "123456789012",
        "time": draw(st.one_of(st.just("2026-01-01T00:00:00Z"), JSON_SCALAR)),
        "region": "us-east-1",
        "resources": [],
        "detail": draw(st.one_of(st.just(detail), ANY_JSON)),
    }
    if shape == "status":
        envelope["detail-type"] = "Greengrass Deployment Status Change"
        envelope["source"] = "aws.greengrass"
    return json.dumps(envelope)


@pytest.fixture(scope="module")
def svc() -> Iterator[LocalService]:
    with LocalService(seed=99, log_level="CRITICAL") as service:
        yield service


FIGURES: Counter[str] = Counter()


def test_malformed_events_never_escape_and_are_all_recorded(svc: LocalService) -> None:
    started = time.perf_counter()
    groups = [svc.fleet.add_group(core="online") for _ in range(10)]

    @settings(
        max_examples=BATCHES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(
        st.lists(
            # three malformed messages for one valid request, on average
            st.one_of(
                malformed_body(), malformed_body(), malformed_body(), st.sampled_from(range(len(groups)))
            ),
            min_size=5,
            max_size=10,
        )
    )
    def one_batch(messages: list[str | int]) -> None:
        records, bodies = [], []
        for item in messages:
            message_id = str(uuid.uuid4())
            if isinstance(item, int):  # a valid request for a fleet group, with an id no generator makes
                body = json.dumps(
                    {
                        "version": "0",
                        "id": message_id,
                        "detail-type": "Greengrass Group Reset Requested",
                        "source": "platform",
                        "account": "123456789012",
                        "time": "2026-01-01T00:00:00Z",
                        "region": "us-east-1",
                        "resources": [],
                        "detail": {
                            "group-id": groups[item],
                            "request-id": f"valid-{message_id}",
                            "dry-run": True,
                        },
                    }
                )
            else:
                body = item
            bodies.append((message_id, body))
            records.append(sqs_record(message_id, body, receive_count=1))
        context = LambdaContext("gg-reset-worker", svc.clock, 120, svc.clock.now())
        response = worker.handler({"Records": records}, context)  # raises if anything escapes
        assert response == {"batchItemFailures": []}
        FIGURES["batches"] += 1
        for message_id, body in bodies:
            FIGURES["messages"] += 1
            intake = from_message_body(body, message_id=message_id, now=svc.clock.now())
            match intake.event:
                case InvalidRequestReceived(request_id=request_id, group_id=group_id):
                    invalid.append((group_id, request_id))
                case RequestReceived(request=request) if request.request_id.startswith("valid-"):
                    valid.append((request.group_id, request.request_id))
                case None:
                    FIGURES["dropped"] += 1  # not a request (a malformed status event or timer): logged
                case _:
                    FIGURES["other"] += 1  # a well-formed request or event the generator happened to make

    # What the worker recorded is read once, at the end, in one scan: one query per message would make
    # the check quadratic in moto (which walks the table for every query) and dwarf the worker's time.
    invalid: list[tuple[str, str]] = []
    valid: list[tuple[str, str]] = []
    one_batch()
    answered = {
        (group_id, request_id): view
        for group_id, views in svc.ledger.all_workflows().items()
        for view in views
        for request_id in view.request_ids
    }
    for key in invalid:
        view = answered.get(key)
        assert view is not None, f"invalid request {key[1][:40]!r} not recorded"
        assert view.state is WorkflowState.REJECTED
        assert view.reason.startswith("invalid request: ") and len(view.reason) <= 1100
    for key in valid:
        assert key in answered, f"valid request {key[1]} not processed"
    FIGURES["rejected"], FIGURES["valid"] = len(invalid), len(valid)
    print(
        f"\nfuzz: {FIGURES['batches']} batches, {FIGURES['messages']} messages: {FIGURES['rejected']} "
        f"invalid requests recorded REJECTED, {FIGURES['valid']} valid requests processed, "
        f"{FIGURES['dropped']} malformed non-requests dropped and counted, {FIGURES['other']} other; "
        f"0 exceptions escaped, 0 messages failed; {time.perf_counter() - started:.1f} s wall"
    )
    assert FIGURES["rejected"] > 0 and FIGURES["valid"] > 0
    assert FIGURES["messages"] >= MIN_EVENTS, f"only {FIGURES['messages']} events, {MIN_EVENTS} asked for"
