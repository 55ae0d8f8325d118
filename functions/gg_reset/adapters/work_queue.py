"""The sweeper's way to hand overdue groups to the workers: tick messages on the SQS work queue.

Why not tick them in the sweeper itself: one scheduled invocation can drive only so many groups before
its timeout, and its Greengrass calls would bypass the work queue's concurrency cap, which is what keeps
a bulk cleanup under the API quota. A duplicate tick (a group still queued from the last sweep) is
harmless: the workflow acts only on a call that is due and not leased.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gg_reset.contracts import tick_message_body

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

BATCH = 10  # SendMessageBatch takes at most 10 entries


class SqsWorkQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def send_ticks(self, group_ids: Sequence[str]) -> None:
        """Queue a tick per group; raises if SQS refused any of them (the next sweep would retry)."""
        for start in range(0, len(group_ids), BATCH):
            chunk = group_ids[start : start + BATCH]
            response = self.client.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "MessageBody": tick_message_body(gid)} for i, gid in enumerate(chunk)
                ],
            )
            failed = response.get("Failed", [])
            if failed:
                raise RuntimeError(
                    f"SQS refused {len(failed)} tick(s): {failed[0].get('Message', failed[0])}"
                )
