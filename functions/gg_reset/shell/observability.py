"""Powertools Logger, Metrics and (when enabled) Tracer, set up once for every handler.

Service name, log level and metrics namespace come from the environment (POWERTOOLS_SERVICE_NAME,
POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE), which the stack sets; the defaults below are for
local runs.

Tracing is opt-in (`gg-reset:tracing`): the stack sets POWERTOOLS_TRACE_DISABLED=true unless it is on.
Powertools' Tracer imports the X-Ray SDK when it is constructed, even disabled, and that import alone
costs a cold start more than boto3 does; so with tracing off no Tracer is built and `tracer`'s decorators
return the function unchanged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from gg_reset.settings import METRICS_NAMESPACE, SERVICE_NAME

# Read, never written: setting them here would leak into the environment of whoever imports gg-reset
# (a test suite embedding the local runtime, say).
_service = os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE_NAME
_namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or METRICS_NAMESPACE

F = TypeVar("F", bound=Callable[..., Any])


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether X-Ray tracing is on: in a Lambda (as Powertools decides it), unless disabled."""
    disabled = environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true")
    return not disabled and bool(environ.get("AWS_LAMBDA_FUNCTION_NAME"))


class _Tracing:
    """The two Tracer decorators the handlers use, backed by Powertools' Tracer only when tracing is on."""

    def __init__(self, service: str, enabled: bool) -> None:
        self._tracer: Any = None
        if enabled:
            from aws_lambda_powertools import Tracer  # imports the X-Ray SDK: only when tracing

            self._tracer = Tracer(service=service)

    def capture_lambda_handler(self, handler: F) -> F:
        return handler if self._tracer is None else self._tracer.capture_lambda_handler(handler)

    def capture_method(self, method: F) -> F:
        return method if self._tracer is None else self._tracer.capture_method(method)


logger = Logger(service=_service)
tracer = _Tracing(_service, tracing_enabled())
metrics = Metrics(service=_service, namespace=_namespace)

PACKAGE_LOGGER = "gg_reset"
# The shell's modules log through stdlib loggers under `gg_reset` (they also run outside Lambda); give
# that parent the Powertools handler, so every line is the same structured JSON with the same keys.
logging.getLogger(PACKAGE_LOGGER)
copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE_LOGGER})
