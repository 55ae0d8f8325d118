"""The whole service, running locally: moto for EventBridge, SQS and DynamoDB, the Greengrass simulator
for Greengrass, and the real worker and sweeper handlers in between.

The rules and patterns are the stack's (`gg_reset.contracts`), the table is the stack's
(`gg_reset.ledger_schema`), the handlers are the Lambda handlers. What differs from AWS is the clock: a
`SimulatedClock` that `run_until_idle` jumps from one interesting instant to the next (a status change,
a due retry, the sweeper's schedule), so ten simulated minutes of a silent core pass in milliseconds.

Worker invocations run one at a time by default. With `worker_concurrency` above 1 they overlap in
simulated time as the stack's `workerMaxConcurrency` lets them in AWS: each runs as a task of a
`TaskScheduler` on the same clock, in its own execution environment (its share of the request budget, its
own batch processor, stdout and Powertools state), and whichever invocation or event is due first goes
next. A request in flight or a budget wait of one invocation lets the others run, so their latencies
overlap instead of adding up, and the same seed still gives the same run.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import json
import logging
import os
import random
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast
from unittest.mock import patch

import boto3
from moto import mock_aws

from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger
from gg_reset.adapters.greengrass import Boto3Greengrass
from gg_reset.adapters.janitor_ledger import DynamoDBJanitorLedger
from gg_reset.adapters.on_first_use import TeardownOnFirstUse
from gg_reset.adapters.requests import EventBridgeRequests
from gg_reset.adapters.telemetry import PowertoolsTelemetry
from gg_reset.cleanup.janitor import Janitor, JanitorAction, JanitorRun
from gg_reset.cleanup.selection import Selection
from gg_reset.contracts import (
    REQUEST_PATTERN,
    ForcePolicy,
    deployment_status_pattern,
    request_entry,
    timer_message_body,
)
from gg_reset.domain.actions import Notify
from gg_reset.domain.model import GroupRecord, Step, Workflow, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.teardown import Teardown
from gg_reset.ledger_schema import (
    DUE_INDEX_SORT_KEY,
    HEAD_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
    create_table_kwargs,
    group_id_of,
)
from gg_reset.local.clock import SimulatedClock, Task, TaskScheduler
from gg_reset.local.cores import CoreProfile
from gg_reset.local.faults import FaultProfile
from gg_reset.local.fleet_index_sim import FleetIndexSimulator
from gg_reset.local.greengrass_sim import ContestedBehaviour, GreengrassSimulator
from gg_reset.local.greengrass_v2_sim import GreengrassV2Simulator
from gg_reset.local.iot_fleet import MotoCoreIdentities
from gg_reset.local.work_queue import LocalWorkQueue, QueuedMessage
from gg_reset.metric_names import FORCE_FALLBACKS, outcome_metric
from gg_reset.ports import Clock, GreengrassPort, RunNotice
from gg_reset.settings import (
    DEFAULT_BUS_NAME,
    ENV_JANITOR_ACTION,
    ENV_JANITOR_DRY_RUN,
    ENV_JANITOR_MAX_GROUPS,
    ENV_JANITOR_MAX_PERCENT,
    ENV_JANITOR_SELECTION,
    ENV_JANITOR_TEARDOWN,
    JANITOR_CALLS_PER_REQUEST,
    JANITOR_DEFAULT_MAX_GROUPS,
    JANITOR_DEFAULT_MAX_PERCENT,
)
from gg_reset.shell import janitor_wiring, wiring
from gg_reset.shell.budget import RequestBudget
from gg_reset.shell.observability import PACKAGE_LOGGER, logger, metrics
from gg_reset.shell.service import ResetService

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLE_NAME = "gg-reset-ledger"
WORK_QUEUE = "gg-reset-work"
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
MAX_RECEIVE_COUNT = 5
"""Deliveries before a failing message moves to the dead-letter queue: the stack's default."""
WORKER_TIMEOUT_S = 120
"""The stack's default worker timeout: the simulated remaining time a worker invocation starts with."""
SWEEPER_TIMEOUT_S = 55
"""The stack's sweeper timeout with the default one-minute schedule."""
JANITOR_TIMEOUT_S = 900
"""The stack's janitor timeout."""
PUMP_EVERY = 10
"""Events put between two moves from moto's queue to the local one (see `LocalService._pump`)."""
WORKER_MAX_CONCURRENCY = 5
"""The stack's default `gg-reset:workerMaxConcurrency`: worker invocations its SQS event source may run at
once (`LocalService(worker_concurrency=...)` to run them so; the local default is 1)."""
VISIBILITY_TIMEOUT_S = 720
"""Simulated seconds before a failed message is delivered again: the stack's work queue default (six times
the default worker timeout of 120 s)."""

_WHOLE_EVENT: Any = {"InputPathsMap": {}, "InputTemplate": "<aws.events.event.json>"}
"""moto's default target input leaves out `account`, which real EventBridge delivers; asking for the
whole event explicitly gives the worker the same message body it gets in AWS."""

