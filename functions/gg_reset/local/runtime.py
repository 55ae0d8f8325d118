"""The whole service, running locally: moto for EventBridge, SQS and DynamoDB, the Greengrass simulator
for Greengrass, and the real worker and sweeper handlers in between.

The rules and patterns are the stack's (`gg_reset.contracts`), the table is the stack's
(`gg_reset.ledger_schema`), the handlers are the Lambda handlers. What differs from AWS is the clock: a
`SimulatedClock` that `run_until_idle` jumps from one interesting instant to the next (a status change,
a due retry, the sweeper's schedule), so ten simulated minutes of a silent core pass in milliseconds.
"""

from __future__ import annotations

import contextlib
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
from typing import TYPE_CHECKING, Any, Self
from unittest.mock import patch

import boto3
from moto import mock_aws

from gg_reset import wiring
from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger
from gg_reset.adapters.greengrass import Boto3Greengrass
from gg_reset.adapters.telemetry import FORCE_FALLBACKS, PowertoolsTelemetry, outcome_metric
from gg_reset.contracts import REQUEST_PATTERN, ForcePolicy, deployment_status_pattern, request_entry
from gg_reset.domain.actions import Notify
from gg_reset.domain.model import GroupRecord, Step, Workflow, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.ledger_schema import create_table_kwargs
from gg_reset.local.clock import SimulatedClock
from gg_reset.local.cores import CoreProfile
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import GreengrassSimulator
from gg_reset.observability import PACKAGE_LOGGER, logger, metrics
from gg_reset.service import ResetService
from gg_reset.settings import DEFAULT_BUS_NAME

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLE_NAME = "gg-reset-ledger"
WORK_QUEUE = "gg-reset-work"
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
MAX_RECEIVE_COUNT = 5
"""Deliveries before a failing message moves to the dead-letter queue: the stack's default."""
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
    """The ledger adapter with one difference, for moto only: the decision's items are written one by
    one, HEAD first (carrying the same version condition), instead of in one TransactWriteItems.

    moto deep-copies every table on each TransactWriteItems to be able to roll back, which makes a
    write cost O(items in the table) and a 300-group demo take minutes. The local runtime is single-
    threaded, so no other writer can observe the difference; the transactional write itself is tested
    against DynamoDB Local (tests/integration/ledger).
    """

    def _write(self, writes: list[Any]) -> None:
        for write in writes:
            put = write["Put"]
            kwargs = {k: v for k, v in put.items() if k != "ConditionExpression" or v}
            self.client.put_item(**kwargs)


