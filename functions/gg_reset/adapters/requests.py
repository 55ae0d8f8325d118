"""`RequestBus` on EventBridge: requests put on the service bus with `PutEvents`, ten entries per call.

`PutEvents` succeeds as a call even when some entries are refused: `FailedEntryCount` says how many, and
each refused entry carries an `ErrorCode`. Refused entries (and every entry of a call that failed as a
whole with a throttling or server error) are sent again, with backoff, a bounded number of times; an
entry refused for good (a malformed detail, no permission, no such bus) is not retried. Every entry ends
as a `Delivery`: accepted with its event id, or refused with the last error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from gg_reset.ports import Delivery

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

PUT_EVENTS_MAX: Final = 10
"""`PutEvents` takes at most ten entries per call."""
MAX_ATTEMPTS: Final = 4
"""Tries per entry (the first and three retries)."""
BACKOFF_S: Final = 0.5
"""Wait before the first retry; doubled before each further one."""
PERMANENT_ENTRY_ERRORS: Final = frozenset(
    {"MalformedDetail", "InvalidArgument", "ValidationException", "AccessDeniedException", "NotAuthorized"}
)
"""Entry error codes that another try cannot fix."""
RETRYABLE_CALL_ERRORS: Final = frozenset(
    {"ThrottlingException", "InternalException", "InternalFailure", "ServiceUnavailable", "RequestTimeout"}
)
"""Error codes of a whole failed call that are worth another try (anything else fails every entry)."""


class EventBridgeRequests:
    def __init__(
        self,
        client: EventBridgeClient,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        backoff_s: float = BACKOFF_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.client = client
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self._sleep = sleep
        self.calls = 0
        """`PutEvents` calls made (for logs and tests)."""

    def send(self, entries: Sequence[Mapping[str, Any]]) -> list[Delivery]:
        deliveries: list[Delivery | None] = [None] * len(entries)
        for start in range(0, len(entries), PUT_EVENTS_MAX):
            self._send_batch(
                entries, list(range(start, min(start + PUT_EVENTS_MAX, len(entries)))), deliveries
            )
        return [d if d is not None else Delivery(error="not sent") for d in deliveries]

    def _send_batch(
        self, entries: Sequence[Mapping[str, Any]], pending: list[int], deliveries: list[Delivery | None]
    ) -> None:
        attempt = 0
        while pending:
            attempt += 1
            retry: list[int] = []
            errors: dict[int, str] = {}
            try:
                self.calls += 1
                batch: Any = [dict(entries[i]) for i in pending]
                response = self.client.put_events(Entries=batch)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "ClientError")
                message = exc.response.get("Error", {}).get("Message", "")
                errors = {i: f"{code}: {message}".strip() for i in pending}
                if code in RETRYABLE_CALL_ERRORS:
                    retry = list(pending)
            except BotoCoreError as exc:  # no answer (a connection error, a timeout): try again
                errors = {i: f"{type(exc).__name__}: {exc}" for i in pending}
                retry = list(pending)
            else:
                results = response.get("Entries", [])
                for position, index in enumerate(pending):
                    result = results[position] if position < len(results) else {}
                    event_id, refused = result.get("EventId"), result.get("ErrorCode")
                    if event_id and not refused:
                        deliveries[index] = Delivery(event_id=event_id, attempts=attempt)
                        continue
                    entry_code = refused or "NoEventId"
                    errors[index] = f"{entry_code}: {result.get('ErrorMessage', '')}".strip().rstrip(":")
                    if entry_code not in PERMANENT_ENTRY_ERRORS:
                        retry.append(index)
            for index, error in errors.items():
                if index not in retry or attempt >= self.max_attempts:
                    deliveries[index] = Delivery(error=error, attempts=attempt)
            if attempt >= self.max_attempts:
                return
            pending = retry
            if pending:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
