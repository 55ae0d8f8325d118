"""The Greengrass V1 simulator on a real HTTP port, for tools that take an endpoint URL.

`GreengrassSimulator` normally answers a boto3 client in-process (`gg_reset.local.greengrass_http`). This
module serves the same simulator from a `ThreadingHTTPServer` bound to 127.0.0.1 only, so anything that
honours `AWS_ENDPOINT_URL` (the `gg-reset` CLI, the janitor's code, a user's boto3 scripts) can use it.
Each HTTP request is turned into a botocore `AWSPreparedRequest` and goes through the very routing and
decoding the in-process transport uses (`decode_request`, `encode_response`, `error_response`), so the two
faces of the simulator cannot drift apart.

What differs from the in-process simulator is time: a live server runs on a `WallClock` (real time, scaled
by `speed`), and a background thread applies due transitions, so cores answer deployments over real
seconds and status events appear without anyone calling the API.

Only Greengrass V1 is served. A request signed for another service, or a Greengrass operation the
simulator does not serve, gets an AWS-shaped 501 `NotImplemented` that says so (never a plausible answer
for something that is not simulated). Two read-only paths under `/_simulator/` are not AWS APIs:

- `GET /_simulator/events?after=N`: the "Greengrass Deployment Status Change" events published so far,
  EventBridge-shaped (as a rule target receives them), from index N on, and `next`, the N to ask for next.
- `GET /_simulator/fleet`: the seeded fleet (each group's id, name, kind, core and tags) and live counts.

`events_file` also appends each event as one JSON line. See docs/local-endpoint.md.
"""

from __future__ import annotations

import errno
import json
import random
import re
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Self, cast
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import botocore.session
from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders

from gg_reset.cleanup.selection import EXPIRY_TAG
from gg_reset.domain.safety import PROTECT_TAG
from gg_reset.local import fleet_mix
from gg_reset.local.clock import SimulatedClock
from gg_reset.local.greengrass_http import (
    SUPPORTED_OPERATIONS,
    ApiError,
    ApiResponse,
    decode_request,
    encode_response,
    error_response,
)
from gg_reset.local.greengrass_sim import GreengrassSimulator

HOST: Final = "127.0.0.1"
"""The only address served: the simulator checks no signature, so it must not be reachable from elsewhere."""
DEFAULT_PORT: Final = 4599
REGION: Final = "us-east-1"
ACCOUNT: Final = "123456789012"
EVENTS_PATH: Final = "/_simulator/events"
FLEET_PATH: Final = "/_simulator/fleet"
CONTROL_PREFIX: Final = "/_simulator"
NOT_IMPLEMENTED: Final = "NotImplemented"
TICK_S: Final = 0.05
"""How often (real seconds) the background thread applies due transitions."""

SIMULATE_MIX: Final[Mapping[str, int]] = {
    "online": 30,
    "offline": 15,
    "failing": 5,
    "flaky": 5,
    "slow": 5,
    "protected": 5,
    "never-deployed": 5,
    "failed-deployment": 5,
    "expired": 8,
    "expired-protected": 4,
    "unexpired": 10,
    "expiry-unreadable": 3,
}
"""Default weights of the group kinds. The expired (unprotected) groups stay under the janitor's default cap
of 10 % of the fleet, so a janitor run against the endpoint is not capped."""

KINDS: Final[Mapping[str, str]] = {
    "online": "a core that answers every deployment (5 simulated s)",
    "offline": "a core that never answers: deployments stay InProgress",
    "failing": "a core that fails every deployment",
    "flaky": "a core that fails 30 % of deployments",
    "slow": "a core that answers after 15 simulated minutes",
    "protected": f"an online group tagged {PROTECT_TAG[0]}={PROTECT_TAG[1]}",
    "never-deployed": "an online group never deployed (a reset has nothing to do)",
    "failed-deployment": "an online group whose NewDeployment, started at launch, fails (a Failure event)",
    "expired": f"{EXPIRY_TAG} 30 days ago (online or offline core)",
    "expired-protected": f"{EXPIRY_TAG} 30 days ago and {PROTECT_TAG[0]}={PROTECT_TAG[1]}",
    "unexpired": f"{EXPIRY_TAG} a year from now",
    "expiry-unreadable": f"{EXPIRY_TAG} that is not a date",
}
"""Every group kind, with what it is. Groups without a core behaviour of their own get an online core."""
UNREADABLE_EXPIRY: Final = "when the project ends"


