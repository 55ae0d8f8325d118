"""`TimerPort` on SQS: a workflow's next due time becomes a delayed message on its own work queue.

SQS delays a message by at most 15 minutes; a later due time gets a message at 15 minutes that re-arms
itself on arrival (`ResetService._arm_timer`), so every reset deadline, retry and deferred call fires at
its time, whatever the sweeper's period.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Final

from gg_reset.ports import Clock
from gg_reset.timer_messages import timer_message_body

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_DELAY_S: Final = 900
"""SQS `DelaySeconds` maximum."""


def delay_seconds(now: datetime, due_at: datetime) -> int:
    """Whole seconds from `now` to `due_at`, rounded up (never early), within what SQS accepts."""
    return min(MAX_DELAY_S, max(0, math.ceil((due_at - now).total_seconds())))


class SqsTimers:
    def __init__(self, client: SQSClient, queue_url: str, clock: Clock) -> None:
        self.client = client
        self.queue_url = queue_url
        self.clock = clock

    def schedule(self, group_id: str, due_at: datetime) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=timer_message_body(group_id, due_at),
            DelaySeconds=delay_seconds(self.clock.now(), due_at),
        )
