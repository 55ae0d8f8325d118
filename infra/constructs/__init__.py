"""The building blocks of `GgResetStack`, one concern each."""

from infra.constructs.event_intake import EventIntake
from infra.constructs.janitor import Janitor
from infra.constructs.ledger import Ledger
from infra.constructs.monitoring import Monitoring
from infra.constructs.notifications import Notifications
from infra.constructs.reset_functions import ResetFunctions

__all__ = ["EventIntake", "Janitor", "Ledger", "Monitoring", "Notifications", "ResetFunctions"]
