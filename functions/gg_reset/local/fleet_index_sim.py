"""An in-process AWS IoT fleet index: `SearchIndex` on `AWS_Things`, with the connectivity of each simulated
Greengrass V1 core's thing.

gg-reset can use fleet indexing as a connectivity source: a query on `connectivity.connected:false` tells
which core things are disconnected and since when (`connectivity.timestamp`, "the epoch time (in milliseconds)
when the thing last connected or disconnected"), so a group whose core has been gone longer than a threshold
can be reset with `Force=True` at once. moto's `SearchIndex` says every thing is connected (at the time of the
call), so this module answers `SearchIndex` instead, from the simulated cores: a handler on a real boto3 `iot`
client's `before-send` event (the technique of `gg_reset.local.greengrass_sim`) that answers **only**
`SearchIndex` and returns `None` for every other operation, which botocore then sends as usual (to moto inside
`mock_aws()`). docs/greengrass-v1.md, "Fleet indexing (connectivity)", has the facts and their sources.

What is indexed: the core thing of every live group of the `GreengrassSimulator` (`core_thing(group_id)`, the
first core of the group's latest version), plus things registered explicitly with `set_connectivity`. A thing
several live groups name as their core is decided by the oldest of them. Documents are
`{thingName, thingId, connectivity: {connected, timestamp, disconnectReason}}`; `thingId` is a stable UUID
derived from the thing's ARN (not moto's `thingId`), and there are no attributes, thing type, groups or
shadow to index.

Connectivity, by default from the core's `CoreProfile`, read lazily at query time:

* A core that never answers (`offline`) is disconnected, reason `CONNECTION_LOST`, since
  `DEFAULT_OFFLINE_FOR` (6 hours) before the simulation start (the clock's time when the simulator is made);
  `offline_for=` changes the 6 hours, `disconnected_since=` replaces the whole rule (it returns, for a
  profile, when such a core lost its connection, or `None` for a connected one), and
  `set_group_connectivity` overrides one group.
* Every other core (online, slow, flaky, failing: they all answer) is connected since the simulation start;
  a connected thing's `connectivity` has no `disconnectReason`.
* A change of profile that changes connectedness is a connect or a disconnect (`CONNECTION_LOST`) at the
  simulated time it happened: `set_core(group_id, core)` here (wraps `GreengrassSimulator.set_core`) or
  `core_changed(group_id, at)` after calling the Greengrass simulator's `set_core` directly date it exactly;
  a change nobody reported is noticed by the next query and dated at that query's time.
* `set_connectivity(thing, connected, since, reason)` sets a thing's connectivity outright; `since=None`
  with `connected=False` is a thing with "no additional session details" (no timestamp, no reason), as AWS
  answers for a device that never connected or was disconnected for more than an hour before connectivity
  indexing was enabled.

Query grammar (a subset of the documented Lucene-like syntax; anything else is 400 `InvalidQueryException`
naming what is not modelled):

    query  := or
    or     := and ("OR" and)*
    and    := unary (["AND"] unary)*          -- juxtaposition is AND, the documented default operator
    unary  := "NOT" unary | "(" or ")" | term
    term   := "thingName:" (name | "name" | prefix* | *)
            | "connectivity.connected:" (true | false | *)
            | "connectivity.disconnectReason:" (reason | *)
            | "connectivity.timestamp" (":" (ms | * | range) | ("<" | "<=" | ">" | ">=") ms)
    range  := ("[" | "{") (ms | *) "TO" (ms | *) ("]" | "}")

Values match case-insensitively ("Search is case insensitive"), field names and operators case-sensitively;
`\\` escapes the next character of a bare value; at most `MAX_QUERY_TERMS` (12) terms. Things without a
timestamp match no timestamp term.

Paging: things in thing-name order (AWS documents none), `maxResults` 1-100 (the API reference: "This maximum
number cannot exceed 100"; more is 400 `InvalidRequestException`), 100 a page without it (undocumented), and a
`nextToken` that carries the last name returned and the query it belongs to (another query's token, or one
this simulator did not issue, is 400 `InvalidRequestException`). Things added or removed between pages never
shift a page.

Errors: `indexName` other than `AWS_Things` is 404 `ResourceNotFoundException` (no other index is simulated);
no `indexName` is 400 `InvalidRequestException` (AWS documents no default); `enabled=False` (indexing off) is
400 `IndexNotReadyException`; `requests_per_second=` is a token bucket on the simulated clock whose empty
answer is 400 `ThrottlingException` "Rate exceeded.". Statuses and codes are the API model's; the messages are
the simulator's own (AWS documents none).

Wiring it into `LocalService` (runtime.py), after `self.simulator` and `self.iot` exist:

    self.fleet_index = FleetIndexSimulator(self.clock, self.simulator, account=ACCOUNT, region=REGION)
    self.fleet_index.attach(self.iot)  # SearchIndex from here; every other IoT call still goes to moto

and change cores through `self.fleet_index.set_core(group_id, core)` (or call
`self.fleet_index.core_changed(group_id)` right after `self.simulator.set_core(...)`) so that connects and
disconnects carry the simulated time they happened at.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, cast

from gg_reset.local.cores import CoreBehaviour, CoreProfile
from gg_reset.local.faults import TokenBucket
from gg_reset.local.greengrass_http import ApiResponse, encode_response

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse
    from botocore.client import BaseClient

    from gg_reset.local.clock import SimulatedClock
    from gg_reset.local.greengrass_sim import GreengrassSimulator

__all__ = [
    "DEFAULT_DISCONNECT_REASON",
    "DEFAULT_OFFLINE_FOR",
    "DEFAULT_PAGE_SIZE",
    "DISCONNECT_REASONS",
    "MAX_PAGE_SIZE",
    "MAX_QUERY_TERMS",
    "THINGS_INDEX",
    "Connectivity",
    "FleetIndexSimulator",
]

THINGS_INDEX: Final = "AWS_Things"
"""The thing index's name (the other AWS index, `AWS_ThingGroups`, is not simulated)."""
SERVED_OPERATION: Final = "SearchIndex"

