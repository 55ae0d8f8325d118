"""Builds the `ResetService` a Lambda uses, once per execution environment.

The local runtime and tests install their own service with `install()`, so the handlers run unchanged
against the simulator, moto or fakes.
"""

from __future__ import annotations

from datetime import timedelta

import boto3

from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger
from gg_reset.adapters.greengrass import Boto3Greengrass, make_greengrass_client
from gg_reset.adapters.notifier import LogNotifier, SnsNotifier
from gg_reset.adapters.telemetry import PowertoolsTelemetry
from gg_reset.adapters.timers import SqsTimers
from gg_reset.budget import RequestBudget
from gg_reset.observability import metrics
from gg_reset.ports import SystemClock
from gg_reset.service import Notifier, ResetService
from gg_reset.settings import Settings

_service: ResetService | None = None


def build_service(settings: Settings, session: boto3.Session | None = None) -> ResetService:
    session = session or boto3.Session()
    notifier: Notifier = (
        SnsNotifier(session.client("sns"), settings.topic_arn) if settings.topic_arn else LogNotifier()
    )
    clock = SystemClock()
    return ResetService(
        ledger=DynamoDBLedger(
            session.client("dynamodb"),
            settings.table_name,
            retention=timedelta(seconds=settings.policy.retention_s),
        ),
        greengrass=Boto3Greengrass(make_greengrass_client(session)),
        notifier=notifier,
        clock=clock,
        policy=settings.policy,
        telemetry=PowertoolsTelemetry(metrics),
        budget=RequestBudget(settings.invocation_rps, clock),
        timers=SqsTimers(session.client("sqs"), settings.work_queue_url, clock)
        if settings.work_queue_url
        else None,
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
