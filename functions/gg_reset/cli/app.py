"""`gg-reset`: the operator CLI, against a deployed stack or the local runtime.

- `demo`: the whole service locally on a simulated fleet (needs `gg-reset[local]`).
- `plan`: what a selection of groups would get, per group, with reasons (reads Greengrass only).
- `request reset|delete`: send requests (ids, a file or stdin, or a selection), optionally `--wait`.
- `list`, `show`, `report`, `janitor-runs`: read the ledger.

Errors are one line on stderr and a non-zero exit (`CliGroup.main`); with `--json`/`--csv`, or when
stdout is not a terminal, the output is plain and unwrapped. Not part of the Lambda asset.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any, Final

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from gg_reset.cli.aws import AwsOptions, AwsTarget, current
from gg_reset.cli.errors import (
    EXIT_ERROR,
    EXIT_OUTCOME,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    CliError,
    Resources,
    explain,
)
from gg_reset.cli.ledger import (
    ROW_FIELDS,
    LedgerQueries,
    ReportAction,
    parse_since,
    reference_time,
    step_row,
    workflow_row,
)
from gg_reset.cli.plan import PlanView, parse_selection, plan
from gg_reset.contracts import ForcePolicy, request_entry
from gg_reset.domain.errors import GreengrassError
from gg_reset.domain.model import ACTIVE_STATES, TERMINAL_STATES, Workflow, WorkflowState
from gg_reset.domain.safety import SafetyRules

PROG: Final = "gg-reset"
LOCAL_EXTRA_HINT: Final = "pip install 'gg-reset[local]'"


# --- one line per error, never a traceback -------------------------------------------------------------


def _click_exception_type() -> type[Exception]:
    """Click's ClickException (typer vendors click in recent releases; find it without importing it)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "ClickException" and issubclass(cls, Exception):
            return cls
    raise RuntimeError("typer without click's ClickException")  # pragma: no cover


_CLICK_EXCEPTION = _click_exception_type()


def error_line(message: str) -> None:
    """The one line an error gets, on stderr."""
    text = " ".join(message.split())
    sys.stderr.write(f"{PROG}: error: {text}\n")
    sys.stderr.flush()


def _usage_line(error: Exception) -> str:
    message = str(error.format_message()) if hasattr(error, "format_message") else str(error)
    ctx = getattr(error, "ctx", None)
    subcommands = ctx.command_path.split()[1:] if ctx is not None else []
    return f"{message} (see `{' '.join([PROG, *subcommands])} --help`)"


class CliGroup(TyperGroup):
    """Runs a command and turns whatever goes wrong into one line and an exit code."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        current.set(None)
        try:
            result = super().main(
                args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
            code = result if isinstance(result, int) else 0
        except CliError as error:
            error_line(error.message)
            code = error.exit_code
        except typer.Abort:
            error_line("aborted")
            code = EXIT_ERROR
        except BrokenPipeError:
            # `gg-reset list --csv | head`: the reader has gone. Say nothing more, and point stdout at
            # devnull so that flushing it at exit does not fail again (as the Python docs advise).
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = EXIT_ERROR
        except Exception as error:
            code = _handle(error)
        if standalone_mode:
            sys.exit(code)
        return code


def _handle(error: Exception) -> int:
    if isinstance(error, _CLICK_EXCEPTION):
        if type(error).__name__ == "NoArgsIsHelpError":
            sys.stderr.write(str(error.format_message()) + "\n")  # type: ignore[attr-defined]
            return EXIT_USAGE
        error_line(_usage_line(error))
        return int(getattr(error, "exit_code", EXIT_USAGE))
    target = current.get()
    message = explain(error, target.resources() if target is not None else Resources())
    if message is None:
        raise error
    error_line(message)
    return EXIT_ERROR


app = typer.Typer(
    cls=CliGroup,
    help="Reset and clean up AWS IoT Greengrass V1 groups with a deployed gg-reset stack, or locally. "
    "Start with `gg-reset demo` (no AWS account needed).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# --- output: readable on a terminal, plain when piped -----------------------------------------------------


def _console(stream: IO[str]) -> Console:
    """A terminal gets rich's layout; anything else (a pipe, a file) gets lines that are never wrapped, even
    if COLUMNS is set (pytest-xdist and some shells export it)."""
    tty = stream.isatty()
    return Console(file=stream, soft_wrap=not tty, width=None if tty else 10_000, highlight=False)


def out() -> Console:
    return _console(sys.stdout)


def err() -> Console:
    return _console(sys.stderr)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def print_csv(rows: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=list(fields), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k)) for k in fields})


def _csv_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _styled_table(title: str | None, *, padding: int | tuple[int, int] = (0, 1)) -> Table:
    """Every table the CLI prints looks alike: a title on the left, a rule under the header, no frame."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=padding,
        collapse_padding=True,
    )


