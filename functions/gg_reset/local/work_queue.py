"""The work queue's timing, on the simulated clock: delays, visibility timeouts, receive counts, the DLQ.

Every message still goes through moto: EventBridge's rules route requests and status events into moto's
SQS work queue, exactly as the stack's rules do. The local runtime then moves each message out of moto
into this queue right away, for two reasons:

- moto's SQS walks every message in the queue on each receive, delete and attribute read, so a queue
  holding thousands of messages makes a local run quadratic; moto's queue here never holds more than a
  handful;
- moto delays messages and hides received ones in wall-clock time, while a local run lives on a
  `SimulatedClock`: a timer due in ten simulated minutes must come back in ten simulated minutes.

The behaviour is the stack's work queue's: a message fails `max_receive_count` times, then it goes to the
dead-letter queue; a failed message comes back after the visibility timeout; a delayed message (a workflow
timer) is invisible until its time.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gg_reset.local.clock import SimulatedClock


@dataclass(slots=True)
class QueuedMessage:
    message_id: str
    body: str
    sent_at: datetime
    receives: int = 0
    first_received_at: datetime | None = None
    timer: bool = False
    """Sent delayed (a workflow timer) rather than by EventBridge."""
    attributes: dict[str, str] = field(default_factory=dict)


class LocalWorkQueue:
    def __init__(
        self,
        clock: SimulatedClock,
        *,
        visibility_timeout_s: int,
        max_receive_count: int,
        rng: random.Random,
    ) -> None:
        self.clock = clock
        self.visibility_timeout = timedelta(seconds=visibility_timeout_s)
        self.max_receive_count = max_receive_count
        self._rng = rng
        self._ready: deque[QueuedMessage] = deque()
        self._waiting: list[tuple[datetime, int, QueuedMessage]] = []
        self._seq = itertools.count()
        self.dead_letters: list[str] = []
        """Bodies of messages that failed `max_receive_count` times (the work queue's DLQ)."""
        self.redeliveries = 0
        self.delayed_sent = 0

    def __len__(self) -> int:
        """Messages visible now."""
        return len(self._ready)

    def send(
        self,
        body: str,
        *,
        message_id: str | None = None,
        visible_at: datetime | None = None,
        attributes: dict[str, str] | None = None,
    ) -> None:
        """Enqueue a message, visible now or (a delayed message, a timer) at `visible_at`."""
        message = QueuedMessage(
            message_id=message_id or str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            body=body,
            sent_at=self.clock.now(),
            attributes=dict(attributes or {}),
            timer=visible_at is not None,
        )
        if visible_at is not None and visible_at > self.clock.now():
            self.delayed_sent += 1
            heapq.heappush(self._waiting, (visible_at, next(self._seq), message))
        else:
            self._ready.append(message)

    def release_due(self) -> None:
        """Make visible what has waited long enough (delays and visibility timeouts)."""
        now = self.clock.now()
        while self._waiting and self._waiting[0][0] <= now:
            _, _, message = heapq.heappop(self._waiting)
            self._ready.append(message)

    def next_visible_at(self) -> datetime | None:
        return self._waiting[0][0] if self._waiting else None

    @property
    def redeliveries_waiting(self) -> int:
        """Failed messages waiting out their visibility timeout (timers excluded)."""
        return sum(1 for _, _, message in self._waiting if message.receives and not message.timer)

    def receive(self, max_messages: int) -> list[QueuedMessage]:
        """Up to `max_messages` visible messages, oldest first; each is in flight until `settle`d."""
        batch: list[QueuedMessage] = []
        now = self.clock.now()
        while self._ready and len(batch) < max_messages:
            message = self._ready.popleft()
            message.receives += 1
            if message.first_received_at is None:
                message.first_received_at = now
            batch.append(message)
        return batch

    def settle(self, message: QueuedMessage, *, failed: bool) -> None:
        """A processed message is deleted; a failed one comes back after the visibility timeout, or goes
        to the dead-letter queue after its last allowed delivery (the stack's redrive policy)."""
        if not failed:
            return
        if message.receives >= self.max_receive_count:
            self.dead_letters.append(message.body)
            return
        self.redeliveries += 1
        heapq.heappush(self._waiting, (self.clock.now() + self.visibility_timeout, next(self._seq), message))
