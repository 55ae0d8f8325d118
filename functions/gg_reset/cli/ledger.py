"""What the `gg-reset` CLI reads from the ledger, and the one shape it prints workflows in.

- Workflows in flight come from the sparse due index (`due-index`, one query per shard of
  `ledger_schema.due_buckets()`), then their HEAD items: cheap, whatever the size of the table.
- Finished workflows (`WF#<id>` items) come from a Scan with a filter: DynamoDB still reads (and bills)
  the whole table, steps included, so `list --state FAILED` and `report` cost one full read of the table.
- One group's history is a Query on its partition (`DynamoDBLedger.workflows` / `history`).

`ReportAction` is the fixed vocabulary of the `action` column: every output (list, show, report) maps a
workflow to it with `action_of`, and nowhere else.

The commands that read the ledger are here too: `list`, `show`, `report` and `janitor-runs`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from rich.text import Text

from gg_reset import ledger_schema as schema
from gg_reset.cli.errors import EXIT_USAGE, CliError
from gg_reset.cli.options import (
    CsvOption,
    JsonOption,
    ProfileOption,
    RegionOption,
    StackOption,
    TableOption,
    check_group_id,
    now,
    target,
)
from gg_reset.cli.output import Output, out, output_format, print_csv, print_json, table, when
from gg_reset.domain.model import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    GroupRecord,
    Step,
    Workflow,
    WorkflowState,
)
from gg_reset.shell.codec import record_from_plain, workflow_from_plain

if TYPE_CHECKING:
    from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
BATCH_GET_MAX: Final = 100


class ReportAction(StrEnum):
    """What gg-reset did (or is doing) to a group in one workflow: the `action` column, everywhere."""

    RESET = "reset"
    """The group's deployments were reset without Force."""
    FORCE_RESET = "force-reset"
    """The reset needed `Force=True`."""
    DELETE = "delete"
    """The group was reset and deleted (the `forced` column says whether Force was needed)."""
    REJECT = "reject"
    """Refused: invalid request, protected or denied group, busy group, account guard."""
    PLAN = "plan"
    """Dry run: the plan was recorded, nothing was written to Greengrass."""
    FAIL = "fail"
    """The workflow ended FAILED (see its reason)."""
    GONE = "gone"
    """The group did not exist (any more)."""
    ROLLBACK = "rollback"
    """A failed deployment was answered by redeploying the group's last good deployment
    (on-failure=rollback)."""
    NOTIFY = "notify"
    """A failed deployment was recorded and notified, with no Greengrass write (on-failure=notify, or the
    fallback of a roll back)."""
    IN_PROGRESS = "in-progress"
    """The workflow has not finished yet."""


_ACTION_BY_STATE: Final = {
    WorkflowState.DELETED: ReportAction.DELETE,
    WorkflowState.REJECTED: ReportAction.REJECT,
    WorkflowState.PLANNED: ReportAction.PLAN,
    WorkflowState.FAILED: ReportAction.FAIL,
    WorkflowState.GONE: ReportAction.GONE,
    WorkflowState.ROLLED_BACK: ReportAction.ROLLBACK,
    WorkflowState.NOTIFIED: ReportAction.NOTIFY,
}


def action_of(workflow: Workflow) -> ReportAction:
    if not workflow.state.terminal:
        return ReportAction.IN_PROGRESS
    if workflow.state is WorkflowState.RESET:
        return ReportAction.FORCE_RESET if workflow.forced else ReportAction.RESET
    return _ACTION_BY_STATE[workflow.state]


# --- the printed shape ---------------------------------------------------------------------------------

ROW_FIELDS: Final = (
    "group_id",
    "workflow_id",
    "action",
    "kind",
    "state",
    "forced",
    "dry_run",
    "reason",
    "request_ids",
    "requested_by",
    "started_at",
    "finished_at",
)
"""The columns of `list --csv` and `report` (CSV header order); JSON rows carry the same keys."""


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at is not None else None


def workflow_row(workflow: Workflow) -> dict[str, Any]:
    """A workflow as the CLI prints it (JSON-ready: strings, booleans, lists, None)."""
    request = workflow.request
    return {
        "group_id": workflow.group_id,
        "workflow_id": workflow.workflow_id,
        "action": action_of(workflow).value,
        "kind": workflow.kind.value,
        "state": workflow.state.value,
        "forced": workflow.forced,
        "dry_run": request.dry_run,
        "reason": workflow.reason,
        "request_ids": list(workflow.request_ids),
        "requested_by": request.requested_by,
        "started_at": _iso(workflow.started_at),
        "finished_at": _iso(workflow.finished_at) if workflow.state.terminal else None,
    }


