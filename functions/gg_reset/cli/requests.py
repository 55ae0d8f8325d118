"""`gg-reset request`: which groups, the PutEvents entries, and following the outcomes in the ledger."""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final, TextIO

import typer

from gg_reset.cli.errors import EXIT_ERROR, EXIT_OUTCOME, EXIT_TIMEOUT, EXIT_USAGE, CliError
from gg_reset.cli.ledger import LedgerQueries, workflow_json
from gg_reset.cli.options import (
    TEARDOWN_HELP,
    BusOption,
    JsonOption,
    ProfileOption,
    RegionOption,
    StackOption,
    TableOption,
    target,
)
from gg_reset.cli.output import err, out, print_json
from gg_reset.cli.plan import SafetyAllow, SafetyDeny, plan_view
from gg_reset.contracts import ForcePolicy, Teardown, request_entry
from gg_reset.domain.model import Workflow, WorkflowState
from gg_reset.text import plural

GROUP_ID: Final = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
"""The request contract's rule for a group id (`contracts.GroupRequestDetail.group_id`)."""
PUT_EVENTS_MAX: Final = 10
"""PutEvents takes at most 10 entries per call."""
BAD_OUTCOMES: Final = frozenset({WorkflowState.FAILED, WorkflowState.REJECTED})


def new_request_id() -> str:
    """A request id for one CLI invocation (shared by its groups: the ledger de-duplicates per group).
    Sending the same command again with `--request-id` of the first makes it a no-op."""
    return f"cli-{uuid.uuid4().hex[:16]}"


def id_lines(text: str, source: str) -> list[tuple[str, str]]:
    """(id, where) for each line of an id list: one id per line, `#` starts a comment, blanks skipped."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.split("#", 1)[0].strip()
        if value:
            found.append((value, f"{source} line {number}"))
    return found


def collect_group_ids(arguments: Sequence[str], files: Sequence[str], stdin: TextIO) -> list[str]:
    """Group ids from the arguments and from files (`-` is stdin), validated, duplicates dropped."""
    candidates: list[tuple[str, str]] = []
    read_stdin = False
    for index, value in enumerate(arguments, start=1):
        if value == "-":
            read_stdin = True
        else:
            candidates.append((value, f"argument {index}"))
    for name in files:
        if name == "-":
            read_stdin = True
            continue
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(
                f"cannot read group ids from {name}: {exc.strerror or exc}",
                hint="give a readable file (one group id per line), or - for stdin",
            ) from None
        candidates.extend(id_lines(text, name))
    if read_stdin:
        candidates.extend(id_lines(stdin.read(), "stdin"))
    for value, where in candidates:
        if not GROUP_ID.fullmatch(value):
            raise CliError(
                f"invalid group id {value!r} ({where})",
                hint="a Greengrass group id is 1-128 letters, digits, '_', '.', ':' or '-'; nothing was sent",
            )
    return list(dict.fromkeys(value for value, _ in candidates))


@dataclass(frozen=True, slots=True)
class Sent:
    group_id: str
    request_id: str
    event_id: str | None = None
    error: str | None = None


def put_requests(events: Any, group_ids: Sequence[str], entries: Sequence[Mapping[str, Any]]) -> list[Sent]:
    """Put the entries (one per group, in order), 10 per call; each group's result, sent or refused."""
    sent: list[Sent] = []
    for start in range(0, len(entries), PUT_EVENTS_MAX):
        chunk = list(entries[start : start + PUT_EVENTS_MAX])
        response = events.put_events(Entries=chunk)
        for group_id, entry, result in zip(
            group_ids[start : start + PUT_EVENTS_MAX], chunk, response["Entries"], strict=True
        ):
            request_id = _request_id_of(entry)
            if "ErrorCode" in result:
                error = f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}".strip()
                sent.append(Sent(group_id, request_id, error=error))
            else:
                sent.append(Sent(group_id, request_id, event_id=result.get("EventId")))
    return sent


def _request_id_of(entry: Mapping[str, Any]) -> str:
    return str(json.loads(entry["Detail"]).get("request-id", ""))


# --- waiting ------------------------------------------------------------------------------------------