def _table(columns: Sequence[str], rows: Iterable[Sequence[str]], title: str | None = None) -> Table:
    table = _styled_table(title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text: a reason's [brackets] are not markup
    return table


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").removesuffix("Z") if iso else ""


class Output(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _output(as_json: bool, as_csv: bool, default: Output = Output.table) -> Output:
    if as_json and as_csv:
        raise CliError("--json and --csv are exclusive: choose one", exit_code=EXIT_USAGE)
    return Output.json if as_json else Output.csv if as_csv else default


# --- common options --------------------------------------------------------------------------------------

AWS_PANEL: Final = "AWS (as the AWS CLI; --stack resolves the bus and the table)"
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile", help="AWS profile (default: AWS_PROFILE, else default).", rich_help_panel=AWS_PANEL
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region", help="AWS region (default: AWS_REGION, else your profile's).", rich_help_panel=AWS_PANEL
    ),
]
StackOption = Annotated[
    str | None,
    typer.Option(
        "--stack",
        envvar="GG_RESET_STACK",
        help="The gg-reset CloudFormation stack: its EventBusName and LedgerTableName outputs name the bus "
        "and the table. Without it the bus is gg-reset and the table comes from the stack GgReset.",
        rich_help_panel=AWS_PANEL,
    ),
]
BusOption = Annotated[
    str | None,
    typer.Option(
        "--bus",
        envvar="GG_RESET_BUS",
        help="The gg-reset event bus, name or ARN (overrides --stack).",
        rich_help_panel=AWS_PANEL,
    ),
]
TableOption = Annotated[
    str | None,
    typer.Option(
        "--table",
        envvar="GG_RESET_TABLE",
        help="The ledger table (overrides --stack).",
        rich_help_panel=AWS_PANEL,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (plain, for scripts).")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV with a header row.")]


def _target(
    profile: str | None = None,
    region: str | None = None,
    stack: str | None = None,
    bus: str | None = None,
    table: str | None = None,
) -> AwsTarget:
    return AwsTarget(AwsOptions(profile=profile, region=region, stack=stack, bus=bus, table=table))


def _now() -> datetime:
    return datetime.now(UTC)


def _check_group_id(group_id: str) -> str:
    from gg_reset.cli.requests import GROUP_ID

    if not GROUP_ID.fullmatch(group_id):
        raise CliError(
            f"invalid group id {group_id!r}: a Greengrass group id is 1-128 letters, digits, "
            "'_', '.', ':' or '-'"
        )
    return group_id


# --- demo ------------------------------------------------------------------------------------------------


def _positive_rate(name: str) -> Callable[[float | None], float | None]:
    def check(value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise typer.BadParameter(
                f"{value:g} is not a rate: give requests per simulated second above 0 (e.g. {name} 10), "
                f"or leave {name} out for no limit"
            )
        return value

    return check


def _check_writable(path: Path) -> None:
    """Fail now, not after a long run, if `path` cannot be written."""
    if path.is_dir():
        raise CliError(f"--report {path}: is a directory; give a file name such as {path / 'demo.json'}")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise CliError(
            f"--report {path}: cannot write there ({exc.strerror or exc}); choose a writable path"
        ) from None
    if not existed:
        path.unlink(missing_ok=True)


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
            "failing, flaky, slow, protected, never-deployed, already-deleted, force-never (an offline core "
            "and force=never: ends FAILED, with a notification); failed deployments, one kind per "
            "remediation policy: failed-deployment (untagged: reset), on-failure-rollback (rolled back, or "
            "notified when there is nothing to go back to), on-failure-notify; and, with no "
            "request of their own, for the janitor: expired (its date in gg-reset:expires-at has passed: "
            "deleted), expired-protected, expired-denied (on the demo's deny list), unexpired and "
            "expiry-unreadable (left alone). Expired groups beyond the janitor's 10% cap become unexpired."
        ),
    ] = None,
    quota: Annotated[
        float | None,
        typer.Option(
            callback=_positive_rate("--quota"),
            help="Greengrass API quota in requests per simulated second (the simulator throttles above it).",
        ),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            callback=_positive_rate("--budget"),
            help="gg-reset's own request budget (gg-reset:greengrassRequestsPerSecond), in requests per "
            "simulated second; defaults to --quota, as a deployment configured for its account would be.",
        ),
    ] = None,
    server_errors: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.5,
            help="Fraction of Greengrass calls answered with a 500 (the janitor's reads included: it tries "
            "a read again, bounded).",
        ),
    ] = 0.0,
    latency: Annotated[
        float, typer.Option(min=0.0, max=5.0, help="Simulated seconds each Greengrass call takes.")
    ] = 0.05,
    report: Annotated[
        Path | None,
        typer.Option(help="Write a JSON report: one entry per group, the janitor's plans, a summary."),
    ] = None,
) -> None:
    """Run gg-reset locally against a simulated fleet and show what happened to every request.

    Needs the local runtime: pip install 'gg-reset\\[local]'.
    """
    try:
        from gg_reset.local.demo import (  # moto is only needed here
            REMEDIATION_KINDS,
            UNTOUCHED,
            parse_mix,
            run_demo,
        )
        from gg_reset.local.faults import FaultProfile
    except ImportError as exc:
        raise CliError(
            f"`gg-reset demo` runs the service locally and needs the local runtime ({exc.name or exc} is "
            f"not installed): {LOCAL_EXTRA_HINT}"
        ) from None

    try:
        weights = parse_mix(mix)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mix") from exc
    if report is not None:
        _check_writable(report)
    faults = FaultProfile(requests_per_second=quota, server_error_rate=server_errors, latency_s=latency)
    console = Console()  # a display for people: rich's layout, COLUMNS honoured
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

    requests = [e for e in result.entries if str(e["group_kind"]) not in REMEDIATION_KINDS]
    failed_deployments = [e for e in result.entries if str(e["group_kind"]) in REMEDIATION_KINDS]
    console.print()
    console.print(_outcome_table(requests, untouched=UNTOUCHED))
    if failed_deployments:
        console.print()
        console.print(_remediation_table(failed_deployments, REMEDIATION_KINDS))
    console.print()
    summary = result.summary()
    console.print(_janitor_table(summary["janitor"]))
    for run in (result.janitor.dry_run, result.janitor.run):
        console.print(run.message, markup=False, highlight=False)
    console.print()
    console.print(_summary_table(summary))
    console.print()
    if report is not None:
        report.write_text(json.dumps(result.report(), indent=2))
        console.print(f"report written to {report}")
    if result.problems:
        errors = Console(stderr=True)
        errors.print(f"[bold red]{len(result.problems)} unexpected outcome(s):[/]")
        for problem in result.problems[:20]:
            errors.print(f"  - {problem}", markup=False)
        raise typer.Exit(code=EXIT_ERROR)
    console.print("[green]every request ended in its expected terminal state[/]")