class IdleTimeout(RuntimeError):
    """`run_until_idle` hit its simulated-time or iteration budget with work still pending."""


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The part of the Lambda context object the Powertools decorators read."""

    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class RunStats:
    """What happened in the local run: the counts the demo prints."""

    worker_invocations: int = 0
    messages: int = 0
    redeliveries: int = 0
    sweeps: int = 0
    metrics: Counter[str] = field(default_factory=Counter)
    """Sums of the CloudWatch metrics the handlers emitted (read back from their EMF output)."""
    notifications: list[Notify] = field(default_factory=list)

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

    def __init__(self, ledger: DynamoDBLedger) -> None:
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
        for view in self.workflows(group_id):
            if request_id in view.request_ids:
                return view
        return None

    def active_groups(self) -> Sequence[str]:
        """Groups with a workflow still under way."""
        return self._ledger.due_groups(_END_OF_TIME, limit=1_000_000)


class _CollectingNotifier:
    def __init__(self, stats: RunStats) -> None:
        self._stats = stats

    def notify(self, notice: Notify) -> None:
        self._stats.notifications.append(notice)


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
    ) -> None:
        self.seed = seed
        self.policy = policy or WorkflowPolicy()
        self.faults = faults or FaultProfile()
        self.batch_size = batch_size
        self.sweep_interval = timedelta(seconds=sweep_interval_s)
        self.log_level = log_level
        self.clock = SimulatedClock()
        self.stats = RunStats()
        self._stack = ExitStack()
        self._held: list[tuple[datetime, str]] = []  # (redeliver at, receipt handle)
        self.dead_letters: list[str] = []
        """Bodies of messages that failed `MAX_RECEIVE_COUNT` times (the work queue's DLQ)."""
        self._next_sweep: datetime | None = None
        self._requests_sent = 0
        self._active_cache: bool | None = None

    # --- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
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
            ("default", "gg-reset-deployment-status", deployment_status_pattern(ACCOUNT)),
        ):
            self.events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))
            self.events.put_targets(
                Rule=rule,
                EventBusName=bus,
                Targets=[{"Id": "work-queue", "Arn": queue_arn, "InputTransformer": _WHOLE_EVENT}],
            )

        self.simulator = GreengrassSimulator(
            self.clock,
            self._publish,
            rng=random.Random(self.seed),
            faults=self.faults,
            account=ACCOUNT,
            region=REGION,
        )
        self.fleet = Fleet(self.simulator)
        self.ledger_adapter = SequentialWriteLedger(
            dynamodb, TABLE_NAME, retention=timedelta(seconds=self.policy.retention_s)
        )
        self.ledger = LedgerReader(self.ledger_adapter)
        self.service = ResetService(
            ledger=self.ledger_adapter,
            greengrass=Boto3Greengrass(self.simulator.client()),
            notifier=_CollectingNotifier(self.stats),
            clock=self.clock,
            policy=self.policy,
            telemetry=PowertoolsTelemetry(metrics),
        )
        wiring.install(self.service)
        self._stack.callback(wiring.install, None)
        from gg_reset.handlers import sweeper, worker  # imported late: the environment is set above

        self._worker = worker.handler
        self._sweeper = sweeper.handler
        return self

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
        while True:
            self._release_held()
            if self._drain_queue(on_progress):
                continue
            self.simulator.run_due()
            if self._queue_has_messages():
                continue
            active = self._has_active_workflows()
            if self._next_sweep is None and active:
                self._next_sweep = self.clock.now() + self.sweep_interval
            if self._next_sweep is not None and self.clock.now() >= self._next_sweep:
                self._sweep()
                self._next_sweep = (
                    self.clock.now() + self.sweep_interval if self._has_active_workflows() else None
                )
                continue
            upcoming = [t for t in (self.simulator.next_due(), self._next_sweep) if t is not None]
            upcoming += [t for t, _ in self._held]
            if not upcoming:
                if active:
                    raise IdleTimeout("active workflows remain but nothing is scheduled to drive them")
                return True
            next_time = min(upcoming)
            if next_time > until:
                self.clock.advance_to(until)
                return False
            self.clock.advance_to(next_time)

    def _queue_has_messages(self) -> bool:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", "0")) > 0

    def _has_active_workflows(self) -> bool:
        # Only a handler invocation can change the ledger; moto answers this index query by sorting the
        # whole table, so ask again only after one ran.
        if self._active_cache is None:
            self._active_cache = bool(self.ledger_adapter.due_groups(_END_OF_TIME, limit=1))
        return self._active_cache

    def _drain_queue(self, on_progress: Callable[[RunStats], None] | None) -> bool:
        """One batch from the queue to the worker handler; False when the queue is empty."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return False
        event = {"Records": [_lambda_sqs_record(m, self.queue_url) for m in received]}
        response = self._invoke(self._worker, event, "gg-reset-worker")
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        self.stats.worker_invocations += 1
        self.stats.messages += len(received)
        for message in received:
            receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            if message["MessageId"] in failed and receives >= MAX_RECEIVE_COUNT:
                # The stack's redrive policy: the message moves to the work queue's DLQ.
                self.dead_letters.append(message["Body"])
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            elif message["MessageId"] in failed:
                # SQS would make it visible again after the visibility timeout: hold it for that long.
                self._held.append(
                    (self.clock.now() + timedelta(seconds=VISIBILITY_TIMEOUT_S), message["ReceiptHandle"])
                )
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=36_000
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        if on_progress is not None:
            on_progress(self.stats)
        return True

    def _release_held(self) -> None:
        now = self.clock.now()
        due = [h for h in self._held if h[0] <= now]
        self._held = [h for h in self._held if h[0] > now]
        for _, receipt in due:
            self.stats.redeliveries += 1
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
            )

    def _sweep(self) -> None:
        self.stats.sweeps += 1
        self._invoke(
            self._sweeper, {"source": "aws.events", "detail-type": "Scheduled Event"}, "gg-reset-sweeper"
        )

    def _invoke(self, handler: Callable[[Any, Any], Any], event: dict[str, Any], function_name: str) -> Any:
        """Call a Lambda handler as Lambda would, and read its stdout as CloudWatch would: EMF documents
        become metrics, the rest (log lines at or above `log_level`) is passed through."""
        self._active_cache = None
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            response = handler(event, LambdaContext(function_name))
        for line in captured.getvalue().splitlines():
            if line.startswith('{"_aws"'):
                self._collect_metrics(json.loads(line))
            elif line.strip():
                print(line, file=sys.stdout)
        return response

    def _collect_metrics(self, document: dict[str, Any]) -> None:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = document.get(metric["Name"], [])
                total = sum(values) if isinstance(values, list) else values
                self.stats.metrics[metric["Name"]] += total


def _lambda_sqs_record(message: Mapping[str, Any], queue_url: str) -> dict[str, Any]:
    """An SQS message as Lambda's event source mapping hands it to the function."""
    queue_name = queue_url.rsplit("/", 1)[-1]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": dict(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}",
        "awsRegion": REGION,
    }
