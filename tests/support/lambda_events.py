"""Event shapes as Lambda hands them to the handlers (for tests that call a handler directly)."""

from __future__ import annotations

from typing import Any


def sqs_record(message_id: str, body: str, receive_count: int = 1) -> dict[str, Any]:
    """One SQS message as the event source mapping delivers it in `Records`."""
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
