"""`gg-reset plan` and `request --select`: the CLI's side of group selection (`gg_reset.cleanup.selection`).

The CLI shows the groups a selection concerns: those it selects (to act on, or rejected by the safety
layers) and those Greengrass could not answer for; `--all` adds every listed group it does not select,
each with the first criterion that failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

import typer

from gg_reset.cleanup.selection import (
    MigrationReader,
    Plan,
    PlanEntry,
    Selection,
    SelectionError,
    Verdict,
    select,
)
from gg_reset.cli.aws import AwsTarget
from gg_reset.cli.errors import CliError, Problem, diagnose
from gg_reset.cli.options import (
    TEARDOWN_HELP,
    CsvOption,
    JsonOption,
    ProfileOption,
    RegionOption,
    now,
    target,
)
from gg_reset.cli.output import Output, out, output_format, print_csv, print_json, table
from gg_reset.domain.errors import GreengrassError
from gg_reset.domain.safety import SafetyRules
from gg_reset.domain.teardown import Teardown
from gg_reset.ports import GreengrassPort
from gg_reset.text import plural


@dataclass(frozen=True, slots=True)
class PlanView:
    """What `gg-reset plan` prints: the rows shown and the size of the fleet they were chosen from."""

    rows: tuple[PlanEntry, ...]
    listed: int
    """Groups ListGroups returned."""

    @property
    def acting(self) -> tuple[PlanEntry, ...]:
        return tuple(row for row in self.rows if row.acts)

    @property
    def matched_nothing(self) -> bool:
        """No group selected, and none Greengrass failed to answer for (that one might have been)."""
        return not any(row.selected or row.verdict is Verdict.ERROR for row in self.rows)

    @property
    def title(self) -> str:
        if self.matched_nothing:
            return f"Plan: nothing matched the selection (0 of {plural(self.listed, 'group')})"
        selected = sum(1 for row in self.rows if row.selected)
        return (
            f"Plan: {len(self.acting)} of {plural(selected, 'selected group')} would be acted on "
            f"({self.listed} listed)"
        )

    def as_json(self) -> dict[str, Any]:
        return {"listed": self.listed, "groups": [row.as_json() for row in self.rows]}


def parse_selection(terms: Sequence[str]) -> Selection:
    """The `Selection` for the command line's terms; a bad term is a one-line error."""
    try:
        return Selection.parse(list(terms))
    except SelectionError as exc:
        raise CliError(f"invalid selection: {exc}") from None


def plan(
    greengrass: GreengrassPort,
    selection: Selection,
    now: datetime,
    safety: SafetyRules,
    *,
    show_all: bool = False,
    migration: MigrationReader | None = None,
    teardown: Teardown = Teardown.GROUP,
) -> PlanView:
    try:
        result: Plan = select(greengrass, selection, now, safety, migration=migration, teardown=teardown)
    except SelectionError as exc:
        raise CliError(f"invalid selection: {exc}") from None
    rows = tuple(
        entry for entry in result.entries if show_all or entry.selected or entry.verdict is Verdict.ERROR
    )
    return PlanView(rows=rows, listed=result.fleet_size)


# --- the command -----------------------------------------------------------------------------------------

SafetyAllow = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        metavar="PATTERN",
        help="A group id or name pattern (shell glob) the deployment may act on, as gg-reset:allowList "
        "(repeatable; none: every group).",
    ),
]
SafetyDeny = Annotated[
    list[str] | None,
    typer.Option(
        "--deny",
        metavar="PATTERN",
        help="A group id or name pattern the deployment must never act on, as gg-reset:denyList "
        "(repeatable).",
    ),
]


def plan_view(
    aws: AwsTarget,
    terms: Sequence[str],
    allow: Sequence[str],
    deny: Sequence[str],
    *,
    show_all: bool = False,
    teardown: Teardown | None = None,
) -> PlanView:
    selection = parse_selection(terms)
    # A migrated group is selected to be torn down: show what that would remove unless told otherwise.
    preview = teardown or (Teardown.THINGS if selection.migrated else Teardown.GROUP)
    needs_migration = selection.migrated or preview is not Teardown.GROUP
    try:
        return plan(
            aws.greengrass(),
            selection,
            now(),
            SafetyRules(allow=tuple(allow), deny=tuple(deny)),
            show_all=show_all,
            migration=aws.migration() if needs_migration else None,
            teardown=preview,
        )
    except GreengrassError as error:
        # Explained here: a GreengrassError (a frozen dataclass) cannot pass through click's context
        # managers, which set the __traceback__ of what they re-raise.
        problem = diagnose(error, aws.resources()) or Problem(str(error))
        raise CliError(problem.error, hint=problem.hint) from None


SELECTION_HELP: Final = (
    "The selection, as TERM=VALUE terms: id=GROUP_ID, name=GLOB, regex=PATTERN, tag=KEY[=VALUE], "
    "no-tag=KEY, older-than=30d, idle=2w, expired (the date in the tag gg-reset:expires-at has passed; "
    "expired=KEY: in the tag KEY), not-deployed=30d, migrated (the core thing is now a Greengrass V2 core "
    "device). Terms AND together; repeated id/name/tag/no-tag terms OR."
)


def plan_command(
    selection: Annotated[list[str], typer.Argument(help=SELECTION_HELP, metavar="TERM")],
    allow: SafetyAllow = None,
    deny: SafetyDeny = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list the groups the selection does not select, and why.")
    ] = False,
    teardown: Annotated[
        Teardown | None,
        typer.Option(
            help=f"Preview a deletion's teardown per group to act on: {TEARDOWN_HELP} Default: things "
            "with migrated, else group (no preview).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    as_csv: CsvOption = False,
    profile: ProfileOption = None,
    region: RegionOption = None,
) -> None:
    """What a request for the selected groups would do, per group, with the reasons.

    Reads only (ListGroups, GetGroup; ListDeployments for not-deployed; the group's versions and
    Greengrass V2's GetCoreDevice for migrated and the teardown preview); sends nothing.
    Example: gg-reset plan expired tag=env=lab --deny 'prod-*'; gg-reset plan migrated --json
    """
    output = output_format(as_json, as_csv)
    view = plan_view(
        target(profile, region), selection, allow or [], deny or [], show_all=show_all, teardown=teardown
    )
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
    if not view.rows:
        console.print(view.title, markup=False)
        return
    console.print(
        table(
            ["group", "name", "verdict", "reasons"],
            ([row.group_id, row.name, row.verdict.value, "; ".join(row.reasons)] for row in view.rows),
            title=view.title,
        )
    )
    previews = [row for row in view.rows if row.teardown]
    if previews:
        console.print(
            table(
                ["group", "would", "type", "id", "why"],
                (
                    [
                        row.group_id,
                        "keep" if r.used_by else "delete",
                        str(r.kind),
                        r.resource_id,
                        f"used by {', '.join(r.used_by)}" if r.used_by else "no remaining user",
                    ]
                    for row in previews
                    for r in row.teardown
                ),
                title="Teardown preview (asked again right before each delete)",
            )
        )
