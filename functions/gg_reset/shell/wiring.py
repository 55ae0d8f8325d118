"""Builds the `ResetService` (worker, sweeper) and the `Janitor` a Lambda uses, once per execution
environment.

The local runtime and tests install their own with `install()` and `install_janitor()`, so the handlers run
unchanged against the simulator, moto or fakes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import boto3

from gg_reset.adapters.connectivity import FleetIndexConnectivity
from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger
from gg_reset.adapters.greengrass import Boto3Greengrass, make_greengrass_client
from gg_reset.adapters.notifier import LogNotifier, SnsNotifier
from gg_reset.adapters.teardown import Boto3CoreDevices, Boto3Teardown
from gg_reset.adapters.telemetry import PowertoolsTelemetry
from gg_reset.adapters.timers import SqsTimers
from gg_reset.ports import Notifier, SystemClock
from gg_reset.settings import JANITOR_CALLS_PER_REQUEST, SEARCH_INDEX_RPS, Settings
from gg_reset.shell.budget import RequestBudget, pacing
from gg_reset.shell.observability import metrics
from gg_reset.shell.service import ResetService

if TYPE_CHECKING:
    from gg_reset.cleanup.janitor import Janitor

_service: ResetService | None = None
_janitor: Janitor | None = None


def build_service(settings: Settings, session: boto3.Session | None = None) -> ResetService:
    session = session or boto3.Session()
    notifier: Notifier = (
        SnsNotifier(session.client("sns"), settings.topic_arn) if settings.topic_arn else LogNotifier()
    )
    clock = SystemClock()
    things = settings.policy.things_teardown
    greengrass = make_greengrass_client(session)
    teardown = Boto3Teardown(
        greengrass,
        clock=clock,
        iot=(lambda: session.client("iot")) if things else None,
        core_devices=(lambda: Boto3CoreDevices(session.client("greengrassv2"))) if things else None,
    )
    connectivity = (
        FleetIndexConnectivity(
            teardown,
            lambda: session.client("iot"),
            search_pace=pacing(RequestBudget(SEARCH_INDEX_RPS, clock), clock),
        )
        if settings.policy.force_when_disconnected_for_s is not None
        else None
    )
    return ResetService(
        ledger=DynamoDBLedger(
            session.client("dynamodb"),
            settings.table_name,
            retention=timedelta(seconds=settings.policy.retention_s),
        ),
        greengrass=Boto3Greengrass(greengrass),
        notifier=notifier,
        clock=clock,
        policy=settings.policy,
        telemetry=PowertoolsTelemetry(metrics),
        budget=RequestBudget(settings.invocation_rps, clock),
        timers=SqsTimers(session.client("sqs"), settings.work_queue_url, clock)
        if settings.work_queue_url
        else None,
        teardown=teardown,
        connectivity=connectivity,
    )


def service() -> ResetService:
    global _service
    if _service is None:
        _service = build_service(Settings.from_env())
    return _service


def install(replacement: ResetService | None) -> None:
    """Use `replacement` in the handlers (None: build from the environment on next use)."""
    global _service
    _service = replacement


def build_janitor(settings: Settings, session: boto3.Session | None = None) -> Janitor:
    """The janitor's adapters: Greengrass (reads only), the service bus, the ledger, the topic.

    Pacing: the janitor is one more invocation that may call Greengrass at once (the stack counts it in
    `greengrass_callers` when it is enabled), so its reads take one equal share of the budget; it sends at
    most `greengrass_rps / JANITOR_CALLS_PER_REQUEST` requests per second, the pace at which the workers
    can carry them out within the budget."""
    # Imported here: the worker and sweeper build no janitor, and their cold start should not pay for it.
    from gg_reset.adapters.janitor_ledger import DynamoDBJanitorLedger
    from gg_reset.adapters.requests import EventBridgeRequests
    from gg_reset.cleanup.janitor import Janitor

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
        # Reads only (the core thing, Greengrass V2's core devices, a dry run's teardown preview); the
        # Greengrass V2 client is made on first use, by a `migrated` selection.
        migration=Boto3Teardown(
            greengrass,
            clock=clock,
            core_devices=lambda: Boto3CoreDevices(session.client("greengrassv2")),
        ),
    )


def janitor() -> Janitor:
    global _janitor
    if _janitor is None:
        _janitor = build_janitor(Settings.from_env())
    return _janitor


def install_janitor(replacement: Janitor | None) -> None:
    """Use `replacement` in the janitor handler (None: build from the environment on next use)."""
    global _janitor
    _janitor = replacement
