"""A timer's body, written without pydantic (for the sweeper's cold start), is what the worker's contract
model reads back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gg_reset.domain.events import Tick
from gg_reset.shell.intake import from_message_body
from gg_reset.timer_messages import TIMER_KEY, timer_message_body

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "due_at",
    [
        NOW,
        NOW + timedelta(microseconds=123_456),
        datetime(2026, 12, 3, 11, 30, tzinfo=timezone(timedelta(hours=1, minutes=30))),
    ],
)
def test_the_worker_reads_back_the_group_and_the_exact_due_time(due_at: datetime) -> None:
    body = timer_message_body("g-1.site:a_b", due_at)
    intake = from_message_body(body, message_id="m", now=NOW)
    assert intake.group_id == "g-1.site:a_b"
    assert isinstance(intake.event, Tick)
    assert intake.timer_for == due_at  # the same instant, whatever the offset it was given in
    assert list(json.loads(body)) == [TIMER_KEY]


@pytest.mark.parametrize("group_id", ["", "g 1", "g/1", "x" * 129, "g\n1", "g1\n"])
def test_a_group_id_the_contract_refuses_is_refused_when_writing_too(group_id: str) -> None:
    with pytest.raises(ValueError, match="not a valid group id"):
        timer_message_body(group_id, NOW)


def test_a_naive_due_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        timer_message_body("g-1", datetime(2026, 12, 3, 10, 0))