def _outcome_table(entries: list[dict[str, object]], *, untouched: str) -> Table:
    """`untouched`: the entry state of a group the janitor left alone (`gg_reset.local.demo.UNTOUCHED`,
    passed in because that module needs the local runtime)."""
    # Its column comes last, in lower case like "forced": it is not a workflow state (no request was sent
    # for those groups). One space between columns keeps nine of them within 80 columns beside the
    # longest group kind.
    states = ["RESET", "DELETED", "GONE", "REJECTED", "PLANNED", "FAILED"]
    table = _styled_table("Outcomes by group kind", padding=0)
    table.add_column("group kind", no_wrap=True)
    for state in states:
        table.add_column(state, justify="right", no_wrap=True)
    table.add_column("forced", justify="right", no_wrap=True)
    table.add_column("untouched", justify="right", no_wrap=True)

    def cells(rows: list[dict[str, object]]) -> list[int]:
        return [
            *(sum(1 for e in rows if e["state"] == s) for s in states),
            sum(1 for e in rows if e["forced"]),
            sum(1 for e in rows if e["state"] == untouched),
        ]

    for kind in sorted({str(e["group_kind"]) for e in entries}):
        counts = cells([e for e in entries if e["group_kind"] == kind])
        table.add_row(kind, *(str(c) if c else "." for c in counts))
    table.add_row("[bold]total", *(f"[bold]{c}" for c in cells(entries)))
    return table


