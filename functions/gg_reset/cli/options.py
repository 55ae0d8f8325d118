"""The options several `gg-reset` commands share (where to send and read, how to print), and the AWS target
they make."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final

import typer

from gg_reset.cli.aws import AwsOptions, AwsTarget
from gg_reset.cli.errors import CliError

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
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help='Print JSON (plain, for scripts), errors included ({"error": ..., "hint": ...}).'
    ),
]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV with a header row.")]
TEARDOWN_HELP: Final = (
    "What a deletion removes: group (DeleteGroup only), definitions (also the definitions the group's "
    "versions reference, unless another group uses them), things (also the core's AWS IoT certificate and "
    "thing, unless something else uses them; the stack must enable it). Default: the deployment's."
)


def target(
    profile: str | None = None,
    region: str | None = None,
    stack: str | None = None,
    bus: str | None = None,
    table: str | None = None,
) -> AwsTarget:
    return AwsTarget(AwsOptions(profile=profile, region=region, stack=stack, bus=bus, table=table))


def now() -> datetime:
    return datetime.now(UTC)


def check_group_id(group_id: str) -> str:
    from gg_reset.cli.requests import GROUP_ID

    if not GROUP_ID.fullmatch(group_id):
        raise CliError(
            f"invalid group id {group_id!r}",
            hint="a Greengrass group id is 1-128 letters, digits, '_', '.', ':' or '-'",
        )
    return group_id