_QUIET_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class SequentialWriteLedger(DynamoDBLedger):
    """The ledger adapter with one difference, for moto only: the decision's items are written HEAD first
    (carrying the same version condition), then the rest in batches, instead of in one TransactWriteItems.

    moto deep-copies every table on each TransactWriteItems to be able to roll back, which makes a
    write cost O(items in the table) and a 300-group demo take minutes. The local runtime is single-
    threaded, so no other writer can observe the difference; the transactional write itself is tested
    against DynamoDB Local (tests/integration/ledger).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._due: dict[str, int] = {}
        """The due index, kept here as the HEAD items are written (see `due_groups`)."""

    def _write(self, writes: list[Any]) -> None:
        head, *rest = (write["Put"] for write in writes)
        self.client.put_item(**head)  # carries the version condition: a conflict stops here
        self._index(head["Item"])
        # The history steps and finished workflows cannot exist yet (the HEAD's version guards them), so
        # they go in batches without their `attribute_not_exists` conditions.
        for start in range(0, len(rest), 25):
            items: list[Any] = [{"PutRequest": {"Item": put["Item"]}} for put in rest[start : start + 25]]
            unprocessed = self.client.batch_write_item(RequestItems={self.table_name: items})
            if unprocessed.get("UnprocessedItems"):
                raise RuntimeError(f"moto left items unwritten: {unprocessed['UnprocessedItems']}")

    def _index(self, item: Mapping[str, Any]) -> None:
        if item[SORT_KEY]["S"] != HEAD_SORT_KEY:
            return
        group_id = group_id_of(item[PARTITION_KEY]["S"])
        if DUE_INDEX_SORT_KEY in item:
            self._due[group_id] = int(item[DUE_INDEX_SORT_KEY]["N"])
        else:
            self._due.pop(group_id, None)

    def due_groups(self, now: datetime, limit: int = 500) -> Sequence[str]:
        """The same answer as the due index (tested against the GSI on DynamoDB Local), from memory:
        moto answers an index query by walking the whole table, which made every sweep of a local run
        cost O(table)."""
        cutoff = int(now.timestamp())
        due = sorted((at, group) for group, at in self._due.items() if at <= cutoff)
        return [group for _, group in due[:limit]]

    @property
    def active_count(self) -> int:
        """Groups with an active workflow (every active workflow has a due time)."""
        return len(self._due)


class InvocationCrashed(BaseException):
    """Raise it from a hook (a botocore event handler, a fault) to kill the running Lambda invocation on the
    spot, as a timeout, an out-of-memory kill or a lost sandbox would: nothing after it runs, no answer is
    saved, and the worker's whole batch comes back after the visibility timeout (the sweeper's run just
    ends). A `BaseException`, so no `except Exception` of the code under test can swallow it."""


class IdleTimeout(RuntimeError):
    """`run_until_idle` hit its simulated-time or iteration budget with work still pending."""


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The part of the Lambda context object the handlers and the Powertools decorators read; the
    remaining time runs on the simulated clock, from the function's timeout."""

    function_name: str
    clock: Clock
    timeout_s: int
    started_at: datetime
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        ends = self.started_at + timedelta(seconds=self.timeout_s)
        return max(0, int((ends - self.clock.now()).total_seconds() * 1000))


class _LocalTimers:
    """`TimerPort` for the local runtime: a delayed message on the local work queue (simulated time).
    In AWS the same body goes to SQS with `DelaySeconds` (`gg_reset.adapters.timers.SqsTimers`)."""

    def __init__(self, queue: LocalWorkQueue) -> None:
        self._queue = queue

    def schedule(self, group_id: str, due_at: datetime) -> None:
        self._queue.send(timer_message_body(group_id, due_at), visible_at=due_at)


@dataclass
class RunStats:
    """What happened in the local run: the counts the demo prints."""

    worker_invocations: int = 0
    messages: int = 0
    redeliveries: int = 0
    sweeps: int = 0
    crashes: int = 0
    """Invocations killed by `InvocationCrashed`."""
    metrics: Counter[str] = field(default_factory=Counter)
    """Sums of the CloudWatch metrics the handlers emitted (read back from their EMF output)."""
    notifications: list[Notify] = field(default_factory=list)
    run_notices: list[RunNotice] = field(default_factory=list)
    """Announcements of janitor runs (`run_janitor`)."""

    @property
    def force_fallbacks(self) -> int:
        return int(self.metrics[FORCE_FALLBACKS])

    @property
    def outcomes(self) -> Counter[str]:
        prefix = outcome_metric("")
        return Counter(
            {k.removeprefix(prefix): int(v) for k, v in self.metrics.items() if k.startswith(prefix)}
        )


@dataclass(frozen=True, slots=True)
class WorkflowView:
    """A workflow as a reader wants it: its outcome and every step it took."""

    workflow: Workflow
    history: tuple[Step, ...]

    @property
    def state(self) -> WorkflowState:
        return self.workflow.state

    @property
    def reason(self) -> str:
        return self.workflow.reason

    @property
    def forced(self) -> bool:
        """Whether `Force=True` was used."""
        return self.workflow.forced

    @property
    def request_ids(self) -> tuple[str, ...]:
        return self.workflow.request_ids


