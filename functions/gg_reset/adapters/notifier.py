"""Where terminal failures and janitor runs are announced: an SNS topic in AWS, the log when no topic is
configured."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Final

from gg_reset.ports import RunNotice

if TYPE_CHECKING:  # annotations only: the janitor announces runs, and should not load the workflow's actions
    from mypy_boto3_sns import SNSClient

    from gg_reset.domain.actions import Notify

logger = logging.getLogger(__name__)

SUBJECT_MAX: Final = 100
"""SNS takes a subject of at most 100 printable ASCII characters, without line breaks."""


def sns_subject(text: str) -> str:
    printable = "".join(c if " " <= c <= "~" else "?" for c in text)
    return printable[:SUBJECT_MAX]


class SnsNotifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def notify(self, notice: Notify) -> None:
        self.client.publish(
            TopicArn=self.topic_arn,
            Subject=sns_subject(f"gg-reset: group {notice.group_id} {notice.state}"),
            Message=json.dumps(
                {
                    "group-id": notice.group_id,
                    "workflow-id": notice.workflow_id,
                    "state": notice.state.value,
                    "reason": notice.reason,
                }
            ),
        )

    def notify_run(self, notice: RunNotice) -> None:
        self.client.publish(
            TopicArn=self.topic_arn,
            Subject=sns_subject(notice.subject),
            Message=json.dumps({"source": notice.source, "subject": notice.subject, **notice.details}),
        )


class LogNotifier:
    def notify(self, notice: Notify) -> None:
        logger.warning(
            "gg-reset outcome needs attention",
            extra={"group_id": notice.group_id, "state": notice.state.value, "reason": notice.reason},
        )

    def notify_run(self, notice: RunNotice) -> None:
        logger.warning(notice.subject, extra={"source": notice.source, "details": dict(notice.details)})
