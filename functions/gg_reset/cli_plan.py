"""`gg-reset plan` and `request --select`: the CLI's side of group selection (`gg_reset.selection`).

This is the only module that knows the selection API: `Selection` (with its parse helpers) and
`select(greengrass, selection, now, safety) -> Plan`, a verdict and its reasons for every group. The CLI
prints `PlanRow`s and sends requests for the groups whose verdict is to act.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gg_reset.cli_errors import CliError
from gg_reset.domain.safety import SafetyRules
from gg_reset.ports import GreengrassPort


@dataclass(frozen=True, slots=True)
class PlanRow:
    group_id: str
    name: str
    verdict: str
    acts: bool
    """Whether a request would be sent for this group (`request --select`)."""
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id,
            "name": self.name,
            "verdict": self.verdict,
            "acts": self.acts,
            "reasons": list(self.reasons),
        }


def _module() -> Any:
    try:
        from gg_reset import selection  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        raise CliError(
            "group selection is not available in this gg-reset (gg_reset.selection is missing): "
            "pass group ids instead"
        ) from None
    return selection


def parse_selection(terms: Sequence[str]) -> Any:
    """The `Selection` for the command line's terms; a bad term is a one-line error."""
    module = _module()
    try:
        return module.Selection.parse(list(terms))
    except ValueError as exc:
        raise CliError(f"invalid selection: {exc}") from None


def plan(greengrass: GreengrassPort, selection: Any, now: datetime, safety: SafetyRules) -> list[PlanRow]:
    result = _module().select(greengrass, selection, now, safety)
    return [
        PlanRow(
            group_id=str(entry.group_id),
            name=str(getattr(entry, "name", "") or ""),
            verdict=str(entry.verdict),
            acts=bool(entry.acts),
            reasons=tuple(str(r) for r in entry.reasons),
        )
        for entry in result.entries
    ]