class LedgerReader:
    """Read-only view of the local ledger (the same DynamoDB adapter the Lambdas write with)."""

    def __init__(self, ledger: SequentialWriteLedger) -> None:
        self._ledger = ledger

    def get(self, group_id: str) -> WorkflowView | None:
        """The group's current workflow (active, or else the last finished), with its history."""
        current = self._ledger.load(group_id).current
        if current is None:
            return None
        return WorkflowView(current, tuple(self._ledger.history(group_id, current.workflow_id)))

    def workflows(self, group_id: str) -> list[WorkflowView]:
        return [
            WorkflowView(wf, tuple(self._ledger.history(group_id, wf.workflow_id)))
            for wf in self._ledger.workflows(group_id)
        ]

    def all_workflows(self) -> dict[str, list[WorkflowView]]:
        """Every group's workflows with their histories, read in one scan (for reports over a fleet:
        moto answers each Query by walking the whole table, so per-group reads would be quadratic)."""
        workflows: dict[str, dict[str, Workflow]] = {}
        steps: dict[tuple[str, str], list[Step]] = {}
        heads: dict[str, GroupRecord] = {}
        for group_id, entry in self._ledger.scan():
            if isinstance(entry, GroupRecord):
                heads[group_id] = entry
            elif isinstance(entry, Workflow):
                workflows.setdefault(group_id, {})[entry.workflow_id] = entry
            else:
                workflow_id, step = entry
                steps.setdefault((group_id, workflow_id), []).append(step)
        for group_id, head in heads.items():
            if head.active is not None:
                workflows.setdefault(group_id, {})[head.active.workflow_id] = head.active
        return {
            group_id: [
                WorkflowView(wf, tuple(sorted(steps.get((group_id, wf_id), []), key=lambda s: s.seq)))
                for wf_id, wf in sorted(by_id.items())
            ]
            for group_id, by_id in workflows.items()
        }

    def find_request(self, group_id: str, request_id: str) -> WorkflowView | None:
        """The workflow that answers `request_id`, with its history (read for that workflow alone: a group
        with many workflows, such as a bucket of unparseable requests, costs one query, not one each)."""
        for wf in self._ledger.workflows(group_id):
            if request_id in wf.request_ids:
                return WorkflowView(wf, tuple(self._ledger.history(group_id, wf.workflow_id)))
        return None

    def active_groups(self) -> Sequence[str]:
        """Groups with a workflow still under way."""
        return self._ledger.due_groups(_END_OF_TIME, limit=self._ledger.active_count)


class _CollectingNotifier:
    def __init__(self, stats: RunStats) -> None:
        self._stats = stats

    def notify(self, notice: Notify) -> None:
        self._stats.notifications.append(notice)

    def notify_run(self, notice: RunNotice) -> None:
        self._stats.run_notices.append(notice)