def workflow_json(workflow: Workflow) -> dict[str, Any]:
    """A workflow's row and its plan (`show --json`, `request --wait --json`)."""
    return {**workflow_row(workflow), "plan": list(workflow.plan)}


def step_row(step: Step) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "at": _iso(step.at),
        "kind": step.kind.value,
        "state": step.state.value,
        "detail": step.detail,
    }


# --- time filters --------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str, now: datetime) -> datetime:
    """`WHEN` for --since: an ISO 8601 date or time (UTC unless it says otherwise), or an age such as
    `90m`, `24h`, `7d`, `2w` (counted back from now)."""
    match = _RELATIVE.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return now - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CliError(
            f"--since {text!r}",
            hint="expected an ISO 8601 date or time (2026-03-01, 2026-03-01T12:00:00Z) "
            "or an age such as 30m, 24h, 7d, 2w",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reference_time(workflow: Workflow) -> datetime:
    """The time --since compares: when a finished workflow ended, when an active one started."""
    if workflow.state.terminal:
        return workflow.finished_at or workflow.updated_at
    return workflow.started_at


# --- reads ---------------------------------------------------------------------------------------------


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


@dataclass(frozen=True, slots=True)
class GroupHistory:
    workflow: Workflow
    steps: tuple[Step, ...]


class LedgerQueries:
    """The CLI's reads of a deployed (or local) ledger table."""

    def __init__(self, ledger: DynamoDBLedger) -> None:
        self.ledger = ledger
        self.client = ledger.client
        self.table = ledger.table_name

    def check(self) -> None:
        """One cheap read: the table exists and may be read (raises the AWS error otherwise)."""
        self.ledger.load("_gg-reset-cli-check_")

    # --- in flight: the due index ---

    def active(self) -> list[Workflow]:
        """Every workflow in flight (every active workflow has a due time, so it is in the index)."""
        groups: list[str] = []
        for bucket in schema.due_buckets():
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": schema.DUE_INDEX_NAME,
                "KeyConditionExpression": "#b = :b",
                "ExpressionAttributeNames": {"#b": schema.DUE_INDEX_PARTITION_KEY},
                "ExpressionAttributeValues": {":b": _serializer.serialize(bucket)},
            }
            while True:
                page = self.client.query(**kwargs)
                groups.extend(
                    schema.group_id_of(str(_plain(item)[schema.PARTITION_KEY])) for item in page["Items"]
                )
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        workflows = [
            record.active for record in self._heads(dict.fromkeys(groups)) if record.active is not None
        ]
        return sorted(workflows, key=lambda wf: (wf.started_at, wf.group_id))

    def _heads(self, group_ids: Iterable[str]) -> Iterator[GroupRecord]:
        keys = [
            {
                schema.PARTITION_KEY: _serializer.serialize(schema.group_partition(gid)),
                schema.SORT_KEY: _serializer.serialize(schema.HEAD_SORT_KEY),
            }
            for gid in group_ids
        ]
        for start in range(0, len(keys), BATCH_GET_MAX):
            request: dict[str, Any] = {
                self.table: {"Keys": keys[start : start + BATCH_GET_MAX], "ConsistentRead": True}
            }
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for raw in response.get("Responses", {}).get(self.table, []):
                    item = _plain(raw)
                    if "record" in item:
                        yield record_from_plain(_json(item["record"]))
                request = response.get("UnprocessedKeys") or {}

    # --- finished: a filtered scan ---

    def finished(self, states: Sequence[WorkflowState] | None = None) -> list[Workflow]:
        """Finished workflows (optionally only in `states`), from a Scan of the whole table."""
        names = {"#wf": "workflow"}
        values: dict[str, Any] = {}
        expression = "attribute_exists(#wf)"
        wanted = [s for s in (states or ()) if s in TERMINAL_STATES]
        if states is not None and not wanted:
            return []
        if wanted:
            names["#st"] = "state"
            placeholders = []
            for i, state in enumerate(wanted):
                values[f":s{i}"] = _serializer.serialize(state.value)
                placeholders.append(f":s{i}")
            expression += f" AND #st IN ({', '.join(placeholders)})"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": expression,
            "ExpressionAttributeNames": names,
            "ProjectionExpression": "#wf",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        found: list[Workflow] = []
        while True:
            page = self.client.scan(**kwargs)
            found.extend(workflow_from_plain(_json(_plain(item)["workflow"])) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(found, key=lambda wf: (reference_time(wf), wf.group_id))

    # --- one group ---

    def group(self, group_id: str) -> list[GroupHistory]:
        return [
            GroupHistory(wf, tuple(self.ledger.history(group_id, wf.workflow_id)))
            for wf in sorted(self.ledger.workflows(group_id), key=lambda wf: (wf.started_at, wf.workflow_id))
        ]

    def find_request(self, group_id: str, request_id: str) -> Workflow | None:
        """The workflow answering `request_id` on the group (active or finished), if it got one yet."""
        record = self.ledger.load(group_id)
        for wf in (record.active, record.last):
            if wf is not None and request_id in wf.request_ids:
                return wf
        if record.version == 0:
            return None  # the group was never seen: no need to query its partition
        for wf in self.ledger.workflows(group_id):
            if request_id in wf.request_ids:
                return wf
        return None


def _json(raw: Any) -> Any:
    return json.loads(str(raw))


# --- list ------------------------------------------------------------------------------------------------


def _state(value: str) -> WorkflowState:
    try:
        return WorkflowState(value.upper())
    except ValueError:
        known = ", ".join(s.value for s in WorkflowState)
        raise CliError(
            f"--state {value!r}: not a workflow state", hint=f"give one of {known}", exit_code=EXIT_USAGE
        ) from None


def since_filter(since: str | None) -> Callable[[Workflow], bool]:
    if since is None:
        return lambda _: True
    cutoff = parse_since(since, now())
    return lambda wf: reference_time(wf) >= cutoff


def list_command(
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            metavar="STATE",
            help="Only workflows in this state (repeatable): an active one ("
            + ", ".join(s.value for s in WorkflowState if not s.terminal)
            + ") or a terminal one ("
            + ", ".join(s.value for s in WorkflowState if s.terminal)
            + ").",
        ),
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only FAILED workflows (= --state FAILED).")
    ] = False,
    finished: Annotated[bool, typer.Option("--finished", help="Every finished workflow.")] = False,
    every: Annotated[bool, typer.Option("--all", help="In flight and finished.")] = False,
    since: Annotated[
        str | None,
        typer.Option(
            metavar="WHEN",
            help="Only workflows that finished (in flight: started) at or after WHEN: an ISO 8601 date or "
            "time, or an age such as 30m, 24h, 7d.",
        ),
    ] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    stack: StackOption = None,
    table_name: TableOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """Workflows from the ledger: in flight (default), failed, by state, since a time.

    In-flight workflows are read from the ledger's due index (one query per shard, then their HEAD items:
    cheap at any size). Finished ones (--failed, --finished, --all, a terminal --state) are read with a
    filtered Scan, which reads, and is billed for, the whole table.
    """
    output = output_format(as_json, as_csv)
    states = {_state(s) for s in state or []}
    if failed:
        states.add(WorkflowState.FAILED)
    if every or finished:
        states |= TERMINAL_STATES
    if every or not states:
        states |= ACTIVE_STATES
    queries = LedgerQueries(target(profile, region, stack, table=table_name).ledger())
    keep = since_filter(since)
    workflows: list[Workflow] = []
    if states & ACTIVE_STATES:
        workflows += [wf for wf in queries.active() if wf.state in states]
    terminal = sorted(states & TERMINAL_STATES)
    if terminal:
        workflows += queries.finished(terminal)
    rows = [workflow_row(wf) for wf in workflows if keep(wf)]
    if output is Output.json:
        print_json({"workflows": rows})
        return
    if output is Output.csv:
        print_csv(rows, ROW_FIELDS)
        return
    console = out()
    if not rows:
        console.print("no workflow matches")
        return
    console.print(
        table(
            ["group", "workflow", "action", "kind", "state", "forced", "started", "finished", "reason"],
            (
                [
                    r["group_id"],
                    r["workflow_id"],
                    r["action"],
                    r["kind"] + (" (dry run)" if r["dry_run"] else ""),
                    r["state"],
                    "yes" if r["forced"] else "",
                    when(r["started_at"]),
                    when(r["finished_at"]),
                    r["reason"],
                ]
                for r in rows
            ),
        )
    )


