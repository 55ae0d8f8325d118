"""`gg-reset`: the operator CLI, against a deployed stack or the local runtime.

This module is the typer app and its wiring; each command lives with its helpers:

- `demo` (`cli/demo.py`): the whole service locally on a simulated fleet (needs `gg-reset[local]`).
- `plan` (`cli/plan.py`): what a selection of groups would get, per group, with reasons (reads Greengrass).
- `request reset|delete` (`cli/requests.py`): send requests (ids, a file or stdin, or a selection),
  optionally `--wait`.
- `list`, `show`, `report`, `janitor-runs` (`cli/ledger.py`): read the ledger.
- `simulate` (`cli/simulate.py`): the Greengrass simulator on a local endpoint.

Errors are one line on stderr and a non-zero exit (`CliGroup.main`); when the command line has `--json`,
they are one JSON object on stdout instead (`{"error": ..., "hint": ...}`, same exit code). With
`--json`/`--csv`, or when stdout is not a terminal, the output is plain and unwrapped. Not part of the
Lambda asset.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Final

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from gg_reset import __version__
from gg_reset.cli.aws import current
from gg_reset.cli.demo import demo
from gg_reset.cli.errors import EXIT_ERROR, EXIT_USAGE, CliError, Problem, Resources, diagnose
from gg_reset.cli.ledger import janitor_runs, list_command, report, show
from gg_reset.cli.plan import plan_command
from gg_reset.cli.requests import request
from gg_reset.cli.simulate import simulate

PROG: Final = "gg-reset"


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


def _report(problem: Problem, *, as_json: bool, line: str | None = None) -> None:
    """`problem` as the one line on stderr, or (`--json`) as one JSON object on stdout."""
    if as_json:
        sys.stdout.write(json.dumps(problem.as_json()) + "\n")
        sys.stdout.flush()
    else:
        error_line(line or problem.line)


def _json_requested(args: Iterable[str]) -> bool:
    """Whether the command line asks for JSON (`--json` before any `--`): then errors are JSON too, even
    those found while parsing it."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def _usage_problem(error: Exception) -> tuple[Problem, str]:
    """A usage error's problem and its one line (`... (see `gg-reset list --help`)`)."""
    message = str(error.format_message()) if hasattr(error, "format_message") else str(error)
    ctx = getattr(error, "ctx", None)
    subcommands = ctx.command_path.split()[1:] if ctx is not None else []
    see = f"see `{' '.join([PROG, *subcommands])} --help`"
    return Problem(message, see), f"{message} ({see})"


# --- help: flags as flags, lists by the name of one item -------------------------------------------------


class _NamedArgument(TyperArgument):
    """An argument whose metavar names it (`TERM`, `GROUP_ID`): no `<list[str]>` type beside it."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return super().display_type_rich(ctx) if self.type_descriptor.is_choice else None


def _plain_help(params: Iterable[Any]) -> None:
    """Help shows `--dry-run`, not `--dry-run <bool>`: this typer release prints a type beside every
    option, flags included, unless the option has a metavar. An option list declares its metavar
    (`--allow PATTERN`); a flag gets an empty one here, and an argument with a metavar no type."""
    for param in params:
        if isinstance(param, TyperOption) and (param.is_flag or param.count) and param.metavar is None:
            param.metavar = ""
        elif type(param) is TyperArgument and param.metavar is not None:
            param.__class__ = _NamedArgument


class CliGroup(TyperGroup):
    """Runs a command and turns whatever goes wrong into one line (or one JSON object) and an exit code."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        current.set(None)
        as_json = _json_requested(sys.argv[1:] if args is None else args)
        try:
            result = super().main(
                args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
            code = result if isinstance(result, int) else 0
        except CliError as error:
            _report(error.problem, as_json=as_json)
            code = error.exit_code
        except typer.Abort:
            _report(Problem("aborted"), as_json=as_json)
            code = EXIT_ERROR
        except BrokenPipeError:
            # `gg-reset list --csv | head`: the reader has gone. Say nothing more, and point stdout at
            # devnull so that flushing it at exit does not fail again (as the Python docs advise).
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = EXIT_ERROR
        except Exception as error:
            code = _handle(error, as_json=as_json)
        if standalone_mode:
            sys.exit(code)
        return code

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _plain_help(params)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _plain_help(command.get_params(ctx))
        return command


def _handle(error: Exception, *, as_json: bool) -> int:
    if isinstance(error, _CLICK_EXCEPTION):
        if type(error).__name__ == "NoArgsIsHelpError":
            sys.stderr.write(str(error.format_message()) + "\n")  # type: ignore[attr-defined]
            return EXIT_USAGE
        problem, line = _usage_problem(error)
        _report(problem, as_json=as_json, line=line)
        return int(getattr(error, "exit_code", EXIT_USAGE))
    target = current.get()
    explained = diagnose(error, target.resources() if target is not None else Resources())
    if explained is None:
        raise error
    _report(explained, as_json=as_json)
    return EXIT_ERROR


# --- the app -----------------------------------------------------------------------------------------------

app = typer.Typer(
    cls=CliGroup,
    help="Reset and clean up AWS IoT Greengrass V1 groups with a deployed gg-reset stack, or locally. "
    "Start with `gg-reset demo` (no AWS account needed).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"{PROG} {__version__}\n")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """The options before the command (`gg-reset --version`)."""


app.command()(demo)
app.command("plan")(plan_command)
app.command()(request)
app.command("list")(list_command)
app.command()(show)
app.command()(report)


def main() -> None:
    app()


app.command("simulate")(simulate)  # `gg-reset simulate`: gg_reset.cli.simulate
app.command("janitor-runs")(janitor_runs)
