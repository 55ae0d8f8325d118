"""A local run's timeline, and its picture: when each Greengrass call was made and how it was answered, and
when each workflow finished (with Force or without), on the simulated clock.

`TimelineRecorder(simulator)` starts recording; `recorder.timeline(workflows, ...)` returns a `Timeline`
once the run is over; `draw(timeline, path)` writes it as one PNG with panels sharing the time axis:
requests finished over time (normal vs forced), Greengrass calls per second against the API quota, and the
429 answers. `gg-reset demo --plot FILE` and `make bench` (the bulk run) use it.

The recorder reads what the simulator already counts: its `calls` (requests received, by operation) and
`errors` (error answers, by code) counters. It swaps each for a `Counter` that also notes the simulated
time of every increment, so neither the simulator nor the runtime needs a hook; everything else about them
is unchanged. Drawing needs matplotlib (`pip install 'gg-reset[plot]'`), imported only by `draw`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from gg_reset.domain.model import Workflow

if TYPE_CHECKING:
    from gg_reset.local.clock import SimulatedClock
    from gg_reset.local.greengrass_sim import GreengrassSimulator

PLOT_EXTRA_HINT: Final = "pip install 'gg-reset[plot]'"
THROTTLED_CODE: Final = "TooManyRequestsException"
SERVER_ERROR_CODE: Final = "InternalServerErrorException"
_BIN_WIDTHS: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
_MAX_BINS: Final = 240


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed: the message says what to install."""


@dataclass(frozen=True, slots=True)
class Finished:
    """A workflow that ended during the run."""

    at_s: float
    """Simulated seconds since the start of the timeline."""
    forced: bool
    state: str