# --- show ------------------------------------------------------------------------------------------------


def show(
    group_id: Annotated[str, typer.Argument(help="The Greengrass group id.", metavar="GROUP_ID")],
    as_json: JsonOption = False,
    stack: StackOption = None,
    table_name: TableOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """A group's history from the ledger: every workflow still retained, and its steps."""
    check_group_id(group_id)
    aws = target(profile, region, stack, table=table_name)
    history = LedgerQueries(aws.ledger()).group(group_id)
    if not history:
        raise CliError(f"no workflow recorded for group {group_id} in the ledger table {aws.table_name()}")
    if as_json:
        print_json(
            {
                "group_id": group_id,
                "workflows": [
                    {**workflow_json(h.workflow), "steps": [step_row(s) for s in h.steps]} for h in history
                ],
            }
        )
        return
    console = out()
    for entry in history:
        wf, row = entry.workflow, workflow_row(entry.workflow)
        kind = f"{row['kind']} request" + (" (dry run)" if row["dry_run"] else "")
        forced = ", forced" if row["forced"] else ""
        header = Text.assemble(
            (wf.workflow_id, "bold"), f"  {kind}  ", (wf.state.value, "bold"), f"  ({row['action']}{forced})"
        )
        console.print(header)
        finished = f", finished {when(row['finished_at'])}" if row["finished_at"] else ""
        console.print(
            f"  requests {', '.join(wf.request_ids)} by {row['requested_by']}; "
            f"started {when(row['started_at'])}{finished}",
            markup=False,
        )
        if wf.reason:
            console.print(f"  reason: {wf.reason}", markup=False)
        for step in entry.steps:
            console.print(
                f"  {step.seq:>4} {step.at:%Y-%m-%d %H:%M:%S} {step.state.value:<16} {step.kind.value:<21} "
                f"{step.detail}",
                markup=False,
            )


# --- report ----------------------------------------------------------------------------------------------

REPORT_FIELDS: Final = ROW_FIELDS


def report(
    since: Annotated[
        str,
        typer.Option(
            metavar="WHEN",
            help="Workflows that finished at or after WHEN (and every one still in flight): an ISO 8601 "
            "date or time, or an age such as 24h, 7d.",
        ),
    ],
    as_json: JsonOption = False,
    stack: StackOption = None,
    table_name: TableOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """A report of what gg-reset did since a time: one row per workflow, as CSV (default) or JSON.

    Columns: group_id, workflow_id, action, kind, state, forced, dry_run, reason, request_ids, requested_by,
    started_at, finished_at. The action is one of: reset, force-reset, delete, reject, plan, fail, gone,
    rollback, notify, in-progress.

    Reads the ledger with a filtered Scan (the whole table is read, and billed) plus the due index for the
    workflows in flight.
    """
    keep = since_filter(since)
    queries = LedgerQueries(target(profile, region, stack, table=table_name).ledger())
    workflows = [*queries.finished(), *queries.active()]
    rows = [workflow_row(wf) for wf in workflows if not wf.state.terminal or keep(wf)]
    if as_json:
        print_json({"actions": [a.value for a in ReportAction], "workflows": rows})
    else:
        print_csv(rows, REPORT_FIELDS)


# --- janitor runs ----------------------------------------------------------------------------------------

_JANITOR_RUN_HEAD: Final = ("run_id", "scheduled_at", "outcome", "action", "dry_run")
_JANITOR_RUN_COUNTS: Final = (
    "fleet",
    "act",
    "rejected",
    "not-selected",
    "error",
    "problems",
    "sent",
    "refused",
    "unsent",
)
"""The keys of a run's `counts` (`JanitorRun.counts`), as columns."""
JANITOR_RUN_FIELDS: Final = (*_JANITOR_RUN_HEAD, *_JANITOR_RUN_COUNTS, "message")


def janitor_runs(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many of the most recent runs.")] = 20,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    stack: StackOption = None,
    table_name: TableOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """The janitor's most recent runs, newest first: outcome, plan counts, requests sent.

    `--json` gives each run's whole record (its plan's first entries, problems, refused and unsent
    requests). Reads the ledger's JANITOR partition (one query).
    """
    from gg_reset.adapters.janitor_ledger import DynamoDBJanitorLedger

    output = output_format(as_json, as_csv)
    aws = target(profile, region, stack, table=table_name)
    ledger = DynamoDBJanitorLedger(aws.client("dynamodb"), aws.table_name(), retention=timedelta(days=1))
    runs = ledger.runs(limit)
    if output is Output.json:
        print_json({"runs": runs})
        return
    rows = [
        {
            **{key: run.get(key) for key in _JANITOR_RUN_HEAD},
            **{key: run.get("counts", {}).get(key, 0) for key in _JANITOR_RUN_COUNTS},
            "message": run.get("message", ""),
        }
        for run in runs
    ]
    if output is Output.csv:
        print_csv(rows, JANITOR_RUN_FIELDS)
        return
    console = out()
    if not rows:
        console.print(f"no janitor run recorded in the ledger table {aws.table_name()}")
        return
    console.print(
        table(
            ["run", "scheduled", "outcome", "act", "rejected", "sent", "message"],
            (
                [
                    str(r["run_id"]),
                    when(str(r["scheduled_at"])),
                    f"{r['outcome']}{' (dry run)' if r['dry_run'] else ''}",
                    str(r["act"]),
                    str(r["rejected"]),
                    str(r["sent"]),
                    str(r["message"]),
                ]
                for r in rows
            ),
        )
    )
