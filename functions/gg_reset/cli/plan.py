"""`gg-reset plan` and `request --select`: the CLI's side of group selection (`gg_reset.cleanup.selection`).

The CLI shows the groups a selection concerns: those it selects (to act on, or rejected by the safety
layers) and those Greengrass could not answer for; `--all` adds every listed group it does not select,
each with the first criterion that failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gg_reset.cleanup.selection import Plan, PlanEntry, Selection, SelectionError, Verdict, select
from gg_reset.cli.errors import CliError
from gg_reset.domain.safety import SafetyRules
from gg_reset.ports import GreengrassPort


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
    def title(self) -> str:
        selected = sum(1 for row in self.rows if row.selected)
        return (
            f"Plan: {len(self.acting)} of {selected} selected group(s) would be acted on "
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
) -> PlanView:
    result: Plan = select(greengrass, selection, now, safety)
    rows = tuple(
        entry for entry in result.entries if show_all or entry.selected or entry.verdict is Verdict.ERROR
    )
    return PlanView(rows=rows, listed=result.fleet_size)
