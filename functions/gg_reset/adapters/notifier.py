"""Where terminal failures are announced: an SNS topic in AWS, the log when no topic is configured."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from gg_reset.domain.actions import Notify

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

logger = logging.getLogger(__name__)


class SnsNotifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def notify(self, notice: Notify) -> None:
        self.client.publish(
            TopicArn=self.topic_arn,
            Subject=f"gg-reset: group {notice.group_id} {notice.state}"[:100],
            Message=json.dumps(
                {
                    "group-id": notice.group_id,
                    "workflow-id": notice.workflow_id,
                    "state": notice.state.value,
                    "reason": notice.reason,
                }
            ),
        )


class LogNotifier:
    def notify(self, notice: Notify) -> None:
        logger.warning(
            "gg-reset outcome needs attention",
            extra={"group_id": notice.group_id, "state": notice.state.value, "reason": notice.reason},
        )