class EndpointError(Exception):
    """The endpoint cannot start (port in use, events file not writable): `problem`, and what to do."""

    def __init__(self, problem: str, hint: str | None = None) -> None:
        self.problem = problem
        self.hint = hint
        self.message = f"{problem}: {hint}" if hint else problem
        super().__init__(self.message)


# --- time --------------------------------------------------------------------------------------------------


class WallClock(SimulatedClock):
    """Real time for a live simulator: starts at the wall-clock time and runs `speed` times as fast.

    It is a `SimulatedClock` (the simulator's type) whose `now()` follows `time.monotonic()`, so it never
    goes backwards. `advance` (the simulator's latency faults) still moves it forward, by an offset.
    """

    __slots__ = ("_mono0", "_offset_s", "_speed", "_start")

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be above 0, not {speed!r}")
        super().__init__(start or datetime.now(UTC))
        self._start = self._now
        self._mono0 = time.monotonic()
        self._speed = speed
        self._offset_s = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._mono0) * self._speed
        return self._start + timedelta(seconds=elapsed + self._offset_s)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards (advance by {seconds} s)")
        self._offset_s += seconds
        return self.now()

    def advance_to(self, when: datetime) -> datetime:
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("advance_to needs a timezone-aware time")
        ahead = (when - self.now()).total_seconds()
        if ahead > 0:
            self._offset_s += ahead
        return self.now()

    def sleep(self, seconds: float) -> None:
        """Really waits: `seconds` of simulated time, i.e. `seconds / speed` real seconds."""
        if seconds > 0:
            time.sleep(seconds / self._speed)

    def __repr__(self) -> str:
        return f"WallClock({self.now().isoformat()}, speed={self._speed:g})"


# --- the fleet ---------------------------------------------------------------------------------------------


def parse_mix(text: str | None) -> dict[str, int]:
    """`online=3,expired=1` -> weights over `KINDS` (`SIMULATE_MIX` when no text); see `fleet_mix`."""
    return fleet_mix.parse_mix(text, SIMULATE_MIX)


@dataclass(frozen=True, slots=True)
class FleetGroup:
    group_id: str
    name: str
    kind: str
    core: str
    tags: Mapping[str, str]

    def as_json(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "name": self.name,
            "kind": self.kind,
            "core": self.core,
            "tags": dict(self.tags),
        }


def build_fleet(
    simulator: GreengrassSimulator, groups: int, mix: Mapping[str, int], rng: random.Random
) -> list[FleetGroup]:
    """Seed `simulator` with `groups` groups of the kinds in `mix` (see `KINDS`); same seed, same fleet."""
    now = simulator.clock.now()
    past = {EXPIRY_TAG: (now - timedelta(days=30)).date().isoformat()}
    protect = {PROTECT_TAG[0]: PROTECT_TAG[1]}
    fleet = []
    for index, kind in enumerate(fleet_mix.fleet_kinds(groups, mix, rng)):
        name = f"sim-{kind}-{index:04d}"
        core = kind if kind in ("online", "offline", "failing", "flaky", "slow") else "online"
        tags: dict[str, str] = {}
        deployed = True
        if kind == "protected":
            tags = protect
        elif kind == "never-deployed":
            deployed = False
        elif kind == "expired":
            core = rng.choice(("online", "offline"))
            tags = past
        elif kind == "expired-protected":
            tags = {**past, **protect}
        elif kind == "unexpired":
            tags = {EXPIRY_TAG: (now + timedelta(days=365)).date().isoformat()}
        elif kind == "expiry-unreadable":
            tags = {EXPIRY_TAG: UNREADABLE_EXPIRY}
        group_id = simulator.add_group(name=name, core=core, deployed=deployed, tags=tags)
        if kind == "failed-deployment":
            simulator.start_failing_deployment(group_id)
        fleet.append(FleetGroup(group_id, name, kind, core, dict(tags)))
    return fleet


# --- status events -----------------------------------------------------------------------------------------


