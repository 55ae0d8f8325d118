"""What the `gg-reset` CLI says when something goes wrong: one line that says what to do, never a
traceback.

Every command runs inside `gg_reset.cli.app.CliGroup`, which turns a `CliError`, a usage error, and the
botocore exceptions an AWS call can raise (no region, no credentials, an unknown bus, table or stack, an
unreachable endpoint, any other `ClientError`) into a `Problem` (via `diagnose()`) and exits non-zero.
A `Problem` prints as that line on stderr, or, when the command line has `--json`, as one JSON object on
stdout: `{"error": "...", "hint": "..."}` (`hint` is null when there is nothing more to say).

No typer or rich here (the CLI's helper modules import only the standard library, boto3 and gg_reset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from gg_reset.domain.errors import GreengrassError

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
"""Nothing (or not everything) was done: a bad input, an AWS error, a configuration problem."""
EXIT_USAGE: Final = 2
"""The command line itself is wrong (typer's own code for usage errors)."""
EXIT_OUTCOME: Final = 3
"""`request --wait`: a request ended FAILED or REJECTED."""
EXIT_TIMEOUT: Final = 4
"""`request --wait`: the wait timed out with requests still in flight."""


@dataclass(frozen=True, slots=True)
class Problem:
    """What went wrong (`error`) and, when known, what to do about it (`hint`).

    On a terminal both make one line, `error: hint`; with `--json` they are the `error` and `hint` keys
    of the object printed on stdout."""

    error: str
    hint: str | None = None

    @property
    def line(self) -> str:
        return _one_line(f"{self.error}: {self.hint}" if self.hint else self.error)

    def as_json(self) -> dict[str, str | None]:
        return {"error": _one_line(self.error), "hint": _one_line(self.hint) if self.hint else None}


class CliError(Exception):
    """An error the user can act on: `problem` says what went wrong, `hint` what to do; `message` is the
    whole line."""

    def __init__(self, problem: str, *, hint: str | None = None, exit_code: int = EXIT_ERROR) -> None:
        self.problem = Problem(problem, hint)
        self.message = self.problem.line
        self.exit_code = exit_code
        super().__init__(self.message)


@dataclass(frozen=True, slots=True)
class Resources:
    """What the command was talking to, so an AWS error can name it."""

    region: str | None = None
    profile: str | None = None
    stack: str | None = None
    bus: str | None = None
    table: str | None = None


_LEDGER_OPERATIONS: Final = frozenset(
    {"GetItem", "Query", "Scan", "BatchGetItem", "DescribeTable", "PutItem", "TransactWriteItems"}
)
_BUS_OPERATIONS: Final = frozenset({"PutEvents", "DescribeEventBus"})
_STACK_OPERATIONS: Final = frozenset({"DescribeStacks"})
_GREENGRASS_OPERATIONS: Final = frozenset(
    {"GetGroup", "ListGroups", "ListGroupVersions", "ListTagsForResource"}
)
_EXPIRED: Final = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)
_BAD_CREDENTIALS: Final = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)


def _in(resources: Resources) -> str:
    return f" in {resources.region}" if resources.region else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def explain(error: BaseException, resources: Resources) -> str | None:
    """The one line for an AWS error, or None if `error` is not one."""
    problem = diagnose(error, resources)
    return problem.line if problem is not None else None


def diagnose(error: BaseException, resources: Resources) -> Problem | None:
    """What an AWS error means and what to do about it, or None if `error` is not one."""
    if isinstance(error, GreengrassError) and isinstance(error.__cause__, BotoCoreError):
        # The Greengrass adapter wraps transport and credential problems: say what they really are.
        return diagnose(error.__cause__, resources)
    if isinstance(error, GreengrassError):
        return Problem(f"Greengrass {error.operation} failed{_in(resources)}: {error.code}: {error.message}")
    if isinstance(error, ProfileNotFound):
        return Problem(
            f"AWS profile {resources.profile or error.kwargs.get('profile')!r} not found in your AWS config",
            "check --profile / AWS_PROFILE (`aws configure list-profiles` lists them)",
        )
    if isinstance(error, NoRegionError):
        return Problem(
            "no AWS region",
            "pass --region REGION, set AWS_REGION, or set a region in your AWS profile "
            "(`aws configure set region REGION`)",
        )
    if isinstance(error, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return Problem(
            "no usable AWS credentials",
            "run `aws configure` or `aws sso login`, set AWS_PROFILE, or pass "
            f"--profile ({_one_line(str(error))})",
        )
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        endpoint = error.kwargs.get("endpoint_url", "the AWS endpoint")
        return Problem(
            f"cannot reach {endpoint}",
            f"check --region ({resources.region or 'not set'}), your network and any proxy or "
            "AWS_ENDPOINT_URL setting",
        )
    if isinstance(error, ClientError):
        return _diagnose_client_error(error, resources)
    if isinstance(error, BotoCoreError):
        return Problem(f"AWS SDK error: {_one_line(str(error))}")
    return None


def _diagnose_client_error(error: ClientError, resources: Resources) -> Problem:
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "")
    message = _one_line(str(details.get("Message") or ""))
    operation = error.operation_name
    where = _in(resources)
    if code == "ResourceNotFoundException" and operation in _LEDGER_OPERATIONS:
        return Problem(
            f"ledger table {resources.table!r} not found{where}",
            "pass --table NAME or --stack NAME (its LedgerTableName output), and check --region/--profile",
        )
    if code == "ResourceNotFoundException" and operation in _BUS_OPERATIONS:
        return Problem(
            f"event bus {resources.bus!r} not found{where}",
            "pass --bus NAME or --stack NAME (its EventBusName output), and check --region/--profile",
        )
    if operation in _STACK_OPERATIONS and "does not exist" in message:
        return Problem(
            f"stack {resources.stack!r} not found{where}",
            "pass --stack with the name of your gg-reset stack (or --bus/--table), and check "
            "--region/--profile",
        )
    if code in _EXPIRED:
        return Problem(
            "your AWS credentials have expired", f"refresh them (e.g. `aws sso login`) and retry ({message})"
        )
    if code in _BAD_CREDENTIALS:
        return Problem(
            f"AWS rejected your credentials ({code})", "check --profile / AWS_PROFILE and your keys"
        )
    if code.startswith("AccessDenied") or code in {"UnauthorizedOperation", "AuthorizationError"}:
        return Problem(f"access denied{where} for {operation}: {message or code}", "ask for that permission")
    if operation in _GREENGRASS_OPERATIONS:
        return Problem(f"Greengrass {operation} failed{where}: {code}: {message}")
    return Problem(f"AWS {operation} failed{where}: {code}: {message}")
