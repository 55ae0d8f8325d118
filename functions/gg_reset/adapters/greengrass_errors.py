"""Turning Greengrass V1 failures into the `ErrorKind` the workflow decides on.

Real AWS models only two errors for the V1 API (`BadRequestException` 400, `InternalServerErrorException`
500) and tells the interesting cases apart by message alone; moto answers the same situations with codes
the botocore model does not know (`IdNotFoundException`, `ResourceNotFoundException`, ...) and 404s; the
API gateway in front of every AWS service adds throttling and 5xx of its own. So classification looks at
the code, the message, the HTTP status and (once) the operation, in that table order, first match wins.

"Not found" must be *recognised*, never inferred: it ends a deletion `GONE`, so a 404 that only says 404 (an
HTML page from a proxy, an empty body, a wrong endpoint, an API past its end of support) is `UNKNOWN`, which
the workflow retries a bounded number of times. Only a Greengrass not-found code, or a generic code with a
message naming a Greengrass group, deployment, definition or version, means `NOT_FOUND`.

The table is data so that it can be quoted in the project notes and tested row by row: every row says
where its evidence came from, and the tests prove each row is reachable (no earlier row shadows it). The
facts behind it, with their sources, are in docs/greengrass-v1.md ("Errors").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from gg_reset.domain.errors import ErrorKind, GreengrassError

LIST_TAGS_OPERATION = "ListTagsForResource"


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """One recognised failure. Every given criterion must hold; an empty criterion matches anything.

    `example` is a message the row was written for: the tests feed it back through `classify_error`, and
    it shows readers of the table what the pattern is meant to catch.
    """

    kind: ErrorKind
    source: str
    codes: frozenset[str] = frozenset()
    """Error codes, compared case-insensitively. For transport failures, the botocore exception class."""
    message: str | None = None
    """A regular expression searched case-insensitively in the error message."""
    statuses: tuple[int, int] | None = None
    """Inclusive range of HTTP statuses; `None` also matches failures that never got a response."""
    operations: frozenset[str] = frozenset()
    example: str = ""

    def matches(self, operation: str, code: str, message: str, http_status: int | None) -> bool:
        if self.codes and code.lower() not in _lowered(self.codes):
            return False
        if self.message is not None and not re.search(self.message, message, re.IGNORECASE):
            return False
        if self.statuses is not None:
            low, high = self.statuses
            if http_status is None or not low <= http_status <= high:
                return False
        return not (self.operations and operation not in self.operations)


def _lowered(codes: frozenset[str]) -> frozenset[str]:
    return frozenset(code.lower() for code in codes)


def _codes(*codes: str) -> frozenset[str]:
    return frozenset(codes)


_NOT_DEPLOYED_PATTERN = r"has not been deployed or has already been reset"

# No AWS document gives the wording of "a deployment is already running" for ResetDeployments, so these are
# the phrasings AWS uses elsewhere for deployment states (the status values themselves, "in progress").
# `Building` is only matched next to a state word: a bare "building" also occurs in unrelated messages
# ("error building the group version"), and mistaking those for in-progress would make the workflow wait.
_IN_PROGRESS_PATTERN = (
    r"\bin[\s_-]?progress\b"
    r"|\b(?:is|status:?|state:?|in)\s+['\"]?building\b"
    r"|\bbuilding['\"]?\s+(?:state|status)\b"
    r"|\bcurrently being deployed\b"
    r"|\bdeployment is (?:already )?(?:running|pending|underway|ongoing)\b"
    r"|\b(?:another|ongoing|active|pending|concurrent) deployment\b"
)

# A not-found message counts only when it names what Greengrass keeps: "That Group Definition does not
# exist.", "Deployment '<id>' does not exist.", "Version <v> of Group Definition <id> does not exist." (moto,
# whose authors recorded AWS's answers). A bare "Not Found" is what any web server, proxy or gateway says of
# a path it does not serve, so it says nothing about the group.
_GREENGRASS_NOT_FOUND_PATTERN = (
    r"\b(?:group|deployment|definition|version)\b.*?"
    r"\b(?:does not exist|not found|could not be found|cannot be found)\b"
)

# Codes only the Greengrass dialect uses for a missing group, deployment or version (moto, the simulator).
_GREENGRASS_NOT_FOUND_CODES = _codes(
    "IdNotFoundException",
    "ResourceNotFoundException",
    "VersionNotFoundException",
)

# Access denied and friends: decided BAD_REQUEST (terminal), not UNKNOWN (bounded retries) or transient.
# Waiting does not grant a permission or fix a credential; only a person changing IAM or the stack does,
# and failing fast puts the code and message in the ledger and the alarm where that person sees them.
# IAM propagation delay only matters right after `cdk deploy`, and a failed request can simply be re-sent.
_AUTH_CODES = _codes(
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "ExpiredToken",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationTokenException",
)

ERROR_RULES: tuple[ErrorRule, ...] = (
    # --- "nothing to reset": first, because moto sends it as a 404 ResourceNotFoundException ------------
    ErrorRule(
        ErrorKind.NOT_DEPLOYED,
        "docs/greengrass-v1.md ('Nothing to reset'): 400 'Group id: <id> has not been deployed or has "
        "already been reset.'; AWS Labs' Java V1 helpers match the same text; moto sends it as "
        "ResourceNotFoundException 404",
        message=_NOT_DEPLOYED_PATTERN,
        example="Group id: 4f1e-example has not been deployed or has already been reset.",
    ),
    # --- the API (or the emulator) does not have this operation: never mistake it for "no tags" ---------
    ErrorRule(
        ErrorKind.UNKNOWN,
        "moto: core/botocore_stubber.py answers code '404', 'Not yet implemented' for routes it lacks "
        "(ListTagsForResource among them), observed in-process",
        message=r"\bnot (?:yet )?implemented\b",
        example="Not yet implemented",
    ),
    ErrorRule(
        ErrorKind.UNKNOWN,
        "AWS common errors (UnknownOperationException, NotImplemented 501); assumption for the rest",
        codes=_codes(
            "NotImplemented",
            "NotImplementedException",
            "UnknownOperationException",
            "UnsupportedOperation",
            "UnsupportedOperationException",
        ),
    ),
    ErrorRule(
        ErrorKind.UNKNOWN,
        "HTTP 501 Not Implemented: a 5xx that retrying cannot fix; assumption",
        statuses=(501, 501),
    ),
    ErrorRule(
        ErrorKind.UNKNOWN,
        "assumption: a tagging API that says it does not support the resource must not read as 'no tags'",
        message=r"\bnot supported\b|\bunsupported\b",
        operations=frozenset({LIST_TAGS_OPERATION}),
        example="Tagging is not supported for this resource type.",
    ),
    # --- throttling ---------------------------------------------------------------------------------------
    ErrorRule(
        ErrorKind.THROTTLED,
        "botocore retries/standard.py ThrottledRetryableChecker (minus DynamoDB's "
        "TransactionInProgressException); docs/greengrass-v1.md ('Errors'): the V1 model has no "
        "throttling error, so expect the common ThrottlingException/TooManyRequestsException",
        codes=_codes(
            "Throttling",
            "ThrottlingException",
            "ThrottledException",
            "RequestThrottledException",
            "TooManyRequestsException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "BandwidthLimitExceeded",
            "LimitExceededException",
            "RequestThrottled",
            "SlowDown",
            "PriorRequestNotComplete",
            "EC2ThrottledException",
        ),
    ),
    ErrorRule(
        ErrorKind.THROTTLED,
        "botocore retries/standard.py ThrottlingStatusCodeChecker (HTTP 429)",
        statuses=(429, 429),
        example="Too Many Requests",
    ),
    ErrorRule(
        ErrorKind.THROTTLED,
        "AWS: 'Rate exceeded' is the usual ThrottlingException message across services; assumption for "
        "the other wordings",
        message=r"\brate exceeded\b|\btoo many requests\b|\bthrottl",
        example="Rate exceeded",
    ),
    # --- the server or the network failed: the call may or may not have happened -------------------------
    ErrorRule(
        ErrorKind.SERVER_ERROR,
        "botocore model for greengrass (InternalServerErrorException 500); AWS common errors; botocore "
        "TransientRetryableChecker codes",
        codes=_codes(
            "InternalServerErrorException",
            "InternalServerError",
            "InternalFailure",
            "InternalError",
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "ServiceFailure",
            "RequestTimeout",
            "RequestTimeoutException",
        ),
    ),
    ErrorRule(
        ErrorKind.SERVER_ERROR,
        "botocore exceptions (transport failures, no HTTP response; TransientRetryableChecker retries them)",
        codes=_codes(
            "EndpointConnectionError",
            "ConnectTimeoutError",
            "ReadTimeoutError",
            "ConnectionClosedError",
            "ProxyConnectionError",
            "ResponseStreamingError",
            "IncompleteReadError",
        ),
    ),
    ErrorRule(
        ErrorKind.SERVER_ERROR,
        "HTTP 5xx (botocore TransientRetryableChecker: 500, 502, 503, 504)",
        statuses=(500, 599),
        example="Service Unavailable",
    ),
    # --- another deployment is running: wait and retry ----------------------------------------------------
    ErrorRule(
        ErrorKind.DEPLOYMENT_IN_PROGRESS,
        "assumption: docs/greengrass-v1.md ('A reset cannot start while a deployment is running'), but no "
        "document gives the 400's wording; matches the status names and common phrasings",
        message=_IN_PROGRESS_PATTERN,
        statuses=(400, 499),
        example="Cannot reset group: a deployment is InProgress.",
    ),
    # --- the group or deployment does not exist: only when positively recognised ---------------------------
    ErrorRule(
        ErrorKind.NOT_FOUND,
        "moto greengrass/exceptions.py and models.py (IdNotFoundException, ResourceNotFoundException, "
        "VersionNotFoundException, all 404, for a missing group, group version or deployment target); the "
        "simulator answers the same; docs/greengrass-v1.md ('Errors')",
        codes=_GREENGRASS_NOT_FOUND_CODES,
        statuses=(400, 499),
        example="That Group Definition does not exist.",
    ),
    ErrorRule(
        ErrorKind.NOT_FOUND,
        "moto and the simulator: GetDeploymentStatus answers InvalidInputException 400 \"Deployment '<id>' "
        'does not exist."; AWS models every V1 client error as BadRequestException 400, so the same words '
        "under that code; the message must name a group, deployment, definition or version",
        codes=_codes("BadRequestException", "InvalidInputException"),
        message=_GREENGRASS_NOT_FOUND_PATTERN,
        statuses=(400, 499),
        example="Deployment '7b0b-example' does not exist.",
    ),
    ErrorRule(
        ErrorKind.NOT_FOUND,
        "AWS common NotFoundException: generic, so (unlike the Greengrass codes) only with a message "
        "naming a Greengrass group, deployment, definition or version; a bare 'Not Found' is any "
        "gateway's answer",
        codes=_codes("NotFoundException", "NotFound"),
        message=_GREENGRASS_NOT_FOUND_PATTERN,
        statuses=(400, 499),
        example="Group 4f1e-example not found.",
    ),
    # No row for a bare 404 (botocore's code "404": an HTML or empty body, or JSON without a code): it falls
    # through to UNKNOWN. A proxy, a wrong endpoint or an API past its end of support answers exactly that
    # while the group still exists, and reading it as "gone" would end a deletion GONE with the group alive.
    # --- terminal client errors ----------------------------------------------------------------------------
    ErrorRule(
        ErrorKind.BAD_REQUEST,
        "AWS common errors (IAM, signature, credentials); choice: terminal, see _AUTH_CODES",
        codes=_AUTH_CODES,
    ),
    ErrorRule(
        ErrorKind.BAD_REQUEST,
        "HTTP 401/403: authentication or authorisation; choice: terminal, see _AUTH_CODES",
        statuses=(401, 403),
        example="Forbidden",
    ),
    ErrorRule(
        ErrorKind.BAD_REQUEST,
        "botocore model for greengrass (BadRequestException 400); AWS common ValidationException; moto "
        "(InvalidInputException, MissingCoreException, InvalidContainerDefinitionException, bare '400'); "
        "botocore client-side ParamValidationError",
        codes=_codes(
            "BadRequestException",
            "ValidationException",
            "SerializationException",
            "InvalidParameterException",
            "InvalidParameterValueException",
            "InvalidInputException",
            "MissingCoreException",
            "InvalidContainerDefinitionException",
            "400",
            "ParamValidationError",
        ),
    ),
)
"""Recognised failures, most specific first. Anything no row matches is `ErrorKind.UNKNOWN`."""


def matching_rule(operation: str, code: str, message: str, http_status: int | None) -> ErrorRule | None:
    """The first row of `ERROR_RULES` that recognises this failure: the evidence behind a classification."""
    return next((rule for rule in ERROR_RULES if rule.matches(operation, code, message, http_status)), None)


def classify_error(operation: str, code: str, message: str, http_status: int | None) -> ErrorKind:
    """The one place that decides what a Greengrass failure means for the workflow.

    Pure, so every row can be tested without a client and the simulator can be checked against it.
    One rule is not a table row because it is about the outcome, not the input: a `NOT_FOUND` from
    `ListTagsForResource` becomes `UNKNOWN`. `GetGroup` has just said the group exists, so "not found"
    there means either a race with a deletion (the next inspection will say so) or a tagging endpoint that
    is missing; treating it as "the group is gone" or "no tags" could skip the protection tag.
    """
    rule = matching_rule(operation, code, message, http_status)
    kind = rule.kind if rule is not None else ErrorKind.UNKNOWN
    if operation == LIST_TAGS_OPERATION and kind is ErrorKind.NOT_FOUND:
        return ErrorKind.UNKNOWN
    return kind


def greengrass_error(operation: str, exc: ClientError | BotoCoreError) -> GreengrassError:
    """Flatten a botocore exception into the fields `classify_error` reads, and classify it."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        message = str(error.get("Message") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    else:
        # Transport and client-side failures have no response: their class is their code.
        code, message, status = type(exc).__name__, str(exc), None
    kind = classify_error(operation, code, message, status)
    return GreengrassError(kind=kind, operation=operation, code=code or str(status or ""), message=message)