def _remediation_table(entries: list[dict[str, object]], policies: Mapping[str, object]) -> Table:
    """The demo's failed deployments, one row per remediation policy (tag `gg-reset:on-failure`).
    `policies`: demo group kind -> its policy (`gg_reset.local.demo.REMEDIATION_KINDS`)."""
    states = ["RESET", "ROLLED_BACK", "NOTIFIED", "FAILED"]
    table = _styled_table("Failed deployments by remediation policy (tag gg-reset:on-failure)")
    table.add_column("policy", no_wrap=True)
    table.add_column("groups", justify="right", no_wrap=True)
    for state in states:
        table.add_column(state, justify="right", no_wrap=True)
    table.add_column("forced", justify="right", no_wrap=True)
    for kind, policy in policies.items():
        rows = [e for e in entries if e["group_kind"] == kind]
        if not rows:
            continue
        counts = [sum(1 for e in rows if e["state"] == s) for s in states]
        forced = sum(1 for e in rows if e["forced"])
        label = f"{policy} (default)" if kind == "failed-deployment" else str(policy)
        table.add_row(label, str(len(rows)), *(str(c) if c else "." for c in (*counts, forced)))
    return table


def _janitor_table(janitor: dict[str, dict[str, object]]) -> Table:
    """The janitor's dry run and real run on the demo fleet: outcome and plan counts, one row each."""
    table = _styled_table("Janitor (selection: expired)")
    table.add_column("run", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    counted = ["fleet", "act", "rejected", "not-selected", "problems", "sent"]
    for name in counted:
        table.add_column(name, justify="right", no_wrap=True)
    for label, key in (("dry run", "dry_run"), ("run", "run")):
        counts = janitor[key]
        table.add_row(label, str(counts["outcome"]), *(str(counts.get(name, 0)) for name in counted))
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


# --- plan ------------------------------------------------------------------------------------------------

SafetyAllow = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        help="A group id or name pattern (shell glob) the deployment may act on, as gg-reset:allowList "
        "(repeatable; none: every group).",
    ),
]
SafetyDeny = Annotated[
    list[str] | None,
    typer.Option(
        "--deny",
        help="A group id or name pattern the deployment must never act on, as gg-reset:denyList "
        "(repeatable).",
    ),
]


def _plan(
    target: AwsTarget,
    terms: Sequence[str],
    allow: Sequence[str],
    deny: Sequence[str],
    *,
    show_all: bool = False,
) -> PlanView:
    selection = parse_selection(terms)
    try:
        return plan(
            target.greengrass(),
            selection,
            _now(),
            SafetyRules(allow=tuple(allow), deny=tuple(deny)),
            show_all=show_all,
        )
    except GreengrassError as error:
        # Explained here: a GreengrassError (a frozen dataclass) cannot pass through click's context
        # managers, which set the __traceback__ of what they re-raise.
        raise CliError(explain(error, target.resources()) or str(error)) from None


SELECTION_HELP = (
    "The selection, as TERM=VALUE terms: id=GROUP_ID, name=GLOB, regex=PATTERN, tag=KEY[=VALUE], "
    "no-tag=KEY, older-than=30d, idle=2w, expired[=TAG] (the date in gg-reset:expires-at has passed), "
    "not-deployed=30d. Terms AND together; repeated id/name/tag/no-tag terms OR."
)


@app.command("plan")
def plan_command(
    selection: Annotated[list[str], typer.Argument(help=SELECTION_HELP, metavar="TERM...")],
    allow: SafetyAllow = None,
    deny: SafetyDeny = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list the groups the selection does not select, and why.")
    ] = False,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """What a request for the selected groups would do, per group, with the reasons.

    Reads Greengrass only (ListGroups, GetGroup, ListDeployments for not-deployed); sends nothing.
    Example: gg-reset plan expired tag=env=lab --deny 'prod-*'
    """
    output = _output(as_json, as_csv)
    view = _plan(_target(profile, region), selection, allow or [], deny or [], show_all=show_all)
    if output is Output.json:
        print_json(view.as_json())
        return
    if output is Output.csv:
        print_csv(
            [{**row.as_json(), "reasons": "; ".join(row.reasons)} for row in view.rows],
            ["group_id", "name", "verdict", "acts", "reasons"],
        )
        return
    console = out()
    console.print(
        _table(
            ["group", "name", "verdict", "reasons"],
            ([row.group_id, row.name, row.verdict.value, "; ".join(row.reasons)] for row in view.rows),
            title=view.title,
        )
    )