@dataclass(frozen=True, slots=True)
class Timeline:
    """What a run did, on the simulated clock (seconds since its start)."""

    calls: tuple[float, ...]
    """Every Greengrass request received (answered, throttled or failed)."""
    throttled: tuple[float, ...]
    """Every 429 (TooManyRequestsException) answer."""
    server_errors: tuple[float, ...]
    """Every 500 answer."""
    finished: tuple[Finished, ...]
    duration_s: float
    quota: float | None = None
    """The simulated API's quota, requests per second (None: unlimited)."""
    budget: float | None = None
    """gg-reset's own request budget, requests per second (None: unpaced)."""
    title: str = "gg-reset local run"
    note: str = ""
    """A line under the picture (what the reader should know to read it)."""

    @property
    def forced(self) -> int:
        return sum(1 for f in self.finished if f.forced)

    def bin_width(self) -> int:
        """Seconds per bar of the calls panel: 1 s for a short run, wider for a long one (at most
        `_MAX_BINS` bars)."""
        for width in _BIN_WIDTHS:
            if self.duration_s / width <= _MAX_BINS:
                return width
        return _BIN_WIDTHS[-1]

    def per_second(self, times: Sequence[float], width: int) -> list[float]:
        """`times` counted in bins of `width` seconds from 0, as a rate per second."""
        bins = max(1, math.ceil(self.duration_s / width))
        counts = [0] * bins
        for t in times:
            counts[min(bins - 1, max(0, int(t // width)))] += 1
        return [c / width for c in counts]


class _TimedCounter(Counter[str]):
    """A `Counter` that also notes (simulated time, key) for every increment."""

    def __init__(self, counts: Counter[str], clock: SimulatedClock) -> None:
        super().__init__()
        dict.update(self, counts)  # the counts so far, not logged as increments
        self.clock = clock
        self.log: list[tuple[datetime, str]] = []

    def __setitem__(self, key: str, value: int) -> None:
        if value > self.get(key, 0):
            self.log.extend([(self.clock.now(), key)] * (value - self.get(key, 0)))
        super().__setitem__(key, value)


class TimelineRecorder:
    """Records a simulator's calls and error answers from now on (see the module docstring)."""

    def __init__(self, simulator: GreengrassSimulator, *, start: datetime | None = None) -> None:
        self.clock = simulator.clock
        self.start = start or self.clock.now()
        self._calls = _TimedCounter(simulator.calls, self.clock)
        self._errors = _TimedCounter(simulator.errors, self.clock)
        simulator.calls = self._calls
        simulator.errors = self._errors

    def _seconds(self, at: datetime) -> float:
        return (at - self.start).total_seconds()

    def timeline(
        self,
        workflows: Iterable[Workflow],
        *,
        quota: float | None = None,
        budget: float | None = None,
        title: str = "gg-reset local run",
        reset_timeout_s: float | None = None,
        end: datetime | None = None,
    ) -> Timeline:
        """`reset_timeout_s`: the workflow policy's; the picture says that forced requests waited for it."""
        end = end or self.clock.now()
        finished = sorted(
            (
                Finished(self._seconds(wf.finished_at), wf.forced, wf.state.value)
                for wf in workflows
                if wf.state.terminal and wf.finished_at is not None and wf.finished_at >= self.start
            ),
            key=lambda f: f.at_s,
        )
        errors = self._errors.log
        return Timeline(
            calls=tuple(self._seconds(at) for at, _ in self._calls.log if at >= self.start),
            throttled=tuple(self._seconds(at) for at, code in errors if code == THROTTLED_CODE),
            server_errors=tuple(self._seconds(at) for at, code in errors if code == SERVER_ERROR_CODE),
            finished=tuple(finished),
            duration_s=max(self._seconds(end), 1.0),
            quota=quota,
            budget=budget,
            title=title,
            note=(
                "Forced: reset with Force=True, because the core failed the reset or did not confirm it "
                f"within the reset timeout ({reset_timeout_s:g} s); a silent core's request ends only after "
                "that wait."
                if reset_timeout_s is not None and any(f.forced for f in finished)
                else ""
            ),
        )


# --- the picture -------------------------------------------------------------------------------------------

_NORMAL: Final = "#4C72B0"
_FORCED: Final = "#DD8452"
_CALLS: Final = "#8FAADC"
_THROTTLED: Final = "#C44E52"
_SERVER_ERROR: Final = "#8172B3"


def require_matplotlib() -> None:
    """Raise `PlotUnavailable` (one line: what to install) unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable(
            f"drawing a timeline needs matplotlib, which is not installed: {PLOT_EXTRA_HINT}"
        ) from None


def draw(timeline: Timeline, path: Path) -> Path:
    """Write `timeline` to `path` as a PNG; returns `path`."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    minutes = timeline.duration_s > 600
    scale = 60.0 if minutes else 1.0
    unit = "min" if minutes else "s"
    end = timeline.duration_s / scale

    figure = Figure(figsize=(11, 8.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # the Agg canvas: a PNG, no display needed
    done, rate, errors = figure.subplots(3, 1, sharex=True, height_ratios=[3, 3, 1.3])
    figure.suptitle(timeline.title, fontsize=14, fontweight="bold")

    _draw_finished(done, timeline, scale)
    _draw_rate(rate, timeline, scale)
    _draw_errors(errors, timeline, scale)

    errors.set_xlabel(f"simulated time since the start of the run ({unit})")
    if timeline.note:
        figure.supxlabel(timeline.note, fontsize=9, color="dimgray")
    errors.set_xlim(0, end)
    for axes in (done, rate, errors):
        axes.grid(True, alpha=0.3)
        axes.spines[["top", "right"]].set_visible(False)
    figure.savefig(path, format="png")
    return path


def _draw_finished(axes: Any, timeline: Timeline, scale: float) -> None:
    times = [0.0]
    normal, forced = [0], [0]
    for item in timeline.finished:
        times.append(item.at_s / scale)
        normal.append(normal[-1] + (not item.forced))
        forced.append(forced[-1] + item.forced)
    times.append(timeline.duration_s / scale)
    normal.append(normal[-1])
    forced.append(forced[-1])
    axes.stackplot(
        times,
        normal,
        forced,
        step="post",
        colors=[_NORMAL, _FORCED],
        alpha=0.85,
        labels=[f"without Force: {normal[-1]}", f"forced (Force=True): {forced[-1]}"],
    )
    total = normal[-1] + forced[-1]
    axes.set_title(f"Requests finished: {total} (cumulative, stacked)", loc="left")
    axes.set_ylabel("requests finished")
    axes.set_ylim(0, max(1, total) * 1.08)
    axes.legend(loc="upper left", frameon=False)


def _draw_rate(axes: Any, timeline: Timeline, scale: float) -> None:
    width = timeline.bin_width()
    edges = [
        min(i * width, timeline.duration_s) / scale for i in range(len(timeline.per_second((), width)) + 1)
    ]
    calls = timeline.per_second(timeline.calls, width)
    throttled = timeline.per_second(timeline.throttled, width)
    axes.stairs(calls, edges, fill=True, color=_CALLS, label=f"all calls: {len(timeline.calls)}")
    if timeline.throttled:
        axes.stairs(
            throttled, edges, fill=True, color=_THROTTLED, label=f"answered 429: {len(timeline.throttled)}"
        )
    if timeline.quota is not None:
        axes.axhline(
            timeline.quota,
            color="black",
            linestyle="--",
            linewidth=1.5,
            label=f"API quota: {timeline.quota:g} req/s",
        )
    if timeline.budget is not None and timeline.budget != timeline.quota:
        axes.axhline(
            timeline.budget,
            color="dimgray",
            linestyle=":",
            linewidth=1.5,
            label=f"gg-reset's budget: {timeline.budget:g} req/s",
        )
    average = f"averaged over {width} s" if width > 1 else "per 1 s"
    axes.set_title(f"Greengrass API calls per second ({average})", loc="left")
    axes.set_ylabel("calls per second")
    peak = max([*calls, timeline.quota or 0.0, timeline.budget or 0.0, 1.0])
    axes.set_ylim(0, peak * 1.25)
    axes.legend(loc="upper right", frameon=False, ncols=2)


def _draw_errors(axes: Any, timeline: Timeline, scale: float) -> None:
    axes.set_title("Throttled (429) and failed (500) answers", loc="left")
    axes.set_yticks([])
    axes.set_ylim(0, 1)
    if not timeline.throttled and not timeline.server_errors:
        axes.text(0.5, 0.5, "none", transform=axes.transAxes, ha="center", va="center", color="gray")
        return
    if timeline.throttled:
        axes.eventplot(
            [t / scale for t in timeline.throttled],
            lineoffsets=0.65,
            linelengths=0.5,
            colors=_THROTTLED,
            linewidths=0.8,
            label=f"429: {len(timeline.throttled)}",
        )
    if timeline.server_errors:
        axes.eventplot(
            [t / scale for t in timeline.server_errors],
            lineoffsets=0.15 if timeline.throttled else 0.5,
            linelengths=0.25,
            colors=_SERVER_ERROR,
            linewidths=0.8,
            label=f"500: {len(timeline.server_errors)}",
        )
    axes.legend(loc="upper right", frameon=False, ncols=2)