class Fleet:
    """The simulated Greengrass groups and their cores."""

    def __init__(self, simulator: GreengrassSimulator) -> None:
        self.simulator = simulator

    def add_group(
        self,
        *,
        core: str | CoreProfile = "online",
        deployed: bool = True,
        tags: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> str:
        """Create a group whose core behaves as `core` (online, offline, failing, flaky, slow)."""
        return self.simulator.add_group(name=name, core=core, deployed=deployed, tags=dict(tags or {}))

    def exists(self, group_id: str) -> bool:
        return self.simulator.group_exists(group_id)

    def fail_deployment(self, group_id: str) -> str:
        """Start a `NewDeployment` that the group's core fails (publishes the Failure event)."""
        return self.simulator.start_failing_deployment(group_id)

    @property
    def calls(self) -> Counter[str]:
        return self.simulator.calls


class LocalService:
    """gg-reset on this machine, with no AWS account: use it as a context manager.

    >>> with LocalService(seed=7) as svc:
    ...     gid = svc.fleet.add_group(core="offline", deployed=True)
    ...     _ = svc.request_deletion(gid)
    ...     _ = svc.run_until_idle()
    ...     svc.ledger.get(gid).state
    <WorkflowState.DELETED: 'DELETED'>
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        policy: WorkflowPolicy | None = None,
        faults: FaultProfile | None = None,
        batch_size: int = 10,
        sweep_interval_s: int = 60,
        log_level: str = "WARNING",
        greengrass_rps: float | None = None,
        contested: ContestedBehaviour | None = None,
        worker_concurrency: int = 1,
    ) -> None:
        """`greengrass_rps`: the service's own request budget (`gg-reset:greengrassRequestsPerSecond`);
        None leaves calls unpaced. `faults.requests_per_second` is the simulated API's quota. `contested`:
        the simulator's answers where AWS documents nothing (see `ContestedBehaviour`).

        `worker_concurrency`: worker invocations that may overlap in simulated time (the stack's
        `workerMaxConcurrency`, `WORKER_MAX_CONCURRENCY` by default there). 1, the default, is the local
        runtime as it always was: one invocation at a time, the sweeper between two, and that one invocation
        gets the whole budget. Above 1 they overlap as in AWS, the sweeper runs alongside them, and each
        invocation paces itself at an equal share of the budget as the stack computes it:
        `greengrass_rps / (worker_concurrency + 1)`, the sweeper counted (`GREENGRASS_CONCURRENT_CALLERS`).
        """
        self.contested = contested or ContestedBehaviour()
        self.seed = seed
        self.policy = policy or WorkflowPolicy()
        self.faults = faults or FaultProfile()
        self.batch_size = batch_size
        self.sweep_interval = timedelta(seconds=sweep_interval_s)
        self.log_level = log_level
        self.clock = SimulatedClock()
        self.stats = RunStats()
        self.greengrass_rps = greengrass_rps
        self._stack = ExitStack()
        self.work_queue = LocalWorkQueue(
            self.clock,
            visibility_timeout_s=VISIBILITY_TIMEOUT_S,
            max_receive_count=MAX_RECEIVE_COUNT,
            rng=random.Random(seed),
        )
        self._next_sweep: datetime | None = None
        self._requests_sent = 0
        self._unpumped = 0
        self._janitor_runs = 0
        if worker_concurrency < 1:
            raise ValueError(f"worker_concurrency must be at least 1, got {worker_concurrency}")
        self.worker_concurrency = worker_concurrency
        self._tasks: TaskScheduler | None = None
        """Runs the overlapping invocations (`worker_concurrency` above 1), made by the first run."""
        self._workers: list[_Environment] = []
        self._sweeper_environment: _Environment | None = None
        self._in_flight: dict[Task, _Environment] = {}
        self._sweeping = False
        """The sweeper is running as a task (overlapping runs only: otherwise it runs to its end at once)."""

    @property
    def dead_letters(self) -> list[str]:
        """Bodies of messages that failed `MAX_RECEIVE_COUNT` times (the work queue's DLQ)."""
        return self.work_queue.dead_letters

    # --- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            return self._start()
        except BaseException:
            self._stack.close()  # a failed start leaves no mock or environment patch behind
            raise

    def _start(self) -> Self:
        self._stack.enter_context(patch.dict(os.environ, _QUIET_ENV))
        package_logger = logging.getLogger(PACKAGE_LOGGER)
        self._stack.callback(logger.setLevel, logger.log_level)
        self._stack.callback(package_logger.setLevel, package_logger.level)
        logger.setLevel(self.log_level)
        package_logger.setLevel(self.log_level)
        self._stack.enter_context(mock_aws())
        session = boto3.Session(region_name=REGION)
        self.events = session.client("events")
        self.sqs: SQSClient = session.client("sqs")
        dynamodb = session.client("dynamodb")
        dynamodb.create_table(**create_table_kwargs(TABLE_NAME))
        self.bus_name = DEFAULT_BUS_NAME
        self.events.create_event_bus(Name=self.bus_name)
        self.queue_url = self.sqs.create_queue(
            QueueName=WORK_QUEUE, Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_S)}
        )["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for bus, rule, pattern in (
            (self.bus_name, "gg-reset-requests", REQUEST_PATTERN),
            ("default", "gg-reset-deployment-status", deployment_status_pattern(ACCOUNT, REGION)),
        ):
            self.events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
            self.events.put_targets(
                Rule=rule,
                EventBusName=bus,
                Targets=[{"Id": "work-queue", "Arn": queue_arn, "InputTransformer": _WHOLE_EVENT}],
            )

        self.iot = session.client("iot")
        # Real AWS IoT things and certificates (moto's) for the cores only when a teardown may delete them:
        # making a certificate costs moto a key pair, too slow for the thousand-group benchmarks otherwise.
        self.identities = MotoCoreIdentities(self.iot) if self.policy.things_teardown else None
        self.simulator = GreengrassSimulator(
            self.clock,
            self._publish,
            rng=random.Random(self.seed),
            faults=self.faults,
            account=ACCOUNT,
            region=REGION,
            contested=self.contested,
            identities=self.identities,
        )
        self.greengrass_v2 = GreengrassV2Simulator(self.clock, account=ACCOUNT, region=REGION)
        # AWS IoT fleet indexing (SearchIndex) answered from the cores' profiles; moto answers the rest.
        self.fleet_index = FleetIndexSimulator(self.clock, self.simulator, account=ACCOUNT, region=REGION)
        self.fleet_index.attach(self.iot)
        self.fleet = Fleet(self.simulator)
        self.ledger_adapter = SequentialWriteLedger(
            dynamodb, TABLE_NAME, retention=timedelta(seconds=self.policy.retention_s)
        )
        self.ledger = LedgerReader(self.ledger_adapter)
        # The teardown and the connectivity source as the stack wires them.
        self.service_teardown = wiring.service_teardown(
            self.simulator.client(),
            self.clock,
            self.policy,
            iot=lambda: self.iot,
            core_devices=self.greengrass_v2.client,
        )
        self.service = ResetService(
            ledger=self.ledger_adapter,
            greengrass=Boto3Greengrass(self.simulator.client()),
            notifier=_CollectingNotifier(self.stats),
            clock=self.clock,
            policy=self.policy,
            telemetry=PowertoolsTelemetry(metrics),
            budget=RequestBudget(self.greengrass_rps, self.clock) if self.greengrass_rps else None,
            timers=_LocalTimers(self.work_queue),
            teardown=self.service_teardown,
            connectivity=self.service_teardown if self.service_teardown.connectivity_source else None,
        )
        wiring.install(self.service)
        self._stack.callback(wiring.install, None)
        from gg_reset.handlers import sweeper, worker  # imported late: the environment is set above

        self._worker = worker.handler
        self._sweeper = sweeper.handler
        return self

    def migration_reader(self) -> TeardownOnFirstUse:
        """What the `migrated` selection and a teardown preview read, as the stack's janitor and `gg-reset
        plan` make it: the simulator for Greengrass V1 and V2, no AWS IoT."""
        return TeardownOnFirstUse.reads_only(self.simulator.client(), self.clock, self.greengrass_v2.client)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stack.close()

    # --- sending --------------------------------------------------------------------------------------

    def request_reset(self, group_id: str, **options: Any) -> str:
        """Put a reset request on the service bus; returns its request id."""
        return self._request(group_id, deletion=False, **options)

    def request_deletion(self, group_id: str, **options: Any) -> str:
        """Put a deletion request on the service bus; returns its request id."""
        return self._request(group_id, deletion=True, **options)

    def _request(
        self,
        group_id: str,
        *,
        deletion: bool,
        force: ForcePolicy | str = ForcePolicy.AUTO,
        dry_run: bool = False,
        reason: str = "",
        requested_by: str = "local",
        request_id: str | None = None,
        teardown: Teardown | str | None = None,
    ) -> str:
        self._requests_sent += 1
        request_id = request_id or f"local-{self.seed}-{self._requests_sent:06d}"
        entry = request_entry(
            group_id=group_id,
            deletion=deletion,
            bus_name=self.bus_name,
            requested_by=requested_by,
            reason=reason,
            force=ForcePolicy(force),
            dry_run=dry_run,
            request_id=request_id,
            teardown=Teardown(teardown) if teardown is not None else None,
        )
        self.put_event(entry)
        return request_id

    def put_event(self, entry: Mapping[str, Any]) -> None:
        """Put any raw EventBridge entry (a request, a forged status change, garbage)."""
        entry = dict(entry)
        entry.setdefault("Time", self.clock.now())
        response = self.events.put_events(Entries=[entry])  # type: ignore[list-item]
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the entry: {response['Entries']}")
        self._unpumped += 1
        if self._unpumped >= PUMP_EVERY:
            self._pump()

    def _pump(self, *, only_new: bool = False) -> None:
        """Move what EventBridge delivered to moto's SQS work queue onto the local work queue (see
        `gg_reset.local.work_queue`), so moto's queue never holds more than a few messages. `only_new`:
        only if `put_event` put something since the last move (during a run every event goes through it,
        so moto's queue is otherwise empty: this spares a receive per step of an overlapping run)."""
        if only_new and not self._unpumped:
            return
        self._unpumped = 0
        while True:
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not received:
                return
            for message in received:
                self.work_queue.send(message["Body"], message_id=message["MessageId"])
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
            )

    def _publish(self, entries: Sequence[Mapping[str, Any]]) -> None:
        for entry in entries:
            self.put_event(entry)

    # --- running --------------------------------------------------------------------------------------

    def run_until_idle(
        self,
        *,
        max_simulated_s: float = 7 * 86_400,
        on_progress: Callable[[RunStats], None] | None = None,
    ) -> RunStats:
        """Deliver messages, run the simulator and the sweeper, and jump the clock, until nothing is left
        to do: no message queued or held for redelivery, no active workflow, no scheduled status change.
        Raises `IdleTimeout` if that takes longer than `max_simulated_s` of simulated time.
        """
        if not self._run(self.clock.now() + timedelta(seconds=max_simulated_s), on_progress):
            raise IdleTimeout(
                f"still busy after {max_simulated_s}s of simulated time "
                f"({len(self.ledger.active_groups())} active workflows)"
            )
        return self.stats

    def run_for(self, seconds: float, *, on_progress: Callable[[RunStats], None] | None = None) -> bool:
        """Like `run_until_idle`, but stop quietly after `seconds` of simulated time; True if idle."""
        return self._run(self.clock.now() + timedelta(seconds=seconds), on_progress)

    def _run(self, until: datetime, on_progress: Callable[[RunStats], None] | None) -> bool:
        overlapping = self.worker_concurrency > 1
        deliver = self._step_invocations if overlapping else self._drain_queue
        if overlapping:
            self._pump()  # what reached moto's queue since the last run (the janitor's requests, say)
        while True:
            self._pump(only_new=overlapping)
            self.work_queue.release_due()
            if deliver(on_progress):
                continue
            self.simulator.run_due()
            self._pump(only_new=overlapping)
            if len(self.work_queue) and self._can_start_invocation():
                continue
            active = self._has_active_workflows()
            if not self._sweeping:
                if self._next_sweep is None and active:
                    self._next_sweep = self.clock.now() + self.sweep_interval
                elif not active:
                    # The sweeper only drives active workflows: with none left, waiting for its next run
                    # would only move the clock (and make a finished run look up to a sweep interval longer).
                    self._next_sweep = None
                if self._next_sweep is not None and self.clock.now() >= self._next_sweep:
                    self._sweep()
                    if not self._sweeping:
                        self._next_sweep = (
                            self.clock.now() + self.sweep_interval if self._has_active_workflows() else None
                        )
                    continue
            upcoming = [
                t for t in (self.simulator.next_due(), self._next_sweep, self._next_wake()) if t is not None
            ]
            next_message = self.work_queue.next_visible_at()
            # Timers of workflows that have all finished cannot start anything: a run with nothing else
            # left is idle even if some are still waiting (they fire, harmlessly, if the run goes on).
            if next_message is not None and (active or self.work_queue.redeliveries_waiting):
                upcoming.append(next_message)
            if not upcoming:
                if active:
                    raise IdleTimeout("active workflows remain but nothing is scheduled to drive them")
                return True
            next_time = min(upcoming)
            if next_time > until:
                self.clock.advance_to(until)
                return False
            self.clock.advance_to(next_time)

    def _has_active_workflows(self) -> bool:
        return self.ledger_adapter.active_count > 0

    def _drain_queue(self, on_progress: Callable[[RunStats], None] | None) -> bool:
        """One batch from the work queue to the worker handler; False when no message is visible."""
        received = self.work_queue.receive(self.batch_size)
        if not received:
            return False
        event = {"Records": [_lambda_sqs_record(m, self.queue_url) for m in received]}
        try:
            response = self._invoke(self._worker, event, "gg-reset-worker", WORKER_TIMEOUT_S)
        except InvocationCrashed:
            response = self._crashed(received)
        self._settle_batch(received, response, on_progress)
        return True

    def _crashed(self, received: Sequence[QueuedMessage]) -> dict[str, Any]:
        """A crashed worker invocation answers nothing: every message of its batch is delivered again."""
        self.stats.crashes += 1
        return {"batchItemFailures": [{"itemIdentifier": m.message_id} for m in received]}

    def _settle_batch(
        self,
        received: Sequence[QueuedMessage],
        response: Mapping[str, Any],
        on_progress: Callable[[RunStats], None] | None,
    ) -> None:
        """What the event source mapping does with a worker's answer: delete what succeeded, let what
        failed come back after the visibility timeout (or go to the dead-letter queue)."""
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        self.stats.worker_invocations += 1
        self.stats.messages += len(received)
        for message in received:
            self.work_queue.settle(message, failed=message.message_id in failed)
        self.stats.redeliveries = self.work_queue.redeliveries
        if on_progress is not None:
            on_progress(self.stats)

    def _sweep(self) -> None:
        self.stats.sweeps += 1
        event: dict[str, Any] = {"source": "aws.events", "detail-type": "Scheduled Event"}
        if self.worker_concurrency > 1:
            # Alongside the worker invocations, as the scheduled sweeper runs in AWS; the next sweep is
            # planned when this one ends (`_end_invocation`).
            assert self._sweeper_environment is not None  # made with the scheduler, before any invocation
            self._start_invocation(self._sweeper_environment, self._sweeper, event, "gg-reset-sweeper")
            self._sweeping = True
            self._next_sweep = None
            return
        try:
            self._invoke(self._sweeper, event, "gg-reset-sweeper", SWEEPER_TIMEOUT_S)
        except InvocationCrashed:
            self.stats.crashes += 1

    # --- overlapping invocations (worker_concurrency > 1) ---------------------------------------------

    def _scheduler(self) -> TaskScheduler:
        """The scheduler of the overlapping invocations, with one execution environment per worker
        invocation that may run at once and one for the sweeper, made on first use from the service as it
        is then (as a Lambda execution environment builds its wiring once)."""
        if self._tasks is None:
            self._tasks = TaskScheduler(self.clock)
            self._stack.callback(self._tasks.close)  # cancels invocations still under way at the end
            self._workers = [
                self._environment(f"worker-{n + 1}", self._tasks) for n in range(self.worker_concurrency)
            ]
            self._sweeper_environment = self._environment("sweeper", self._tasks)
        return self._tasks

    def _environment(self, name: str, tasks: TaskScheduler) -> _Environment:
        """An execution environment as the stack's wiring builds one: the service's adapters, and a request
        budget of its own at an equal share, `greengrass_rps / GREENGRASS_CONCURRENT_CALLERS` (every worker
        invocation that may run at once, and the sweeper). Its Greengrass calls are requests in flight."""
        from gg_reset.handlers import worker  # imported late, like the handlers

        service = copy.copy(self.service)
        callers = self.worker_concurrency + 1
        service.budget = (
            RequestBudget(self.greengrass_rps / callers, self.clock) if self.greengrass_rps else None
        )
        service.greengrass = cast(
            "GreengrassPort", _InFlightGreengrass(self.service.greengrass, tasks, self._request_latency)
        )
        template = worker.processor
        processor = type(template)(
            event_type=template.event_type,
            model=template.model,
            raise_on_entire_batch_failure=template.raise_on_entire_batch_failure,
        )
        return _Environment(name, service, home=self.service, processor=processor, worker_module=worker)

    def _request_latency(self) -> float:
        return self.simulator.faults.latency_s

    def _next_wake(self) -> datetime | None:
        return self._tasks.next_wake() if self._tasks is not None else None

    def _can_start_invocation(self) -> bool:
        return self.worker_concurrency == 1 or self._idle_worker() is not None

    def _idle_worker(self) -> _Environment | None:
        self._scheduler()
        return next((env for env in self._workers if env.task is None), None)

    def _step_invocations(self, on_progress: Callable[[RunStats], None] | None) -> bool:
        """Resume the invocations due now (each until it waits again or ends), settle the ended ones, and
        start one in every idle worker environment while messages are visible, as the SQS event source
        does up to its maximum concurrency; False when none of that happened."""
        ended = self._scheduler().run_due()
        for task in ended:
            self._end_invocation(task, on_progress)
        started = False
        while len(self.work_queue) and (env := self._idle_worker()) is not None:
            env.messages = self.work_queue.receive(self.batch_size)
            event = {"Records": [_lambda_sqs_record(m, self.queue_url) for m in env.messages]}
            self._start_invocation(env, self._worker, event, "gg-reset-worker")
            started = True
        return started or bool(ended)

    def _start_invocation(
        self,
        env: _Environment,
        handler: Callable[[Any, Any], Any],
        event: dict[str, Any],
        function_name: str,
    ) -> None:
        timeout_s = SWEEPER_TIMEOUT_S if env is self._sweeper_environment else WORKER_TIMEOUT_S
        context = LambdaContext(function_name, self.clock, timeout_s, self.clock.now())
        env.output = io.StringIO()
        env.task = self._scheduler().spawn(
            f"{function_name} in {env.name}",
            functools.partial(handler, event, context),
            enter=env.enter,
            leave=env.leave,
        )
        self._in_flight[env.task] = env

    def _end_invocation(self, task: Task, on_progress: Callable[[RunStats], None] | None) -> None:
        env = self._in_flight.pop(task)
        env.task = None
        self._read_output(env.output.getvalue())
        crashed = isinstance(task.error, InvocationCrashed)
        if crashed:
            # The batch comes back after its visibility timeout; a crashed sweep simply ended.
            task.error = None
            task.result = self._crashed(env.messages) if env is not self._sweeper_environment else None
            if env is self._sweeper_environment:
                self.stats.crashes += 1
        if task.error is not None:
            raise task.error  # as `_invoke` lets a handler's exception through
        if env is self._sweeper_environment:
            self._sweeping = False
            active = self._has_active_workflows()
            self._next_sweep = self.clock.now() + self.sweep_interval if active else None
            return
        self._settle_batch(env.messages, cast("Mapping[str, Any]", task.result), on_progress)
        env.messages = []

    # --- the janitor ----------------------------------------------------------------------------------

    def run_janitor(
        self,
        *,
        selection: Selection | str | Sequence[str] | Mapping[str, Any] | None = None,
        dry_run: bool = True,
        action: JanitorAction | str = JanitorAction.DELETE,
        teardown: Teardown | str | None = None,
        max_groups: int = JANITOR_DEFAULT_MAX_GROUPS,
        max_percent: float = JANITOR_DEFAULT_MAX_PERCENT,
        run_id: str | None = None,
    ) -> JanitorRun:
        """One scheduled run of the real janitor handler, configured as the stack would (the JANITOR_*
        environment variables), with its adapters on this service: the simulator for Greengrass, moto's
        EventBridge service bus for its requests (so they go through the same rule and queue as any
        request) and the local ledger table for its run record. `selection`: a `Selection`, its terms
        (`"expired name=lab-*"`) or its JSON object; None: the default (the expiry tag). Returns the run;
        `run_until_idle()` then carries out the requests it sent. `run_id`: the scheduled event's id (the
        same id again is a retried invocation of the same run)."""
        from gg_reset.handlers import janitor as janitor_handler  # imported late, like the others

        if selection is None:
            chosen = None
        elif isinstance(selection, Selection):
            chosen = selection
        elif isinstance(selection, Mapping):
            chosen = Selection.from_json(selection)
        else:
            chosen = Selection.parse(selection)
        self._janitor_runs += 1
        janitor = Janitor(
            greengrass=Boto3Greengrass(self.simulator.client()),
            requests=EventBridgeRequests(self.events, sleep=self.clock.sleep),
            ledger=DynamoDBJanitorLedger(
                self.ledger_adapter.client, TABLE_NAME, retention=timedelta(seconds=self.policy.retention_s)
            ),
            notifier=_CollectingNotifier(self.stats),
            clock=self.clock,
            safety=self.policy.safety,
            bus_name=self.bus_name,
            read_budget=RequestBudget(self.greengrass_rps, self.clock) if self.greengrass_rps else None,
            send_rps=self.greengrass_rps / JANITOR_CALLS_PER_REQUEST if self.greengrass_rps else None,
            migration=self.migration_reader(),
        )
        environment = {
            ENV_JANITOR_ACTION: JanitorAction(action).value,
            ENV_JANITOR_DRY_RUN: "true" if dry_run else "false",
            ENV_JANITOR_MAX_GROUPS: str(max_groups),
            ENV_JANITOR_MAX_PERCENT: str(max_percent),
            ENV_JANITOR_SELECTION: json.dumps(chosen.to_json()) if chosen is not None else "",
            ENV_JANITOR_TEARDOWN: Teardown(teardown).value if teardown is not None else "",
        }
        event = {
            "version": "0",
            "id": run_id or f"local-{self.seed}-janitor-{self._janitor_runs:04d}",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/gg-reset-janitor"],
            "detail": {},
        }
        janitor_wiring.install_janitor(janitor)
        try:
            with patch.dict(os.environ, environment):
                self._invoke(janitor_handler.handler, event, "gg-reset-janitor", JANITOR_TIMEOUT_S)
        finally:
            janitor_wiring.install_janitor(None)
        assert janitor.last_run is not None  # the handler runs the janitor or raises
        return janitor.last_run

    def _invoke(
        self, handler: Callable[[Any, Any], Any], event: dict[str, Any], function_name: str, timeout_s: int
    ) -> Any:
        """Call a Lambda handler as Lambda would, and read its stdout as CloudWatch would: EMF documents
        become metrics, the rest (log lines at or above `log_level`) is passed through."""
        captured = io.StringIO()
        context = LambdaContext(function_name, self.clock, timeout_s, self.clock.now())
        with contextlib.redirect_stdout(captured):
            response = handler(event, context)
        self._read_output(captured.getvalue())
        return response

    def _read_output(self, output: str) -> None:
        """A handler's stdout as CloudWatch reads it: EMF documents become metrics, the rest is printed."""
        for line in output.splitlines():
            if line.startswith('{"_aws"'):
                self._collect_metrics(json.loads(line))
            elif line.strip():
                print(line, file=sys.stdout)

    def _collect_metrics(self, document: dict[str, Any]) -> None:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = document.get(metric["Name"], [])
                total = sum(values) if isinstance(values, list) else values
                self.stats.metrics[metric["Name"]] += total