DEFAULT_OFFLINE_FOR: Final = timedelta(hours=6)
"""How long before the simulation start an `offline` core lost its connection, unless told otherwise."""
DEFAULT_DISCONNECT_REASON: Final = "CONNECTION_LOST"
"""The reason of a simulated disconnect: "The client-server connection is cut off" (lifecycle events)."""
DISCONNECT_REASONS: Final = (
    "AUTH_ERROR",
    "CLIENT_INITIATED_DISCONNECT",
    "CLIENT_ERROR",
    "CONNECTION_LOST",
    "DUPLICATE_CLIENTID",
    "FORBIDDEN_ACCESS",
    "MQTT_KEEP_ALIVE_TIMEOUT",
    "SERVER_ERROR",
    "SERVER_INITIATED_DISCONNECT",
    "THROTTLED",
    "WEBSOCKET_TTL_EXPIRATION",
    "CUSTOMAUTH_TTL_EXPIRATION",
    "UNKNOWN",
)
"""The documented disconnect reasons (GetThingConnectivityData's valid values, less `NONE`, which is the
reason of a connected device)."""

DEFAULT_PAGE_SIZE: Final = 100
"""AWS documents no default page size; the simulator uses the maximum."""
MAX_PAGE_SIZE: Final = 100
""""This maximum number cannot exceed 100" (SearchIndex `maxResults`); botocore checks only the minimum, 1."""
MAX_QUERY_TERMS: Final = 12
"""The query-syntax page's limit on the terms of one query."""

INVALID_QUERY_CODE: Final = "InvalidQueryException"
INVALID_REQUEST_CODE: Final = "InvalidRequestException"
INDEX_NOT_READY_CODE: Final = "IndexNotReadyException"
THROTTLING_CODE: Final = "ThrottlingException"
RESOURCE_NOT_FOUND_CODE: Final = "ResourceNotFoundException"

_THING_NAME: Final = re.compile(r"[a-zA-Z0-9:_-]{1,128}")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)
_INTEGER: Final = re.compile(r"-?[0-9]+")
_TIMESTAMP_FIELD: Final = "connectivity.timestamp"
_MODELLED_FIELDS: Final = (
    "thingName",
    "connectivity.connected",
    _TIMESTAMP_FIELD,
    "connectivity.disconnectReason",
)


