"""Builds the `Janitor` the janitor Lambda uses, once per execution environment.

Apart from `wiring` (the worker's and the sweeper's `ResetService`): the janitor runs no workflow, and its
cold start should not load one. The local runtime and tests install their own with `install_janitor()`.
"""

from __future__ import annotations

from datetime import timedelta

import boto3

from gg_reset.adapters.greengrass import Boto3Greengrass, make_greengrass_client
from gg_reset.adapters.janitor_ledger import DynamoDBJanitorLedger
from gg_reset.adapters.notifier import LogNotifier, SnsNotifier
from gg_reset.adapters.on_first_use import TeardownOnFirstUse
from gg_reset.adapters.requests import EventBridgeRequests
from gg_reset.cleanup.janitor import Janitor
from gg_reset.ports import SystemClock
from gg_reset.settings import JANITOR_CALLS_PER_REQUEST, Settings
from gg_reset.shell.budget import RequestBudget
from gg_reset.shell.per_environment import PerEnvironment


def build_janitor(settings: Settings, session: boto3.Session | None = None) -> Janitor:
    """The janitor's adapters: Greengrass (reads only), the service bus, the ledger, the topic.

    Pacing: the janitor is one more invocation that may call Greengrass at once (the stack counts it in
    `greengrass_callers` when it is enabled), so its reads take one equal share of the budget; it sends at
    most `greengrass_rps / JANITOR_CALLS_PER_REQUEST` requests per second, the pace at which the workers
    can carry them out within the budget."""
    session = session or boto3.Session()
    clock = SystemClock()
    greengrass = make_greengrass_client(session)
    return Janitor(
        greengrass=Boto3Greengrass(greengrass),
        requests=EventBridgeRequests(session.client("events")),
        ledger=DynamoDBJanitorLedger(
            session.client("dynamodb"),
            settings.table_name,
            retention=timedelta(seconds=settings.policy.retention_s),
        ),
        notifier=SnsNotifier(session.client("sns"), settings.topic_arn)
        if settings.topic_arn
        else LogNotifier(),
        clock=clock,
        safety=settings.policy.safety,
        bus_name=settings.bus_name,
        read_budget=RequestBudget(settings.invocation_rps, clock),
        send_rps=settings.greengrass_rps / JANITOR_CALLS_PER_REQUEST,
        # Reads only (the core thing, Greengrass V2's core devices, a dry run's teardown preview), by a
        # `migrated` selection or a dry run's preview only: built then.
        migration=TeardownOnFirstUse.reads_only(greengrass, clock, lambda: session.client("greengrassv2")),
    )


_janitor: PerEnvironment[Janitor] = PerEnvironment(lambda: build_janitor(Settings.from_env()))


def janitor() -> Janitor:
    return _janitor.get()


def install_janitor(replacement: Janitor | None) -> None:
    """Use `replacement` in the handlers (None: build from the environment on next use)."""
    _janitor.install(replacement)
