"""`gg-reset request`: which groups, the PutEvents entries, and following the outcomes in the ledger."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from gg_reset.cli.errors import CliError
from gg_reset.cli.ledger import LedgerQueries
from gg_reset.domain.model import Workflow, WorkflowState

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
            raise CliError(f"cannot read group ids from {name}: {exc.strerror or exc}") from None
        candidates.extend(id_lines(text, name))
    if read_stdin:
        candidates.extend(id_lines(stdin.read(), "stdin"))
    for value, where in candidates:
        if not GROUP_ID.fullmatch(value):
            raise CliError(
                f"invalid group id {value!r} ({where}): a Greengrass group id is 1-128 letters, digits, "
                "'_', '.', ':' or '-'; nothing was sent"
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
