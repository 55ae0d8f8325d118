"""Where the `gg-reset` CLI sends and reads: an AWS session and the deployed stack's bus and table.

`--stack NAME` resolves the bus and the table from the stack's outputs (`EventBusName`,
`LedgerTableName`); `--bus` and `--table` override them; `--profile` and `--region` work as in the AWS
CLI (`boto3.Session(profile_name=..., region_name=...)`, then AWS_REGION, AWS_DEFAULT_REGION and the
profile's region).
Without `--stack`, the bus is `gg-reset` (the name every deployment gives it) and the table comes from the
default stack `GgReset`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config

from gg_reset.cli.errors import CliError, Resources
from gg_reset.settings import DEFAULT_BUS_NAME

if TYPE_CHECKING:
    from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger
    from gg_reset.adapters.on_first_use import TeardownOnFirstUse
    from gg_reset.ports import GreengrassPort

DEFAULT_STACK_NAME: Final = "GgReset"
"""`gg-reset:stackName`'s default."""
BUS_OUTPUT: Final = "EventBusName"
TABLE_OUTPUT: Final = "LedgerTableName"

_CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30
)

current: ContextVar[AwsTarget | None] = ContextVar("gg_reset_cli_target", default=None)
"""The target of the command running now, so an error can name the bus, table or stack it was about."""


@dataclass(frozen=True, slots=True)
class AwsOptions:
    profile: str | None = None
    region: str | None = None
    stack: str | None = None
    bus: str | None = None
    table: str | None = None


class AwsTarget:
    """One command's AWS session and resolved resources (stack outputs are read once, when needed)."""

    def __init__(self, options: AwsOptions) -> None:
        self.options = options
        self._bus: str | None = options.bus
        self._table: str | None = options.table
        self._stack_read: str | None = None
        current.set(self)

    @cached_property
    def session(self) -> boto3.Session:
        # Like the AWS CLI, AWS_REGION wins over a profile's region (boto3 itself reads only
        # AWS_DEFAULT_REGION and the profile).
        region = self.options.region or os.environ.get("AWS_REGION") or None
        return boto3.Session(profile_name=self.options.profile, region_name=region)

    def client(self, service: str) -> Any:
        return self.session.client(service, config=_CLIENT_CONFIG)  # type: ignore[call-overload]

    def resources(self) -> Resources:
        """What is known so far (never calls AWS: used to explain an error)."""
        region: str | None
        try:
            region = self.session.region_name
        except Exception:  # a missing profile: the region is unknown too
            region = self.options.region
        return Resources(
            region=region,
            profile=self.options.profile,
            stack=self._stack_read or self.options.stack,
            bus=self._bus,
            table=self._table,
        )

    @cached_property
    def _outputs(self) -> Mapping[str, str]:
        stack = self.options.stack or DEFAULT_STACK_NAME
        self._stack_read = stack
        response = self.client("cloudformation").describe_stacks(StackName=stack)
        stacks = response.get("Stacks", [])
        if not stacks:
            raise CliError(f"stack {stack!r} not found: pass --stack with the name of your gg-reset stack")
        return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", []) if "OutputKey" in o}

    def _output(self, key: str, override: str) -> str:
        outputs = self._outputs
        if key not in outputs:
            raise CliError(
                f"stack {self._stack_read!r} has no {key} output: is it a gg-reset stack? "
                f"pass --stack NAME, or {override} NAME"
            )
        return outputs[key]

    def bus_name(self) -> str:
        if self._bus is None:
            self._bus = self._output(BUS_OUTPUT, "--bus") if self.options.stack else DEFAULT_BUS_NAME
        return self._bus

    def table_name(self) -> str:
        if self._table is None:
            self._table = self._output(TABLE_OUTPUT, "--table")
        return self._table

    def events(self) -> Any:
        return self.client("events")

    def ledger(self) -> DynamoDBLedger:
        from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger

        # The CLI only reads: the retention (for writes' TTLs) is never used.
        return DynamoDBLedger(self.client("dynamodb"), self.table_name(), retention=timedelta(days=1))

    def migration(self) -> TeardownOnFirstUse:
        """The group versions' and Greengrass V2's reads (`migrated`, the teardown preview), as the janitor
        makes them."""
        from gg_reset.adapters.greengrass import make_greengrass_client
        from gg_reset.adapters.on_first_use import TeardownOnFirstUse
        from gg_reset.ports import SystemClock

        return TeardownOnFirstUse.reads_only(
            make_greengrass_client(self.session), SystemClock(), lambda: self.client("greengrassv2")
        )

    def greengrass(self) -> GreengrassPort:
        from gg_reset.adapters.greengrass import Boto3Greengrass, make_greengrass_client

        return Boto3Greengrass(make_greengrass_client(self.session))