def _iso_s(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def put_events_entry(event: Mapping[str, Any], bus_name: str = "default") -> dict[str, Any]:
    """A `PutEvents` entry for an event read from the endpoint (to forward it to an EventBridge bus, e.g.
    `LocalService.put_event` or a bus where the stack's status rule listens)."""
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "EventBusName": bus_name,
        "Time": datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")),
        "Resources": list(event.get("resources", [])),
    }


class EventLog:
    """The simulator's `Publish`: keeps each event as EventBridge delivers it to a target (with a new `id`,
    as `PutEvents` assigns one) and appends it as a JSON line to `path`, if given."""

    def __init__(self, account: str, region: str, path: Path | None = None) -> None:
        self.account = account
        self.region = region
        self.path = path
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._file: IO[str] | None = None
        if path is not None:
            if path.is_dir():
                raise EndpointError(f"--events-file {path} is a directory", "give a file name")
            try:
                self._file = path.open("a", encoding="utf-8")
            except OSError as exc:
                raise EndpointError(
                    f"--events-file {path}: cannot write there ({exc.strerror or exc})",
                    "choose a writable path",
                ) from None

    def __call__(self, entries: list[dict[str, Any]]) -> object:
        for entry in entries:
            moment = entry.get("Time")
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": self.account,
                "time": _iso_s(moment) if isinstance(moment, datetime) else _iso_s(datetime.now(UTC)),
                "region": self.region,
                "resources": list(entry.get("Resources", [])),
                "detail": json.loads(entry["Detail"]),
            }
            with self._lock:
                self._events.append(event)
                if self._file is not None:
                    self._file.write(json.dumps(event) + "\n")
                    self._file.flush()
        return {"FailedEntryCount": 0}

    def after(self, index: int) -> tuple[list[dict[str, Any]], int]:
        """The events from `index` on, and the index to ask for next."""
        with self._lock:
            return list(self._events[index:]), len(self._events)

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


# --- HTTP --------------------------------------------------------------------------------------------------

