"""`gg-reset`: run the service locally on a simulated fleet, send requests to a deployed stack, read the
ledger.

Not part of the Lambda asset: it needs the developer extras (typer, rich, and moto for `demo`).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gg_reset.contracts import ForcePolicy, request_entry
from gg_reset.settings import DEFAULT_BUS_NAME

app = typer.Typer(
    help="Reset and clean up AWS IoT Greengrass V1 groups. "
    "Start with `gg-reset demo` (no AWS account needed).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


class Action(StrEnum):
    reset = "reset"
    delete = "delete"


@app.command()
def demo(
    groups: Annotated[int, typer.Option(min=1, max=20_000, help="How many simulated groups.")] = 300,
    seed: Annotated[
        int, typer.Option(help="Seed for the fleet and every injected fault: same seed, same run.")
    ] = 7,
    mix: Annotated[
        str | None,
        typer.Option(
            help="Weights of group kinds, e.g. 'online=3,offline=1,protected=1'. Kinds: online, offline, "
            "failing, flaky, slow, protected, never-deployed, already-deleted, failed-deployment, "
            "force-never (an offline core and force=never: ends FAILED, with a notification)."
        ),
    ] = None,
    quota: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="Greengrass API quota in requests per simulated second (the simulator throttles above it).",
        ),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="gg-reset's own request budget (gg-reset:greengrassRequestsPerSecond), in requests per "
            "simulated second; defaults to --quota, as a deployment configured for its account would be.",
        ),
    ] = None,
    server_errors: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Fraction of Greengrass calls answered with a 500.")
    ] = 0.0,
    latency: Annotated[
        float, typer.Option(min=0.0, max=5.0, help="Simulated seconds each Greengrass call takes.")
    ] = 0.05,
    report: Annotated[
        Path | None, typer.Option(help="Write a JSON report: one entry per request + summary.")
    ] = None,
) -> None:
    """Run gg-reset locally against a simulated fleet and show what happened to every request."""
    from gg_reset.local.demo import parse_mix, run_demo  # moto is only needed here
    from gg_reset.local.faults import FaultProfile

    try:
        weights = parse_mix(mix)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mix") from exc
    faults = FaultProfile(requests_per_second=quota, server_error_rate=server_errors, latency_s=latency)
    console.print(f"[bold]gg-reset demo[/]: {groups} simulated groups, seed {seed}")
    with Progress(
        TextColumn("requests finished"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("demo", total=groups)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = run_demo(
            groups=groups,
            seed=seed,
            mix=weights,
            faults=faults,
            greengrass_rps=budget,
            on_progress=on_progress,
        )

    console.print()
    console.print(_outcome_table(result.entries))
    console.print()
    console.print(_summary_table(result.summary()))
    console.print()
    if report is not None:
        report.write_text(json.dumps(result.report(), indent=2))
        console.print(f"report written to {report}")
    if result.problems:
        err.print(f"[bold red]{len(result.problems)} unexpected outcome(s):[/]")
        for problem in result.problems[:20]:
            err.print(f"  - {problem}")
        raise typer.Exit(code=1)
    console.print("[green]every request ended in its expected terminal state[/]")


def _outcome_table(entries: list[dict[str, object]]) -> Table:
    states = ["RESET", "DELETED", "GONE", "REJECTED", "PLANNED", "FAILED"]
    table = Table(
        title="Outcomes by group kind",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    table.add_column("group kind", no_wrap=True)
    for state in states:
        table.add_column(state, justify="right", no_wrap=True)
    table.add_column("forced", justify="right", no_wrap=True)
    kinds = sorted({str(e["group_kind"]) for e in entries})
    for kind in kinds:
        rows = [e for e in entries if e["group_kind"] == kind]
        counts = [sum(1 for e in rows if e["state"] == s) for s in states]
        forced = sum(1 for e in rows if e["forced"])
        table.add_row(kind, *(str(c) if c else "." for c in counts), str(forced) if forced else ".")
    totals = [sum(1 for e in entries if e["state"] == s) for s in states]
    table.add_row(
        "[bold]total", *(f"[bold]{c}" for c in totals), f"[bold]{sum(1 for e in entries if e['forced'])}"
    )
    return table


def _summary_table(summary: dict[str, object]) -> Table:
    table = Table(title="Run", title_justify="left", show_header=False, box=None, pad_edge=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    calls = summary["api_calls"]
    assert isinstance(calls, dict)
    table.add_row("requests", str(summary["requests"]))
    table.add_row("force fallbacks", str(summary["force_fallbacks"]))
    table.add_row("Greengrass calls", ", ".join(f"{k} {v}" for k, v in calls.items()))
    table.add_row(
        "worker",
        f"{summary['worker_invocations']} invocations, {summary['messages']} messages, "
        f"{summary['redeliveries']} redeliveries",
    )
    table.add_row("sweeps", str(summary["sweeps"]))
    table.add_row("notifications", str(summary["notifications"]))
    simulated = timedelta(seconds=round(float(str(summary["simulated_seconds"]))))
    table.add_row("time", f"{simulated} simulated, {summary['wall_seconds']}s wall")
    return table


@app.command()
def request(
    action: Annotated[
        Action, typer.Argument(help="reset: reset deployments; delete: reset, then delete the group.")
    ],
    group_ids: Annotated[list[str], typer.Argument(help="One or more Greengrass group ids.")],
    bus: Annotated[
        str, typer.Option(help="The gg-reset event bus (stack output BusName).")
    ] = DEFAULT_BUS_NAME,
    force: Annotated[ForcePolicy, typer.Option(help="auto: Force only when the core is silent or fails.")] = (
        ForcePolicy.AUTO
    ),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only: record what would happen.")] = False,
    reason: Annotated[str, typer.Option(help="Why: kept in the ledger.")] = "",
    requested_by: Annotated[str, typer.Option(help="Who asks: kept in the ledger.")] = "gg-reset-cli",
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration).")] = None,
) -> None:
    """Send reset or deletion requests to a deployed gg-reset stack (uses your AWS credentials)."""
    import boto3

    events = boto3.Session(region_name=region).client("events")
    entries = [
        request_entry(
            group_id=gid,
            deletion=action is Action.delete,
            bus_name=bus,
            requested_by=requested_by,
            reason=reason,
            force=force,
            dry_run=dry_run,
        )
        for gid in group_ids
    ]
    failed = 0
    for start in range(0, len(entries), 10):  # PutEvents takes at most 10 entries
        response = events.put_events(Entries=entries[start : start + 10])  # type: ignore[arg-type]
        for gid, result in zip(group_ids[start : start + 10], response["Entries"], strict=True):
            if "ErrorCode" in result:
                failed += 1
                err.print(f"[red]{gid}: {result['ErrorCode']}: {result.get('ErrorMessage', '')}[/]")
            else:
                console.print(f"{gid}: sent (event id {result.get('EventId')})")
    if failed:
        raise typer.Exit(code=1)


@app.command()
def show(
    group_id: Annotated[str, typer.Argument(help="The Greengrass group id.")],
    table: Annotated[str, typer.Option(help="The ledger table (stack output LedgerTableName).")],
    region: Annotated[str | None, typer.Option(help="AWS region (default: your AWS configuration).")] = None,
) -> None:
    """Show a group's workflows and every step from the ledger of a deployed stack."""
    import boto3

    from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger

    ledger = DynamoDBLedger(
        boto3.Session(region_name=region).client("dynamodb"), table, retention=timedelta(days=1)
    )
    workflows = ledger.workflows(group_id)
    if not workflows:
        err.print(f"no workflow recorded for group {group_id} in {table}")
        raise typer.Exit(code=1)
    for wf in workflows:
        console.print(f"[bold]{wf.workflow_id}[/] {wf.kind} -> [bold]{wf.state}[/] {wf.reason}")
        for step in ledger.history(group_id, wf.workflow_id):
            console.print(f"  {step.seq:>3} {step.at:%Y-%m-%d %H:%M:%S} {step.kind:<22} {step.detail}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