# --- request ---------------------------------------------------------------------------------------------


class Action(StrEnum):
    reset = "reset"
    delete = "delete"


@app.command()
def request(
    action: Annotated[
        Action, typer.Argument(help="reset: reset deployments; delete: reset, then delete the group.")
    ],
    group_ids: Annotated[
        list[str] | None,
        typer.Argument(help="Greengrass group ids; `-` reads them from stdin (one per line, # comments)."),
    ] = None,
    file: Annotated[
        list[str] | None,
        typer.Option(
            "--file", "-f", help="Read group ids from FILE (`-`: stdin): one per line, `#` starts a comment."
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
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
    from gg_reset.cli.requests import (
        BAD_OUTCOMES,
        Outcome,
        collect_group_ids,
        new_request_id,
        put_requests,
        wait_for,
    )

    ids = collect_group_ids(group_ids or [], file or [], sys.stdin)
    target = _target(profile, region, stack, bus, table)
    if select:
        ids = list(
            dict.fromkeys(
                [*ids, *(r.group_id for r in _plan(target, select, allow or [], deny or []).acting)]
            )
        )
    if not ids:
        if select:
            out().print("the selection acts on no group: nothing to send")
            return
        raise CliError(
            "no group ids: pass them as arguments, with --file FILE (- for stdin) or --select",
            exit_code=EXIT_USAGE,
        )
    request_id = request_id or new_request_id()
    queries = LedgerQueries(target.ledger()) if wait else None
    if queries is not None:
        queries.check()  # an unknown table fails now, before anything is sent
    bus_name = target.bus_name()
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
        )
        for gid in ids
    ]
    sent = put_requests(target.events(), ids, entries)
    refused = [s for s in sent if s.error]
    console, errors = out(), err()
    for item in sent:
        if item.error:
            errors.print(f"{item.group_id}: not sent: {item.error}", markup=False)
        elif not as_json:
            console.print(f"sent {action.value} {item.group_id} request {item.request_id}", markup=False)
    outcomes: dict[str, Outcome] = {}
    accepted = [(s.group_id, s.request_id) for s in sent if not s.error]
    if queries is not None and accepted:
        if not as_json:
            errors.print(f"waiting for {len(accepted)} request(s) (timeout {timeout:g}s)...", markup=False)

        def finished(outcome: Outcome) -> None:
            if not as_json and outcome.workflow is not None:
                console.print(_outcome_line(outcome.workflow), markup=False)

        for outcome in wait_for(
            queries, accepted, timeout_s=timeout, interval_s=interval, on_finished=finished
        ):
            outcomes[outcome.group_id] = outcome
    if as_json:
        print_json(
            {
                "action": action.value,
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
            }
        )
    unfinished = [o for o in outcomes.values() if not o.finished]
    bad = [o for o in outcomes.values() if o.workflow is not None and o.workflow.state in BAD_OUTCOMES]
    if unfinished and not as_json:
        for outcome in unfinished:
            where = f"still {outcome.workflow.state.value}" if outcome.workflow else "not in the ledger yet"
            errors.print(f"{outcome.group_id}: {where} after {timeout:g}s", markup=False)
    if refused:
        raise CliError(f"{len(refused)} of {len(sent)} request(s) were not accepted by the bus")
    if bad:
        raise typer.Exit(code=EXIT_OUTCOME)
    if unfinished:
        raise typer.Exit(code=EXIT_TIMEOUT)


def _outcome_line(workflow: Workflow) -> str:
    forced = " (forced)" if workflow.forced else ""
    return f"{workflow.group_id}  {workflow.state.value}{forced}  {workflow.reason}"


def _outcome_json(workflow: Workflow | None) -> dict[str, Any] | None:
    return _workflow_json(workflow) if workflow is not None else None


def _workflow_json(workflow: Workflow) -> dict[str, Any]:
    return {**workflow_row(workflow), "plan": list(workflow.plan)}


# --- list ------------------------------------------------------------------------------------------------


def _state(value: str) -> WorkflowState:
    try:
        return WorkflowState(value.upper())
    except ValueError:
        known = ", ".join(s.value for s in WorkflowState)
        raise CliError(
            f"--state {value!r}: not a workflow state (one of {known})", exit_code=EXIT_USAGE
        ) from None


def _since_filter(since: str | None) -> Callable[[Workflow], bool]:
    if since is None:
        return lambda _: True
    cutoff = parse_since(since, _now())
    return lambda wf: reference_time(wf) >= cutoff


@app.command("list")
def list_command(
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
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
            help="Only workflows that finished (in flight: started) at or after WHEN: an ISO 8601 date or "
            "time, or an age such as 30m, 24h, 7d."
        ),
    ] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    stack: StackOption = None,
    table: TableOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """Workflows from the ledger: in flight (default), failed, by state, since a time.

    In-flight workflows are read from the ledger's due index (one query per shard, then their HEAD items:
    cheap at any size). Finished ones (--failed, --finished, --all, a terminal --state) are read with a
    filtered Scan, which reads, and is billed for, the whole table.
    """
    output = _output(as_json, as_csv)
    states = {_state(s) for s in state or []}
    if failed:
        states.add(WorkflowState.FAILED)
    if every or finished:
        states |= TERMINAL_STATES
    if every or not states:
        states |= ACTIVE_STATES
    queries = LedgerQueries(_target(profile, region, stack, table=table).ledger())
    keep = _since_filter(since)
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
        _table(
            ["group", "workflow", "action", "kind", "state", "forced", "started", "finished", "reason"],
            (
                [
                    r["group_id"],
                    r["workflow_id"],
                    r["action"],
                    r["kind"] + (" (dry run)" if r["dry_run"] else ""),
                    r["state"],
                    "yes" if r["forced"] else "",
                    _when(r["started_at"]),
                    _when(r["finished_at"]),
                    r["reason"],
                ]
                for r in rows
            ),
        )
    )