_SCOPE: Final = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
"""The service in a SigV4 `Authorization` header's credential scope."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def signing_service(headers: Mapping[str, str]) -> str | None:
    """The service a request was signed for (`greengrass`, `dynamodb`, ...); None if it is not signed."""
    match = _SCOPE.search(_header(headers, "Authorization") or "")
    return match.group(1) if match else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, endpoint: SimulatorEndpoint, port: int) -> None:
        self.endpoint = endpoint
        super().__init__((HOST, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: botocore pools its connections
    server_version = "gg-reset-simulator"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall per call

    def _serve(self) -> None:
        endpoint = cast("_Server", self.server).endpoint
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            answer = endpoint.plain_error(
                400, "BadRequestException", "Chunked request bodies are not served."
            )
            self.close_connection = True
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:
                answer = endpoint.plain_error(400, "BadRequestException", "Invalid Content-Length.")
                self.close_connection = True
            else:
                body = self.rfile.read(length) if length else b""
                answer = endpoint.dispatch(self.command, self.path, dict(self.headers.items()), body)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    # `BaseHTTPRequestHandler` dispatches on `do_<VERB>`.
    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        endpoint = cast("_Server", self.server).endpoint
        if endpoint.verbose:
            endpoint.log(f"{self.address_string()} {format % args}")


class SimulatorEndpoint:
    """A seeded simulated fleet served on http://127.0.0.1:PORT until `stop()` (or the `with` block ends).

    `port=0` picks a free port (read `port` or `url` after `start()`). `speed`: simulated seconds per real
    second. `events_file`: append each status event there as one JSON line.
    """

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        groups: int = 50,
        seed: int = 7,
        mix: Mapping[str, int] | None = None,
        speed: float = 1.0,
        events_file: Path | None = None,
        verbose: bool = False,
    ) -> None:
        if not 0 <= port <= 65535:
            raise EndpointError(f"port {port} is not a TCP port", "give 1-65535, or 0 for a free one")
        if groups < 1:
            raise EndpointError(f"{groups} groups", "give at least 1")
        self.requested_port = port
        self.seed = seed
        self.verbose = verbose
        self.clock = WallClock(speed)
        self.events = EventLog(ACCOUNT, REGION, events_file)
        self.simulator = GreengrassSimulator(
            self.clock, self.events, rng=random.Random(seed), account=ACCOUNT, region=REGION
        )
        self.fleet = build_fleet(self.simulator, groups, mix or SIMULATE_MIX, random.Random(seed))
        self.requests = Counter[str]()
        """Requests answered, by operation (`NotImplemented` for what is not simulated, `_simulator`)."""
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # --- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> Self:
        try:
            self._server = _Server(self, self.requested_port)
        except OSError as exc:
            self.events.close()
            port = self.requested_port
            if exc.errno == errno.EADDRINUSE:
                raise EndpointError(
                    f"port {port} on {HOST} is in use", "choose another --port, or --port 0 for a free one"
                ) from None
            if exc.errno == errno.EACCES:
                raise EndpointError(
                    f"port {port} on {HOST} needs privileges", "choose a port above 1023, or --port 0"
                ) from None
            raise EndpointError(
                f"cannot listen on {HOST}:{port} ({exc.strerror or exc})", "choose another --port"
            ) from None
        server = self._server
        self._threads = [
            threading.Thread(
                target=server.serve_forever, args=(0.1,), name="gg-reset-simulate-http", daemon=True
            ),
            threading.Thread(target=self._tick, name="gg-reset-simulate-clock", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, stop the clock thread, close the events file. Safe to call twice."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        self.events.close()

    def __enter__(self) -> Self:
        return self.start() if self._server is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _tick(self) -> None:
        while not self._stopping.wait(TICK_S):
            try:
                self.simulator.run_due()
            except Exception as error:  # a simulator bug must not stop the clock silently
                self.log(f"simulator error while applying transitions: {error!r}")

    # --- what it serves ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the endpoint is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def requests_served(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def export_line(self) -> str:
        """One line a user can paste into a shell to point the CLI and boto3 at this endpoint."""
        return (
            f"export AWS_ENDPOINT_URL={self.url} AWS_DEFAULT_REGION={REGION} "
            "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test"
        )

    def kinds(self) -> dict[str, int]:
        counts = Counter(g.kind for g in self.fleet)
        return {kind: counts[kind] for kind in KINDS if counts[kind]}

    def describe(self) -> dict[str, Any]:
        """The endpoint and its fleet, as `gg-reset simulate --json` prints it."""
        return {
            "endpoint": self.url,
            "port": self.port,
            "region": REGION,
            "account": ACCOUNT,
            "export": self.export_line(),
            "events": {
                "url": f"{self.url}{EVENTS_PATH}?after=0",
                "file": str(self.events.path) if self.events.path is not None else None,
            },
            "seed": self.seed,
            "speed": self.clock.speed,
            "started_at": _iso_s(self.clock.now()),
            "groups": len(self.fleet),
            "kinds": self.kinds(),
            "fleet": [g.as_json() for g in self.fleet],
        }

    def log(self, line: str) -> None:
        sys.stderr.write(f"gg-reset simulate: {line}\n")
        sys.stderr.flush()

    # --- one request ------------------------------------------------------------------------------------

    def _count(self, what: str) -> None:
        with self._lock:
            self.requests[what] += 1

    def dispatch(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> HttpAnswer:
        """Answer one HTTP request (`target`: the request line's path and query)."""
        url = target if not target.startswith("/") else f"http://{HOST}:{self._port_or_zero()}{target}"
        path = urlsplit(url).path
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            self._count("_simulator")
            return self._control(method, path, urlsplit(url).query)
        service = signing_service(headers)
        if service is not None and service != "greengrass":
            self._count(NOT_IMPLEMENTED)
            return self._not_simulated(headers, service, f"'{service}' is not simulated")
        request_id = str(uuid.uuid4())
        try:
            api_request = decode_request(AWSPreparedRequest(method, url, _http_headers(headers), body, False))
        except NotImplementedError:
            self._count(NOT_IMPLEMENTED)
            if path.startswith("/greengrass/"):
                return self._encode(
                    url,
                    error_response(
                        ApiError(
                            501,
                            NOT_IMPLEMENTED,
                            f"The gg-reset Greengrass V1 simulator does not serve {method} {path} (it "
                            f"simulates {len(SUPPORTED_OPERATIONS)} operations: groups, group versions, "
                            "definitions, deployments, resets and tags; see docs/local-endpoint.md).",
                        )
                    ),
                    request_id,
                )
            return self._not_simulated(headers, service, f"{method} {path} is not a Greengrass V1 request")
        except ApiError as error:
            self._count("BadRequest")
            return self._encode(url, error_response(error), request_id)
        except ValueError:
            self._count("BadRequest")
            bad = ApiError(400, "BadRequestException", "The request body is not valid JSON.")
            return self._encode(url, error_response(bad), request_id)
        self._count(api_request.operation)
        try:
            response = self.simulator.handle(api_request)
        except ApiError as error:
            with self._lock:
                self.simulator.errors[error.code] += 1
            response = error_response(error)
        except Exception as error:  # a simulator bug: an AWS-shaped 500, and a line on stderr
            self.log(f"simulator error on {api_request.operation}: {error!r}")
            response = error_response(
                ApiError(500, "InternalServerErrorException", f"simulator error: {error!r}")
            )
        return self._encode(url, response, request_id)

    def plain_error(self, status: int, code: str, message: str) -> HttpAnswer:
        payload = json.dumps({"__type": code, "message": message, "Message": message}).encode()
        return HttpAnswer(status, _json_headers(payload, code), payload)

    def _port_or_zero(self) -> int:
        return self.port if self._server is not None else 0

    @staticmethod
    def _encode(url: str, response: ApiResponse, request_id: str) -> HttpAnswer:
        encoded = encode_response(url, response, request_id)
        return HttpAnswer(encoded.status_code, list(encoded.headers.items()), encoded.content)

    def _not_simulated(self, headers: Mapping[str, str], service: str | None, what: str) -> HttpAnswer:
        """An AWS-shaped 501 for a service that is not simulated: JSON for the JSON protocols, the XML
        error document (which the query and rest-xml parsers read) for the others."""
        message = (
            "The gg-reset local endpoint simulates only AWS IoT Greengrass V1 (service 'greengrass'): "
            f"{what}. "
            "Point only Greengrass here with AWS_ENDPOINT_URL_GREENGRASS, and leave AWS_ENDPOINT_URL unset "
            "(or set AWS_ENDPOINT_URL_<SERVICE>) for the other services."
        )
        if _speaks_json(headers, service):
            return self.plain_error(501, NOT_IMPLEMENTED, message)
        payload = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{NOT_IMPLEMENTED}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()
        return HttpAnswer(501, [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))], payload)

    def _control(self, method: str, path: str, query: str) -> HttpAnswer:
        if method not in ("GET", "HEAD"):
            return self.plain_error(405, "MethodNotAllowed", f"{path} is read-only: use GET")
        if path == EVENTS_PATH:
            raw = (parse_qs(query).get("after") or ["0"])[0]
            if not raw.isdigit():
                return self.plain_error(
                    400, "BadRequestException", f"after={raw!r}: give an event index >= 0"
                )
            events, following = self.events.after(int(raw))
            return _json_answer({"events": events, "next": following})
        if path == FLEET_PATH:
            return _json_answer({**self.describe(), "summary": self.simulator.summary()})
        return self.plain_error(
            404, "NotFound", f"no such simulator path {path}: GET {EVENTS_PATH}?after=N or GET {FLEET_PATH}"
        )


