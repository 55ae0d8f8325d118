"""Powertools Logger, Tracer and Metrics, set up once for every handler.

Service name, log level and metrics namespace come from the environment (POWERTOOLS_SERVICE_NAME,
POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE), which the stack sets; the defaults below are for
local runs.
"""

from __future__ import annotations

import logging
import os
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from gg_reset.settings import METRICS_NAMESPACE, SERVICE_NAME

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)

logger = Logger()
tracer = Tracer()
metrics = Metrics()

PACKAGE_LOGGER = "gg_reset"
# The shell's modules log through stdlib loggers under `gg_reset` (they also run outside Lambda); give
# that parent the Powertools handler, so every line is the same structured JSON with the same keys.
logging.getLogger(PACKAGE_LOGGER)
copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE_LOGGER})

# A sweep or a batch with nothing to count is normal; Powertools would warn on every such invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
