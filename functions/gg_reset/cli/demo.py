"""`gg-reset demo`: the whole service locally on a simulated fleet (needs `gg-reset[local]`), its tables,
and (`--plot FILE`, needs `gg-reset[plot]`) a picture of the run's timeline."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gg_reset.cli.errors import EXIT_ERROR, CliError
from gg_reset.cli.output import styled_table
from gg_reset.text import plural

LOCAL_EXTRA_HINT: Final = "pip install 'gg-reset[local]'"


def _positive_rate(name: str) -> Callable[[float | None], float | None]:
    def check(value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise typer.BadParameter(
                f"{value:g} is not a rate: give requests per simulated second above 0 (e.g. {name} 10), "
                f"or leave {name} out for no limit"
            )
        return value

    return check


def _check_writable(path: Path, option: str, example: str) -> None:
    """Fail now, not after a long run, if `path` cannot be written."""
    if path.is_dir():
        raise CliError(f"{option} {path}: is a directory", hint=f"give a file name such as {path / example}")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise CliError(
            f"{option} {path}: cannot write there ({exc.strerror or exc})", hint="choose a writable path"
        ) from None
    if not existed:
        path.unlink(missing_ok=True)


def _say(console: Console, text: str) -> None:
    """A sentence: wrapped at word boundaries on a terminal, one line when piped (never cut mid-phrase at
    80 columns)."""
    console.print(text, markup=False, highlight=False, soft_wrap=not console.is_terminal)


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
        typer.Option(
            metavar="FILE",
            help="Write a JSON report: one entry per group, the janitor's plans, a summary.",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Draw the run's timeline into FILE, a PNG: requests finished over simulated time (with "
            "Force or without), Greengrass calls per second against --quota, and the 429 answers. Needs "
            "matplotlib: pip install 'gg-reset\\[plot]'.",
        ),
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
            "not installed)",
            hint=LOCAL_EXTRA_HINT,
        ) from None

    try:
        weights = parse_mix(mix)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mix") from exc
    if plot is not None:
        from gg_reset.local.timeline import PLOT_EXTRA_HINT, PlotUnavailable, require_matplotlib

        try:
            require_matplotlib()
        except PlotUnavailable:
            raise CliError(
                f"--plot {plot}: drawing the timeline needs matplotlib, which is not installed",
                hint=PLOT_EXTRA_HINT,
            ) from None
        _check_writable(plot, "--plot", "timeline.png")
    if report is not None:
        _check_writable(report, "--report", "demo.json")
    faults = FaultProfile(requests_per_second=quota, server_error_rate=server_errors, latency_s=latency)
    console = Console()  # a display for people: rich's layout, COLUMNS honoured
    console.print(f"[bold]gg-reset demo[/]: {plural(groups, 'simulated group')}, seed {seed}")
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
        _say(console, run.message)
    console.print()
    console.print(_teardown_table(summary["teardown"]))
    teardown = summary["teardown"]
    _say(
        console,
        f"teardown: {teardown['orphans']} orphaned, {teardown['deleted_in_use']} deleted while in use, "
        f"{teardown['protected_touched']} protected touched",
    )
    console.print()
    console.print(_summary_table(summary))
    console.print()
    if report is not None:
        report.write_text(json.dumps(result.report(), indent=2))
        _say(console, f"report written to {report}")
    if plot is not None:
        from gg_reset.local.timeline import draw

        draw(result.timeline, plot)
        _say(console, f"timeline written to {plot}")
    if result.problems:
        errors = Console(stderr=True)
        errors.print(f"[bold red]{plural(len(result.problems), 'unexpected outcome')}:[/]")
        for problem in result.problems[:20]:
            _say(errors, f"  - {problem}")
        raise typer.Exit(code=EXIT_ERROR)
    console.print("[green]every request ended in its expected terminal state[/]")


def _outcome_table(entries: list[dict[str, object]], *, untouched: str) -> Table:
    """`untouched`: the entry state of a group the janitor left alone (`gg_reset.local.demo.UNTOUCHED`,
    passed in because that module needs the local runtime)."""
    # Its column comes last, in lower case like "forced": it is not a workflow state (no request was sent
    # for those groups). One space between columns keeps nine of them within 80 columns beside the
    # longest group kind.
    states = ["RESET", "DELETED", "GONE", "REJECTED", "PLANNED", "FAILED"]
    table = styled_table("Outcomes by group kind", padding=0)
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
    table = styled_table("Failed deployments by remediation policy (tag gg-reset:on-failure)")
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
    table = styled_table("Janitor (selection: expired)")
    table.add_column("run", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    counted = ["fleet", "act", "rejected", "not-selected", "problems", "sent"]
    for name in counted:
        table.add_column(name, justify="right", no_wrap=True)
    for label, key in (("dry run", "dry_run"), ("run", "run")):
        counts = janitor[key]
        table.add_row(label, str(counts["outcome"]), *(str(counts.get(name, 0)) for name in counted))
    return table


def _teardown_table(teardown: dict[str, Any]) -> Table:
    """What the deletions' teardowns did with each type of resource the groups owned."""
    table = styled_table("Teardown (teardown=things)")
    table.add_column("resource", no_wrap=True)
    outcomes = ["deleted", "already-gone", "kept", "failed"]
    for name in outcomes:
        table.add_column(name, justify="right", no_wrap=True)
    for kind, counts in teardown["by_type"].items():
        table.add_row(kind, *(str(counts.get(name, 0)) if counts.get(name) else "." for name in outcomes))
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
        f"{plural(int(str(summary['worker_invocations'])), 'invocation')}, "
        f"{plural(int(str(summary['messages'])), 'message')}, "
        f"{plural(int(str(summary['redeliveries'])), 'redelivery')}",
    )
    table.add_row("sweeps", str(summary["sweeps"]))
    table.add_row("notifications", str(summary["notifications"]))
    simulated = timedelta(seconds=round(float(str(summary["simulated_seconds"]))))
    table.add_row("time", f"{simulated} simulated, {summary['wall_seconds']}s wall")
    return table
