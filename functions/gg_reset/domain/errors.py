"""How a Greengrass call can fail, in the terms the workflow decides on.

The adapter maps AWS (and moto, and simulator) errors onto these kinds by code *and* message; the
workflow never sees a botocore exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    NOT_DEPLOYED = "not-deployed"
    """`has not been deployed or has already been reset`: nothing to reset (not an error for deletions)."""
    DEPLOYMENT_IN_PROGRESS = "deployment-in-progress"
    """Another deployment is Building/InProgress: wait and retry."""
    NOT_FOUND = "not-found"
    """The group (or deployment) does not exist."""
    THROTTLED = "throttled"
    SERVER_ERROR = "server-error"
    """5xx, timeouts, connection errors: the call may or may not have happened; retry with the same token."""
    BAD_REQUEST = "bad-request"
    """A 4xx the workflow cannot fix by waiting: terminal."""
    UNKNOWN = "unknown"
    """Anything else (the V1 API is past end of support): a bounded number of retries, then terminal."""

    @property
    def transient(self) -> bool:
        return self in (ErrorKind.THROTTLED, ErrorKind.SERVER_ERROR)


@dataclass(slots=True)
class GreengrassError(Exception):
    # Not frozen: Python sets `__traceback__` on an exception as it propagates (through a context manager,
    # say), which a frozen dataclass refuses.
    """A classified failure of one Greengrass call."""

    kind: ErrorKind
    operation: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.operation} failed ({self.kind}): {self.code}: {self.message}"