_METRIC_SETS = ("metric_set", "dimension_set", "metadata_set")
"""Where Powertools' `Metrics` keeps what it has not flushed yet (process-wide, shared by every instance)."""


class _Environment:
    """One Lambda execution environment of an overlapping run: what a sandbox, a process of its own, keeps
    to itself across its invocations. The handlers find it in process-wide places (the service `wiring`
    holds, the worker module's batch processor, stdout, Powertools' unflushed metrics and log keys), so it
    is swapped in there while one of its invocations runs (`enter`) and back out when that invocation waits
    or ends (`leave`). Only one thread runs at a time (see `TaskScheduler`), so swapping is enough."""

    def __init__(
        self, name: str, service: ResetService, *, home: ResetService, processor: Any, worker_module: Any
    ) -> None:
        self.name = name
        self.service = service
        """The service as this environment's wiring built it (its own request budget)."""
        self.task: Task | None = None
        """The invocation running in it (None: idle)."""
        self.messages: list[QueuedMessage] = []
        """The batch the running worker invocation received."""
        self.output = io.StringIO()
        """The running invocation's stdout."""
        self._home = home
        self._processor = processor
        self._worker_module = worker_module
        self._metrics: list[dict[str, Any]] = [{} for _ in _METRIC_SETS]
        self._log_keys = dict(logger.get_current_keys())
        self._outside: tuple[Any, Any, list[dict[str, Any]], dict[str, Any]] | None = None

    def enter(self) -> None:
        provider = metrics.provider
        outside_metrics = [
            _swap(getattr(provider, name), mine)
            for name, mine in zip(_METRIC_SETS, self._metrics, strict=True)
        ]
        outside_keys = _swap(logger.get_current_keys(), self._log_keys)
        self._outside = (sys.stdout, self._worker_module.processor, outside_metrics, outside_keys)
        sys.stdout = self.output
        self._worker_module.processor = self._processor
        wiring.install(self.service)

    def leave(self) -> None:
        assert self._outside is not None, "leave() without enter()"
        stdout, processor, outside_metrics, outside_keys = self._outside
        self._outside = None
        provider = metrics.provider
        self._metrics = [
            _swap(getattr(provider, name), theirs)
            for name, theirs in zip(_METRIC_SETS, outside_metrics, strict=True)
        ]
        self._log_keys = _swap(logger.get_current_keys(), outside_keys)
        sys.stdout = stdout
        self._worker_module.processor = processor
        wiring.install(self._home)


