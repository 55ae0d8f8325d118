"""A clock that only moves when told to, so simulated hours pass in milliseconds and runs repeat exactly.

Everything time-dependent in a local run (deployment status transitions, rate-limit refills, the
sweeper's "overdue" checks, ledger timestamps) reads one `SimulatedClock`. The runtime jumps it to the
next interesting instant instead of sleeping, which is what lets a demo cover a 15-minute slow core
in well under a second and lets two runs with the same seed produce the same ledger.

`TaskScheduler` lets several tasks (the local runtime's overlapping Lambda invocations) share that clock,
as concurrent invocations share time in AWS: each runs on its own thread, but only one runs at any moment,
and a task that waits (`SimulatedClock.sleep`, or a request in flight) hands the clock back; the scheduler
then resumes whichever task or event is due first. So waits of different tasks overlap instead of adding
up, time still never goes backwards, and the interleaving is the same in every run.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

DEFAULT_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)
"""Where a simulated clock starts unless told otherwise: fixed, so timestamps are reproducible."""


class SimulatedClock:
    """A manually advanced, timezone-aware UTC clock (satisfies `gg_reset.ports.Clock`).

    Time never goes backwards: `advance` refuses negative steps and `advance_to` refuses the past,
    because a scheduler that saw time reverse could apply a transition twice or skip one.

    With a `TaskScheduler` attached, `sleep` inside one of its tasks lets the other tasks run meanwhile
    (see `TaskScheduler.wait`); `advance` is time the task itself spends, during which nothing else runs.
    """

    __slots__ = ("_now", "_tasks")

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)
        self._tasks: TaskScheduler | None = None

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by `seconds` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards (advance by {seconds} s)")
        if self._tasks is not None:
            seconds = self._tasks.unpaid(seconds)
        self._now += timedelta(seconds=seconds)
        return self._now

    def sleep(self, seconds: float) -> None:
        """What a sleeping caller sees: simulated time passes (satisfies `gg_reset.ports.Clock`)."""
        if seconds <= 0:
            return
        if self._tasks is not None and self._tasks.current() is not None:
            self._tasks.wait(seconds)
        else:
            self.advance(seconds)

    def advance_to(self, when: datetime) -> datetime:
        """Move the clock forward to `when`; a time already passed is a no-op, not an error.

        Jumping "to the next due transition" may race with another component having moved the clock
        further already; treating that as a no-op keeps such callers simple.
        """
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("advance_to needs a timezone-aware time")
        when = when.astimezone(UTC)
        if when > self._now:
            self._now = when
        return self._now

    def __repr__(self) -> str:
        return f"SimulatedClock({self._now.isoformat()})"


class TaskCancelled(BaseException):
    """Raised where a task waits when its scheduler closes, so the task unwinds (its `finally` blocks run).

    A `BaseException`, so the `except Exception` of the code the task runs (a batch processor, a sweep
    loop) does not swallow it."""


class Task:
    """One task of a `TaskScheduler`: a function running on its own thread, one step at a time."""

    __slots__ = (
        "_go",
        "_thread",
        "cancelled",
        "done",
        "enter",
        "error",
        "leave",
        "name",
        "prepaid",
        "result",
        "wake",
    )

    def __init__(
        self,
        name: str,
        wake: datetime,
        enter: Callable[[], None] | None,
        leave: Callable[[], None] | None,
    ) -> None:
        self.name = name
        self.wake = wake
        """When the task runs next."""
        self.enter = enter
        self.leave = leave
        self.prepaid = 0.0
        """Seconds the task already waited for (`TaskScheduler.in_flight`) that `advance` does not add."""
        self.done = False
        self.cancelled = False
        self.result: object = None
        self.error: BaseException | None = None
        self._go = threading.Semaphore(0)
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = "done" if self.done else f"next at {self.wake.isoformat()}"
        return f"Task({self.name!r}, {state})"


class TaskScheduler:
    """Tasks that overlap in simulated time on one `SimulatedClock`, run one at a time, in time order.

    A discrete-event scheduler whose events are the tasks' next instants: `run_due` resumes every task due
    at the clock's time, earliest first (ties in the order they became due), each until it waits again
    (`wait`, which `SimulatedClock.sleep` calls from a task) or returns. The owner moves the clock between
    two `run_due` calls (to `next_wake()` or to its own next event), so time never goes backwards and a
    run repeats exactly. Tasks are threads only to be able to stop in the middle of ordinary blocking
    code: exactly one thread (a task or the owner) runs at any moment, handing over through semaphores.

    `enter` and `leave` (per task) run on the owner's thread just before the task resumes and just after
    it stops: the place to swap whatever process-wide state the task must see as its own.
    """

    def __init__(self, clock: SimulatedClock) -> None:
        if clock._tasks is not None:
            raise ValueError("this clock already has a task scheduler")
        clock._tasks = self
        self.clock = clock
        self._parked: list[tuple[datetime, int, Task]] = []
        self._order = itertools.count()
        self._running: Task | None = None
        self._back = threading.Semaphore(0)
        self._closed = False

    # --- the owner's side ----------------------------------------------------------------------------

    def spawn(
        self,
        name: str,
        fn: Callable[[], object],
        *,
        enter: Callable[[], None] | None = None,
        leave: Callable[[], None] | None = None,
    ) -> Task:
        """A new task, due now: `fn` starts at the next `run_due`. Its return value or exception ends up
        in `result` or `error` (never raised on the owner's thread)."""
        if self._closed:
            raise RuntimeError("the task scheduler is closed")
        task = Task(name, self.clock.now(), enter, leave)
        task._thread = threading.Thread(target=self._body, args=(task, fn), name=f"task {name}", daemon=True)
        task._thread.start()
        heapq.heappush(self._parked, (task.wake, next(self._order), task))
        return task

    @property
    def pending(self) -> int:
        """Tasks not finished yet."""
        return len(self._parked)

    def next_wake(self) -> datetime | None:
        """When the earliest task runs next (None: no task is pending)."""
        return self._parked[0][0] if self._parked else None

    def run_due(self) -> list[Task]:
        """Resume every task due at the clock's time, earliest first, each until it waits again or ends;
        returns the tasks that ended, in the order they did."""
        finished: list[Task] = []
        while self._parked and self._parked[0][0] <= self.clock.now():
            _, _, task = heapq.heappop(self._parked)
            self._resume(task)
            if task.done:
                finished.append(task)
            else:
                heapq.heappush(self._parked, (task.wake, next(self._order), task))
        return finished

    def close(self) -> None:
        """Cancel every pending task (`TaskCancelled` is raised where it waits), wait for their threads to
        end, and detach from the clock. Idempotent."""
        self._closed = True
        while self._parked:
            _, _, task = heapq.heappop(self._parked)
            task.cancelled = True
            while not task.done:  # a task that catches TaskCancelled and waits again gets it again
                self._resume(task, move_clock=False)
            if task._thread is not None:
                task._thread.join()
        if self.clock._tasks is self:
            self.clock._tasks = None

    def _resume(self, task: Task, *, move_clock: bool = True) -> None:
        if move_clock:
            self.clock.advance_to(task.wake)
        if task.enter is not None:
            task.enter()
        self._running = task
        try:
            task._go.release()
            self._back.acquire()
        finally:
            self._running = None
            if task.leave is not None:
                task.leave()

    def _body(self, task: Task, fn: Callable[[], object]) -> None:
        task._go.acquire()
        try:
            if task.cancelled:
                raise TaskCancelled(task.name)
            task.result = fn()
        except BaseException as error:  # handed to the owner, which decides
            task.error = error
        finally:
            task.done = True
            self._back.release()

    # --- a task's side -------------------------------------------------------------------------------

    def current(self) -> Task | None:
        """The task calling this, or None when called from outside the scheduler's tasks."""
        task = self._running
        if task is not None and task._thread is threading.current_thread():
            return task
        return None

    def wait(self, seconds: float) -> None:
        """From a task: let `seconds` of simulated time pass for it while the other tasks (and the owner's
        events) run; returns with the clock `seconds` later than when called (or later still, if the owner
        moved the clock past the task's time meanwhile)."""
        task = self._require_task()
        task.wake = self.clock.now() + timedelta(seconds=max(0.0, seconds))
        self._back.release()
        task._go.acquire()
        if task.cancelled:
            raise TaskCancelled(task.name)

    def in_flight(self, seconds: float) -> None:
        """From a task about to make a request that takes `seconds` (a simulated API's latency, which the
        simulator charges with `SimulatedClock.advance`): wait them out now, letting the others run, and
        let the task's next `advance` calls not add them again (see `unpaid`, `settle`). Outside a task,
        it does nothing."""
        task = self.current()
        if seconds <= 0 or task is None:
            return  # outside a task, the simulator's `advance` charges the latency as it always did
        self.wait(seconds)
        task.prepaid += seconds

    def settle(self) -> None:
        """From a task whose request is done: forget what `in_flight` prepaid and `advance` did not use."""
        task = self.current()
        if task is not None:
            task.prepaid = 0.0

    def unpaid(self, seconds: float) -> float:
        """What `advance(seconds)` still has to add to the clock: less what the calling task prepaid."""
        task = self.current()
        if task is None or task.prepaid <= 0:
            return seconds
        used = min(seconds, task.prepaid)
        task.prepaid -= used
        return seconds - used

    def _require_task(self) -> Task:
        task = self.current()
        if task is None:
            raise RuntimeError("only a task of this scheduler can wait on it")
        return task