def pause(seconds: float) -> None:
    """The wait between two polls (a seam for tests)."""
    time.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Outcome:
    group_id: str
    request_id: str
    workflow: Workflow | None
    """The workflow answering the request; None if the ledger has not seen it yet."""

    @property
    def finished(self) -> bool:
        return self.workflow is not None and self.workflow.state.terminal


def wait_for(
    queries: LedgerQueries,
    requests: Iterable[tuple[str, str]],
    *,
    timeout_s: float,
    interval_s: float,
    on_finished: Callable[[Outcome], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> list[Outcome]:
    """Poll the ledger for each (group id, request id) until every one is terminal or `timeout_s` has
    passed; the outcomes in the order given (unfinished ones carry their latest workflow, if any)."""
    order = list(requests)
    latest: dict[str, Outcome] = {gid: Outcome(gid, rid, None) for gid, rid in order}
    pending = dict(order)
    deadline = monotonic() + timeout_s
    while True:
        for group_id, request_id in list(pending.items()):
            outcome = Outcome(group_id, request_id, queries.find_request(group_id, request_id))
            latest[group_id] = outcome
            if outcome.finished:
                del pending[group_id]
                if on_finished is not None:
                    on_finished(outcome)
        remaining = deadline - monotonic()
        if not pending or remaining <= 0:
            return [latest[gid] for gid, _ in order]
        pause(min(interval_s, remaining))


# --- the command ------------------------------------------------------------------------------------------


class Action(StrEnum):
    reset = "reset"
    delete = "delete"


DRY_RUN_NOTE: Final = "(dry run: planned only, Greengrass is not changed)"


def request(
    action: Annotated[
        Action,
        typer.Argument(
            help="reset: reset deployments; delete: reset, then delete the group.", metavar="ACTION"
        ),
    ],
    group_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Greengrass group ids; `-` reads them from stdin (one per line, # comments).",
            metavar="GROUP_ID",
        ),
    ] = None,
    file: Annotated[
        list[str] | None,
        typer.Option(
            "--file",
            "-f",
            metavar="FILE",
            help="Read group ids from FILE (`-`: stdin): one per line, `#` starts a comment.",
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            metavar="TERM",
            help="Send requests for the groups this selection acts on (the terms of `gg-reset plan`; "
            "repeatable).",
        ),
    ] = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            help="Idempotency key for these requests (default: a new cli-... id, printed); sending again "
            "with the same id changes nothing."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only: the request ends PLANNED.")] = False,
    force: Annotated[
        ForcePolicy,
        typer.Option(help="auto: Force only when the core is silent or fails; never; immediately."),
    ] = ForcePolicy.AUTO,
    teardown: Annotated[
        Teardown | None, typer.Option(help=f"delete only. {TEARDOWN_HELP}", show_default=False)
    ] = None,
    reason: Annotated[str, typer.Option(help="Why: kept in the ledger.")] = "",
    requested_by: Annotated[str, typer.Option(help="Who asks: kept in the ledger.")] = "gg-reset-cli",
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Follow the requests in the ledger until each ends; print its state and reason. Exit 3 if "
            "any ends FAILED or REJECTED, 4 if --timeout passes first.",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(min=0, help="--wait: give up after this many seconds.")] = 1800,
    interval: Annotated[float, typer.Option(min=0.01, help="--wait: seconds between two ledger reads.")] = 10,
    allow: SafetyAllow = None,
    deny: SafetyDeny = None,
    as_json: JsonOption = False,
    stack: StackOption = None,
    bus: BusOption = None,
    table: TableOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """Send reset or deletion requests to the gg-reset bus (uses your AWS credentials)."""
    if teardown is not None and action is not Action.delete:
        raise CliError(
            f"--teardown applies to deletions only (the action is {action.value})",
            hint="a teardown comes with a deletion: gg-reset request delete GROUP_ID --teardown definitions",
            exit_code=EXIT_USAGE,
        )
    ids = collect_group_ids(group_ids or [], file or [], sys.stdin)
    aws = target(profile, region, stack, bus, table)
    if select:
        ids = list(
            dict.fromkeys(
                [
                    *ids,
                    # The selection only: the teardown itself is previewed by `gg-reset plan`.
                    *(
                        r.group_id
                        for r in plan_view(
                            aws, select, allow or [], deny or [], teardown=Teardown.GROUP
                        ).acting
                    ),
                ]
            )
        )
    if not ids:
        if select:
            if as_json:
                print_json({"action": action.value, "dry_run": dry_run, "requests": []})
            else:
                out().print("the selection acts on no group: nothing to send")
            return
        raise CliError(
            "no group ids",
            hint="pass them as arguments, with --file FILE (- for stdin) or --select",
            exit_code=EXIT_USAGE,
        )
    request_id = request_id or new_request_id()
    queries = LedgerQueries(aws.ledger()) if wait else None
    if queries is not None:
        queries.check()  # an unknown table fails now, before anything is sent
    bus_name = aws.bus_name()
    entries = [
        request_entry(
            group_id=gid,
            deletion=action is Action.delete,
            bus_name=bus_name,
            requested_by=requested_by,
            reason=reason,
            force=force,
            dry_run=dry_run,
            request_id=request_id,
            teardown=teardown,
        )
        for gid in ids
    ]
    sent = put_requests(aws.events(), ids, entries)
    refused = [s for s in sent if s.error]
    console, errors = out(), err()
    note = f" {DRY_RUN_NOTE}" if dry_run else ""
    for item in sent:
        if item.error:
            errors.print(f"{item.group_id}: not sent: {item.error}", markup=False)
        elif not as_json:
            console.print(
                f"sent {action.value} {item.group_id} request {item.request_id}{note}", markup=False
            )
    outcomes: dict[str, Outcome] = {}
    accepted = [(s.group_id, s.request_id) for s in sent if not s.error]
    if queries is not None and accepted:
        if not as_json:
            errors.print(
                f"waiting for {plural(len(accepted), 'request')} (timeout {timeout:g}s)...", markup=False
            )

        def finished(outcome: Outcome) -> None:
            if not as_json and outcome.workflow is not None:
                console.print(_outcome_line(outcome.workflow), markup=False)

        for outcome in wait_for(
            queries, accepted, timeout_s=timeout, interval_s=interval, on_finished=finished
        ):
            outcomes[outcome.group_id] = outcome
    not_accepted = (
        f"{len(refused)} of {plural(len(sent), 'request')} {'was' if len(refused) == 1 else 'were'} not "
        "accepted by the bus"
        if refused
        else None
    )
    if as_json:
        print_json(
            {
                "action": action.value,
                "dry_run": dry_run,
                "bus": bus_name,
                "request_id": request_id,
                "requests": [
                    {
                        "group_id": s.group_id,
                        "request_id": s.request_id,
                        "event_id": s.event_id,
                        "error": s.error,
                        **(
                            {"outcome": _outcome_json(outcomes[s.group_id].workflow)}
                            if s.group_id in outcomes
                            else {}
                        ),
                    }
                    for s in sent
                ],
                **({"error": not_accepted} if not_accepted else {}),
            }
        )
    unfinished = [o for o in outcomes.values() if not o.finished]
    bad = [o for o in outcomes.values() if o.workflow is not None and o.workflow.state in BAD_OUTCOMES]
    if unfinished and not as_json:
        for outcome in unfinished:
            where = f"still {outcome.workflow.state.value}" if outcome.workflow else "not in the ledger yet"
            errors.print(f"{outcome.group_id}: {where} after {timeout:g}s", markup=False)
    if not_accepted:
        if as_json:
            raise typer.Exit(code=EXIT_ERROR)  # the document above says so: one JSON object on stdout
        raise CliError(not_accepted)
    if bad:
        raise typer.Exit(code=EXIT_OUTCOME)
    if unfinished:
        raise typer.Exit(code=EXIT_TIMEOUT)


def _outcome_line(workflow: Workflow) -> str:
    forced = " (forced)" if workflow.forced else ""
    return f"{workflow.group_id}  {workflow.state.value}{forced}  {workflow.reason}"


def _outcome_json(workflow: Workflow | None) -> dict[str, Any] | None:
    return workflow_json(workflow) if workflow is not None else None