def _swap(live: dict[str, Any], content: Mapping[str, Any]) -> dict[str, Any]:
    """Put `content` into `live` in place (whoever holds `live` sees it); returns what was there."""
    previous = dict(live)
    live.clear()
    live.update(content)
    return previous


class _InFlightGreengrass:
    """The Greengrass port of an overlapping invocation: before each call, the invocation waits out the
    simulator's latency as a request in flight (`TaskScheduler.in_flight`), so the other invocations run
    meanwhile, and the simulator's own `advance` for that request adds nothing more. A port call making
    several requests (an adopted reset's listing, a roll back's search) waits so for its first one; the
    latency of the others passes as the invocation's own time, with nothing else running."""

    def __init__(self, port: GreengrassPort, tasks: TaskScheduler, latency: Callable[[], float]) -> None:
        self._port = port
        self._tasks = tasks
        self._latency = latency

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        attribute = getattr(self._port, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call_in_flight(*args: Any, **kwargs: Any) -> Any:
            self._tasks.in_flight(self._latency())
            try:
                return attribute(*args, **kwargs)
            finally:
                self._tasks.settle()

        return call_in_flight


def _lambda_sqs_record(message: QueuedMessage, queue_url: str) -> dict[str, Any]:
    """An SQS message as Lambda's event source mapping hands it to the function."""
    queue_name = queue_url.rsplit("/", 1)[-1]
    sent = int(message.sent_at.timestamp() * 1000)
    first = int((message.first_received_at or message.sent_at).timestamp() * 1000)
    return {
        "messageId": message.message_id,
        "receiptHandle": f"local-{message.message_id}-{message.receives}",
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.receives),
            "SentTimestamp": str(sent),
            "SenderId": ACCOUNT,
            "ApproximateFirstReceiveTimestamp": str(first),
            **message.attributes,
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(message.body.encode("utf-8", "surrogatepass")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}",
        "awsRegion": REGION,
    }