def _epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MILLISECOND


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Connectivity:
    """A thing's indexed connectivity: connected or not, since when (`None`: no session details, only for a
    disconnected thing) and, when disconnected, why (`None`: no reason indexed)."""

    connected: bool
    since: datetime | None
    disconnect_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The model's `ThingConnectivity` as the wire carries it (`timestamp` in epoch milliseconds)."""
        body: dict[str, Any] = {"connected": self.connected}
        if self.since is not None:
            body["timestamp"] = _epoch_ms(self.since)
        if not self.connected and self.disconnect_reason is not None:
            body["disconnectReason"] = self.disconnect_reason
        return body


@dataclass(slots=True)
class _State:
    connectivity: Connectivity
    observed: bool | None
    """The connectedness the owning group's core profile had when last looked at (None: no owning group)."""
    explicit: bool
    """Registered with `set_connectivity`: indexed whether or not a live group names it."""


@dataclass(frozen=True, slots=True)
class _Doc:
    thing_name: str
    connectivity: Connectivity


_Matcher = Callable[[_Doc], bool]


class _ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def _invalid_query(message: str) -> _ServiceError:
    return _ServiceError(400, INVALID_QUERY_CODE, message)


# --- the query language --------------------------------------------------------------------------------


class _QueryParser:
    """A recursive-descent parser of the grammar in the module docstring, compiling to a matcher."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.terms = 0

    def parse(self) -> _Matcher:
        matcher = self._or()
        self._skip_space()
        if self.pos < len(self.text):
            raise self._error(f"unexpected {self.text[self.pos]!r}")
        if self.terms > MAX_QUERY_TERMS:
            raise _invalid_query(f"The query has {self.terms} terms; at most {MAX_QUERY_TERMS} are allowed.")
        return matcher

    def _error(self, what: str) -> _ServiceError:
        return _invalid_query(f"Invalid query at position {self.pos}: {what}.")

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _at_keyword(self, word: str) -> bool:
        self._skip_space()
        end = self.pos + len(word)
        return self.text.startswith(word, self.pos) and (
            end == len(self.text) or self.text[end].isspace() or self.text[end] in "()"
        )

    def _keyword(self, word: str) -> bool:
        if self._at_keyword(word):
            self.pos += len(word)
            return True
        return False

    def _or(self) -> _Matcher:
        alternatives = [self._and()]
        while self._keyword("OR"):
            alternatives.append(self._and())
        if len(alternatives) == 1:
            return alternatives[0]
        return lambda doc: any(m(doc) for m in alternatives)

    def _and(self) -> _Matcher:
        required = [self._unary()]
        while True:
            self._skip_space()
            if self.pos >= len(self.text) or self.text[self.pos] == ")" or self._at_keyword("OR"):
                break
            self._keyword("AND")
            required.append(self._unary())
        if len(required) == 1:
            return required[0]
        return lambda doc: all(m(doc) for m in required)

    def _unary(self) -> _Matcher:
        if self._keyword("NOT"):
            negated = self._unary()
            return lambda doc: not negated(doc)
        self._skip_space()
        if self.pos >= len(self.text):
            raise self._error("the query ends where a term was expected")
        if self.text[self.pos] == "(":
            self.pos += 1
            inner = self._or()
            self._skip_space()
            if self.pos >= len(self.text) or self.text[self.pos] != ")":
                raise self._error("a '(' is not closed")
            self.pos += 1
            return inner
        return self._term()

    def _term(self) -> _Matcher:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "._"):
            self.pos += 1
        field = self.text[start : self.pos]
        if not field:
            raise self._error(f"{self.text[self.pos]!r} does not start a term the simulator models")
        self.terms += 1
        self._skip_space()
        if self.pos < len(self.text) and self.text[self.pos] in "<>":
            operator = self.text[self.pos]
            self.pos += 1
            if self.pos < len(self.text) and self.text[self.pos] == "=":
                operator += "="
                self.pos += 1
            self._skip_space()
            return self._comparison(field, operator, self._bare_value())
        if self.pos >= len(self.text) or self.text[self.pos] != ":":
            raise self._error(f"the term {field!r} has no field (searching every field is not modelled)")
        self.pos += 1
        self._skip_space()
        if self.pos >= len(self.text):
            raise self._error(f"the field {field!r} has no value")
        opening = self.text[self.pos]
        if opening in "[{":
            return self._range(field)
        if opening == "(":
            raise self._error("field grouping is not modelled")
        if opening == '"':
            return self._match(field, self._quoted_value(), quoted=True)
        return self._match(field, self._bare_value(), quoted=False)

    def _bare_value(self) -> str:
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char.isspace() or char in "()":
                break
            if char == "\\":
                self.pos += 1
                if self.pos >= len(self.text):
                    raise self._error("a '\\' escapes nothing")
                char = self.text[self.pos]
            chars.append(char)
            self.pos += 1
        if not chars:
            raise self._error("a value is missing")
        return "".join(chars)

    def _quoted_value(self) -> str:
        self.pos += 1  # the opening quote
        chars: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != '"':
            if self.text[self.pos] == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
            chars.append(self.text[self.pos])
            self.pos += 1
        if self.pos >= len(self.text):
            raise self._error("a '\"' is not closed")
        self.pos += 1
        return "".join(chars)

    def _range_bound(self) -> int | None:
        start = self.pos
        while self.pos < len(self.text) and not (
            self.text[self.pos].isspace() or self.text[self.pos] in "]}"
        ):
            self.pos += 1
        raw = self.text[start : self.pos]
        return None if raw == "*" else self._milliseconds(raw)

    def _range(self, field: str) -> _Matcher:
        if field != _TIMESTAMP_FIELD:
            raise self._error(f"a range on {field!r} is not modelled (only on {_TIMESTAMP_FIELD})")
        low_inclusive = self.text[self.pos] == "["
        self.pos += 1
        self._skip_space()
        low = self._range_bound()
        if not self._keyword("TO"):
            raise self._error("a range needs 'TO' between its bounds")
        self._skip_space()
        high = self._range_bound()
        self._skip_space()
        if self.pos >= len(self.text) or self.text[self.pos] not in "]}":
            raise self._error("a range is not closed with ']' or '}'")
        high_inclusive = self.text[self.pos] == "]"
        self.pos += 1

        def within(doc: _Doc) -> bool:
            since = doc.connectivity.since
            if since is None:
                return False
            ms = _epoch_ms(since)
            if low is not None and (ms < low or (ms == low and not low_inclusive)):
                return False
            return high is None or ms < high or (ms == high and high_inclusive)

        return within

    def _milliseconds(self, raw: str) -> int:
        if not _INTEGER.fullmatch(raw):
            raise self._error(f"{raw!r} is not an epoch time in milliseconds")
        return int(raw)

    def _comparison(self, field: str, operator: str, raw: str) -> _Matcher:
        if field != _TIMESTAMP_FIELD:
            raise self._error(f"a comparison on {field!r} is not modelled (only on {_TIMESTAMP_FIELD})")
        bound = self._milliseconds(raw)
        tests: dict[str, Callable[[int], bool]] = {
            "<": lambda ms: ms < bound,
            "<=": lambda ms: ms <= bound,
            ">": lambda ms: ms > bound,
            ">=": lambda ms: ms >= bound,
        }
        test = tests[operator]

        def compare(doc: _Doc) -> bool:
            since = doc.connectivity.since
            return since is not None and test(_epoch_ms(since))

        return compare

    def _match(self, field: str, value: str, *, quoted: bool) -> _Matcher:
        wildcard = value == "*" and not quoted
        if field == "thingName":
            return self._thing_name(value, quoted=quoted)
        if field == "connectivity.connected":
            if wildcard:
                return lambda doc: True
            folded = value.casefold()
            if folded not in ("true", "false"):
                raise self._error(f"connectivity.connected is true or false, not {value!r}")
            wanted = folded == "true"
            return lambda doc: doc.connectivity.connected is wanted
        if field == "connectivity.disconnectReason":
            if wildcard:
                return lambda doc: doc.connectivity.disconnect_reason is not None
            reason = value.casefold()
            return lambda doc: (doc.connectivity.disconnect_reason or "").casefold() == reason
        if field == _TIMESTAMP_FIELD:
            if wildcard:
                return lambda doc: doc.connectivity.since is not None
            exact = self._milliseconds(value)
            return lambda doc: (
                doc.connectivity.since is not None and _epoch_ms(doc.connectivity.since) == exact
            )
        raise self._error(
            f"the field {field!r} is not modelled (the simulator indexes {', '.join(_MODELLED_FIELDS)})"
        )

    def _thing_name(self, value: str, *, quoted: bool) -> _Matcher:
        if quoted:
            exact = value.casefold()
            return lambda doc: doc.thing_name.casefold() == exact
        if value == "*":
            return lambda doc: True
        stem = value[:-1] if value.endswith("*") else value
        if "*" in stem or "?" in stem:
            raise self._error("wildcards other than one trailing '*' are not modelled")
        folded = stem.casefold()
        if value.endswith("*"):
            return lambda doc: doc.thing_name.casefold().startswith(folded)
        return lambda doc: doc.thing_name.casefold() == folded


def _compile_query(text: str) -> _Matcher:
    return _QueryParser(text).parse()


# --- the simulator ---------------------------------------------------------------------------------------


class FleetIndexSimulator:
    """AWS IoT fleet indexing's `SearchIndex` over the simulated cores' things (see the module docstring).

    Deterministic: no randomness, and time only from the shared clock.
    """

    def __init__(
        self,
        clock: SimulatedClock,
        greengrass: GreengrassSimulator,
        *,
        account: str,
        region: str,
        disconnected_since: Callable[[CoreProfile], datetime | None] | None = None,
        offline_for: timedelta = DEFAULT_OFFLINE_FOR,
        enabled: bool = True,
        requests_per_second: float | None = None,
    ) -> None:
        """`disconnected_since(profile)`: when a core with that profile at the simulation start lost its
        connection, `None` if it is connected (since the start). It decides which profiles count as
        disconnected; by default `offline` ones, since `offline_for` before the start.

        `enabled=False` answers every search with `IndexNotReadyException` (assignable later);
        `requests_per_second` rate-limits searches on the simulated clock (`ThrottlingException`)."""
        if offline_for < timedelta(0):
            raise ValueError("offline_for must not be negative")
        self.clock = clock
        self.greengrass = greengrass
        self.account = account
        self.region = region
        self.start = clock.now()
        """The simulation start: connected cores are connected since then; offline ones lost it before."""
        self.offline_for = offline_for
        self._disconnected_since = disconnected_since or self._default_disconnected_since
        self.enabled = enabled
        """False: fleet indexing is off, every search is 400 `IndexNotReadyException`."""
        self._lock = threading.RLock()
        self._states: dict[str, _State] = {}
        self._request_count = 0
        self._bucket: TokenBucket | None = None
        self._requests_per_second: float | None = None
        self.requests_per_second = requests_per_second
        self.calls: Counter[str] = Counter()
        """Requests answered, by operation name (only `SearchIndex`: the rest go to moto)."""
        self.errors: Counter[str] = Counter()
        """Error answers, by error code."""

    # --- configuration -----------------------------------------------------------------------------------

    @property
    def requests_per_second(self) -> float | None:
        """Searches allowed per simulated second (a full bucket of `ceil(rate)` at first); None: unlimited."""
        return self._requests_per_second

    @requests_per_second.setter
    def requests_per_second(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("requests_per_second must be positive (or None for unlimited)")
        with self._lock:
            self._requests_per_second = rate
            self._bucket = (
                None if rate is None else TokenBucket(rate, max(1, math.ceil(rate)), self.clock.now())
            )

    def _default_disconnected_since(self, profile: CoreProfile) -> datetime | None:
        if profile.behaviour is CoreBehaviour.OFFLINE:
            return self.start - self.offline_for
        return None

    # --- boto3 plumbing ------------------------------------------------------------------------------------

    def attach(self, client: BaseClient) -> None:
        """Answer `SearchIndex` for an existing boto3 `iot` client (in this simulator's region); every other
        operation of the client is sent as before (to moto under `mock_aws()`). Attaching twice is harmless.

        `before-send.iot` handlers run before the plain `before-send` one moto's `mock_aws()` registers."""
        service_name = client.meta.service_model.service_name
        if service_name != "iot":
            raise ValueError(f"can only attach to an iot client, not {service_name}")
        if client.meta.region_name != self.region:
            raise ValueError(
                f"the client is for {client.meta.region_name}; this fleet index is in {self.region}"
            )
        # A `before-send` handler returning a response short-circuits the HTTP send; returning None lets
        # botocore send the request (the stubs type handlers as returning None).
        handler = cast("Callable[..., None]", self._before_send)
        client.meta.events.register(
            "before-send.iot", handler, unique_id=f"gg-reset-fleet-index-sim-{id(self)}"
        )

    def _before_send(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        # botocore names the operation in the event: `before-send.iot.<Operation>`.
        if event_name.rpartition(".")[2] != SERVED_OPERATION:
            return None
        with self._lock:
            self._request_count += 1
            request_id = str(uuid.UUID(int=self._request_count, version=4))
            self.calls[SERVED_OPERATION] += 1
            try:
                response = self._search(_json_body(request))
            except _ServiceError as error:
                self.errors[error.code] += 1
                response = ApiResponse(
                    error.status, {"message": error.message}, {"x-amzn-ErrorType": error.code}
                )
        return encode_response(request.url, response, request_id)

    # --- SearchIndex ---------------------------------------------------------------------------------------

    def _search(self, body: dict[str, Any]) -> ApiResponse:
        now = self.clock.now()
        if self._bucket is not None and not self._bucket.try_take(now):
            raise _ServiceError(400, THROTTLING_CODE, "Rate exceeded.")
        index = body.get("indexName")
        if index is None:
            raise _ServiceError(
                400, INVALID_REQUEST_CODE, f"indexName is required by the simulator; use {THINGS_INDEX}."
            )
        if index != THINGS_INDEX:
            raise _ServiceError(
                404,
                RESOURCE_NOT_FOUND_CODE,
                f"Index {index} does not exist (only {THINGS_INDEX} is simulated).",
            )
        if not self.enabled:
            raise _ServiceError(400, INDEX_NOT_READY_CODE, f"Index {THINGS_INDEX} is not ready.")
        page_size = _page_size(body.get("maxResults"))
        query = body.get("queryString")
        if not isinstance(query, str) or not query:
            raise _invalid_query("The queryString is required.")
        fingerprint = hashlib.sha256(query.encode()).hexdigest()[:16]
        after = _decode_token(body.get("nextToken"), fingerprint)
        matcher = _compile_query(query)
        docs = sorted(self._sync(now), key=lambda d: d.thing_name)
        page: list[_Doc] = []
        more = False
        for doc in docs:
            if after is not None and doc.thing_name <= after:
                continue
            if not matcher(doc):
                continue
            if len(page) == page_size:
                more = True
                break
            page.append(doc)
        answer: dict[str, Any] = {"things": [self._document(d) for d in page], "thingGroups": []}
        if more:
            answer["nextToken"] = _encode_token(page[-1].thing_name, fingerprint)
        return ApiResponse(200, answer)

    def _document(self, doc: _Doc) -> dict[str, Any]:
        """The model's `ThingDocument` of a simulated thing: name, id and connectivity (nothing else is
        indexed)."""
        return {
            "thingName": doc.thing_name,
            "thingId": self.thing_id(doc.thing_name),
            "connectivity": doc.connectivity.to_json(),
        }

    def thing_id(self, thing_name: str) -> str:
        """The `thingId` the index reports: a UUID derived from the thing's ARN (stable, but not moto's)."""
        arn = f"arn:aws:iot:{self.region}:{self.account}:thing/{thing_name}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, arn))

    # --- connectivity state ------------------------------------------------------------------------------

    def _connected(self, profile: CoreProfile) -> bool:
        return self._disconnected_since(profile) is None

    def _baseline(self, profile: CoreProfile) -> Connectivity:
        since = self._disconnected_since(profile)
        if since is None:
            return Connectivity(True, self.start)
        return Connectivity(False, _aware(since, "disconnected_since()"), DEFAULT_DISCONNECT_REASON)

    @staticmethod
    def _transition(connected: bool, at: datetime) -> Connectivity:
        return Connectivity(connected, at, None if connected else DEFAULT_DISCONNECT_REASON)

    def _owners(self) -> dict[str, str]:
        """Thing name -> the oldest live group whose core it is."""
        owners: dict[str, str] = {}
        for group_id in self.greengrass.group_ids():
            try:
                thing_name = self.greengrass.core_thing(group_id).thing_name
            except KeyError:  # no core in its latest version, or deleted meanwhile
                continue
            owners.setdefault(thing_name, group_id)
        return owners

    def _profile(self, group_id: str) -> CoreProfile | None:
        try:
            return self.greengrass.core(group_id)
        except KeyError:
            return None

    def _sync(self, now: datetime) -> list[_Doc]:
        """Bring every indexed thing's state up to date with the cores' profiles; returns the documents."""
        docs: dict[str, Connectivity] = {}
        for thing_name, group_id in self._owners().items():
            profile = self._profile(group_id)
            if profile is None:
                continue
            connected = self._connected(profile)
            state = self._states.get(thing_name)
            if state is None:
                state = _State(self._baseline(profile), connected, explicit=False)
                self._states[thing_name] = state
            elif state.observed is None:
                state.observed = connected
            elif state.observed != connected:  # a change nobody reported: dated now
                state.connectivity = self._transition(connected, now)
                state.observed = connected
            docs[thing_name] = state.connectivity
        for thing_name, state in self._states.items():
            if state.explicit and thing_name not in docs:
                docs[thing_name] = state.connectivity
        return [_Doc(name, connectivity) for name, connectivity in docs.items()]

    def _moment(self, at: datetime | None, name: str) -> datetime:
        now = self.clock.now()
        if at is None:
            return now
        moment = _aware(at, name)
        if moment > now:
            raise ValueError(f"{name} ({moment.isoformat()}) is in the simulated future ({now.isoformat()})")
        return moment

    # --- scenario helpers (no API call, not counted) -------------------------------------------------------

    def set_core(self, group_id: str, core: str | CoreProfile, *, at: datetime | None = None) -> None:
        """`GreengrassSimulator.set_core`, with the connect or disconnect it implies recorded at `at`
        (default: now): the group's current connectivity is observed first, so the change is judged against
        it."""
        with self._lock:
            self._sync(self.clock.now())
            self.greengrass.set_core(group_id, core)
            self.core_changed(group_id, at)

    def core_changed(self, group_id: str, at: datetime | None = None) -> None:
        """Tell the index that the group's core profile changed (`GreengrassSimulator.set_core`) at `at`
        (default: now). If that changes whether the core is connected, its thing connects (or disconnects,
        `CONNECTION_LOST`) at `at`; otherwise nothing changes. A group the index never looked at (no search
        or `set_core` here since it was made) is taken to have connected or disconnected at `at`.

        Only the oldest live group naming a thing decides it: for another group this is a no-op."""
        with self._lock:
            moment = self._moment(at, "at")
            thing_name = self.greengrass.core_thing(group_id).thing_name
            if self._owners().get(thing_name) != group_id:
                return
            connected = self._connected(self.greengrass.core(group_id))
            state = self._states.get(thing_name)
            if state is not None and state.observed == connected:
                return
            since = state.connectivity.since if state is not None else None
            if since is not None and moment < since:
                raise ValueError(f"at ({moment.isoformat()}) is before the thing's last change ({since})")
            self._states[thing_name] = _State(
                self._transition(connected, moment), connected, explicit=state.explicit if state else False
            )

    def set_connectivity(
        self,
        thing_name: str,
        connected: bool,
        since: datetime | None,
        disconnect_reason: str | None = DEFAULT_DISCONNECT_REASON,
    ) -> None:
        """Index `thing_name` with this connectivity, whether or not it is a group's core thing; it stays
        indexed until `remove_thing` (a core thing stays indexed after its group is deleted too). For a core
        thing, a later change of its core's connectedness overrides it.

        `since=None` (only with `connected=False`) is a thing with no session details: no timestamp, no
        reason. `disconnect_reason` (one of `DISCONNECT_REASONS`, or None) applies only to a disconnected
        thing."""
        if not _THING_NAME.fullmatch(thing_name):
            raise ValueError(f"{thing_name!r} is not a valid AWS IoT thing name")
        self._put(thing_name, connected, since, disconnect_reason, explicit=True)

    def set_group_connectivity(
        self,
        group_id: str,
        connected: bool,
        since: datetime | None,
        disconnect_reason: str | None = DEFAULT_DISCONNECT_REASON,
    ) -> None:
        """Override the connectivity of a group's core thing (e.g. an offline core gone for 3 days instead of
        `offline_for`). Like the profile-derived state it replaces, it leaves the index with the group, and a
        later change of the core's connectedness overrides it."""
        with self._lock:
            self._put(
                self.greengrass.core_thing(group_id).thing_name,
                connected,
                since,
                disconnect_reason,
                explicit=None,
            )

    def _put(
        self,
        thing_name: str,
        connected: bool,
        since: datetime | None,
        disconnect_reason: str | None,
        *,
        explicit: bool | None,
    ) -> None:
        if since is None and connected:
            raise ValueError("a connected thing needs the time it connected (since)")
        if disconnect_reason is not None and disconnect_reason not in DISCONNECT_REASONS:
            raise ValueError(f"disconnect_reason must be one of {', '.join(DISCONNECT_REASONS)} or None")
        with self._lock:
            moment = None if since is None else self._moment(since, "since")
            owner = self._owners().get(thing_name)
            profile = None if owner is None else self._profile(owner)
            previous = self._states.get(thing_name)
            self._states[thing_name] = _State(
                Connectivity(connected, moment, None if connected or moment is None else disconnect_reason),
                None if profile is None else self._connected(profile),
                explicit=explicit if explicit is not None else (previous.explicit if previous else False),
            )

    def remove_thing(self, thing_name: str) -> None:
        """Stop indexing a thing registered with `set_connectivity` (`KeyError` if it was not). If it is
        also a live group's core thing, it stays indexed from its core profile, afresh."""
        with self._lock:
            state = self._states.get(thing_name)
            if state is None or not state.explicit:
                raise KeyError(f"{thing_name} was not registered with set_connectivity")
            del self._states[thing_name]

    # --- observability -----------------------------------------------------------------------------------

    def connectivity(self, thing_name: str) -> Connectivity:
        """What a search would answer for the thing now (`KeyError` if it is not indexed)."""
        with self._lock:
            for doc in self._sync(self.clock.now()):
                if doc.thing_name == thing_name:
                    return doc.connectivity
        raise KeyError(f"{thing_name} is not in the simulated fleet index")

    def indexed_things(self) -> list[str]:
        """Every indexed thing's name, in the order searches list them."""
        with self._lock:
            return sorted(doc.thing_name for doc in self._sync(self.clock.now()))


# --- request plumbing ------------------------------------------------------------------------------------


def _json_body(request: AWSPreparedRequest) -> dict[str, Any]:
    raw: object = request.body
    if raw is not None and hasattr(raw, "read"):
        raw = raw.read()
    text = bytes(raw).decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
    if not isinstance(text, str) or not text:
        return {}
    decoded = json.loads(text)
    if not isinstance(decoded, dict):
        raise _ServiceError(400, INVALID_REQUEST_CODE, "The request body must be a JSON object.")
    return decoded


def _page_size(raw: object) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_PAGE_SIZE:
        raise _ServiceError(
            400, INVALID_REQUEST_CODE, f"maxResults must be between 1 and {MAX_PAGE_SIZE}, not {raw}."
        )
    return raw


def _encode_token(after: str, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after, "query": fingerprint}).encode()).decode()


def _decode_token(token: object, fingerprint: str) -> str | None:
    """The thing name a page starts after (None without a token); a 400 for a token this simulator did not
    issue for this query."""
    if token is None:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        after, query = decoded["after"], decoded["query"]
    except (ValueError, KeyError, TypeError):
        after = query = None
    if not isinstance(after, str) or query != fingerprint:
        raise _ServiceError(400, INVALID_REQUEST_CODE, "The nextToken is invalid for this query.")
    return after