# --- show ------------------------------------------------------------------------------------------------


@app.command()
def show(
    group_id: Annotated[str, typer.Argument(help="The Greengrass group id.")],
    as_json: JsonOption = False,
    stack: StackOption = None,
    table: TableOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """A group's history from the ledger: every workflow still retained, and its steps."""
    _check_group_id(group_id)
    target = _target(profile, region, stack, table=table)
    history = LedgerQueries(target.ledger()).group(group_id)
    if not history:
        raise CliError(f"no workflow recorded for group {group_id} in the ledger table {target.table_name()}")
    if as_json:
        print_json(
            {
                "group_id": group_id,
                "workflows": [
                    {**_workflow_json(h.workflow), "steps": [step_row(s) for s in h.steps]} for h in history
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
        finished = f", finished {_when(row['finished_at'])}" if row["finished_at"] else ""
        console.print(
            f"  requests {', '.join(wf.request_ids)} by {row['requested_by']}; "
            f"started {_when(row['started_at'])}{finished}",
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


@app.command()
def report(
    since: Annotated[
        str,
        typer.Option(
            help="Workflows that finished at or after WHEN (and every one still in flight): an ISO 8601 "
            "date or time, or an age such as 24h, 7d."
        ),
    ],
    as_json: JsonOption = False,
    stack: StackOption = None,
    table: TableOption = None,
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
    keep = _since_filter(since)
    queries = LedgerQueries(_target(profile, region, stack, table=table).ledger())
    workflows = [*queries.finished(), *queries.active()]
    rows = [workflow_row(wf) for wf in workflows if not wf.state.terminal or keep(wf)]
    if as_json:
        print_json({"actions": [a.value for a in ReportAction], "workflows": rows})
    else:
        print_csv(rows, REPORT_FIELDS)


def main() -> None:
    app()


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


@app.command("janitor-runs")
def janitor_runs(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many of the most recent runs.")] = 20,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    stack: StackOption = None,
    table: TableOption = None,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """The janitor's most recent runs, newest first: outcome, plan counts, requests sent.

    `--json` gives each run's whole record (its plan's first entries, problems, refused and unsent
    requests). Reads the ledger's JANITOR partition (one query).
    """
    from gg_reset.adapters.janitor_ledger import DynamoDBJanitorLedger

    output = _output(as_json, as_csv)
    target = _target(profile, region, stack, table=table)
    ledger = DynamoDBJanitorLedger(
        target.client("dynamodb"), target.table_name(), retention=timedelta(days=1)
    )
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
        console.print(f"no janitor run recorded in the ledger table {target.table_name()}")
        return
    console.print(
        _table(
            ["run", "scheduled", "outcome", "act", "rejected", "sent", "message"],
            (
                [
                    str(r["run_id"]),
                    _when(str(r["scheduled_at"])),
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
