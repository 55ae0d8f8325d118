"""What every `gg-reset` command prints with: readable on a terminal, plain and unwrapped when piped.

Tables (rich) on a terminal; `--json` and `--csv` for scripts; lines that are never wrapped when stdout is
not a terminal, whatever COLUMNS says (pytest-xdist and some shells export it).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gg_reset.cli.errors import EXIT_USAGE, CliError


def console_for(stream: IO[str]) -> Console:
    """A terminal gets rich's layout; anything else (a pipe, a file) gets lines that are never wrapped, even
    if COLUMNS is set (pytest-xdist and some shells export it)."""
    tty = stream.isatty()
    return Console(file=stream, soft_wrap=not tty, width=None if tty else 10_000, highlight=False)


def out() -> Console:
    return console_for(sys.stdout)


def err() -> Console:
    return console_for(sys.stderr)


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


def styled_table(title: str | None, *, padding: int | tuple[int, int] = (0, 1)) -> Table:
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


def table(columns: Sequence[str], rows: Iterable[Sequence[str]], title: str | None = None) -> Table:
    result = styled_table(title)
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*(Text(cell) for cell in row))  # Text: a reason's [brackets] are not markup
    return result


def when(iso: str | None) -> str:
    return iso.replace("T", " ").removesuffix("Z") if iso else ""


class Output(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def output_format(as_json: bool, as_csv: bool, default: Output = Output.table) -> Output:
    if as_json and as_csv:
        raise CliError("--json and --csv are exclusive", hint="choose one", exit_code=EXIT_USAGE)
    return Output.json if as_json else Output.csv if as_csv else default