@cache
def _protocol(service: str) -> str | None:
    """The botocore protocol of a service named by its signing name, when that is also its model's name."""
    try:
        return str(botocore.session.get_session().get_service_model(service).protocol)
    except Exception:  # not a model name (a signing name such as execute-api): the headers decide
        return None


def _speaks_json(headers: Mapping[str, str], service: str | None) -> bool:
    """Whether the client parses JSON error bodies (json and rest-json protocols) rather than XML ones
    (query, ec2, rest-xml)."""
    protocol = _protocol(service) if service else None
    if protocol is not None:
        return "json" in protocol
    content_type = (_header(headers, "Content-Type") or "").lower()
    return "xml" not in content_type and "x-www-form-urlencoded" not in content_type


def _http_headers(headers: Mapping[str, str]) -> HTTPHeaders:
    prepared = HTTPHeaders()
    for name, value in headers.items():
        prepared[name] = value
    return prepared


def _json_headers(payload: bytes, error_code: str | None = None) -> list[tuple[str, str]]:
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    if error_code is not None:
        headers.append(("x-amzn-ErrorType", error_code))
    return headers


def _json_answer(document: Mapping[str, Any]) -> HttpAnswer:
    payload = json.dumps(document).encode()
    return HttpAnswer(200, _json_headers(payload), payload)
