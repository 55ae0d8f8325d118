"""Timing and limits of the workflow. Defaults are what a platform team would pick; all are configurable."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from gg_reset.domain.enums import RemediationPolicy
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.remediation import FALLBACKS
from gg_reset.domain.safety import SafetyRules
from gg_reset.domain.teardown import Teardown


@dataclass(frozen=True, slots=True)
class WorkflowPolicy:
    reset_timeout_s: int = 600
    """How long a normal reset may stay unanswered (or blocked by a running deployment) before Force."""
    force_timeout_s: int = 600
    """How long a forced reset may take before the request ends FAILED."""
    protection_freshness_s: int = 60
    """A protection check (the group's tags) older than this is read again before a Greengrass write:
    a reset delayed by throttling or a running deployment, a forced reset, a deletion."""
    busy_retry_s: int = 30
    """Wait before retrying a reset refused because another deployment is Building/InProgress."""
    max_transient_attempts: int = 6
    """5xx and timeouts on one step are retried this many times (exponential backoff), then FAILED."""
    max_throttled_attempts: int = 30
    """Throttling is expected during bulk cleanups: with backoff capped at `backoff_cap_s`, 30 attempts
    keep a step trying for over an hour before it ends FAILED."""
    max_unknown_attempts: int = 3
    """An error nobody recognises is retried this many times, then FAILED with the error."""
    # Each kind of error counts against its own budget (`Workflow.failures`): five 429s and a 5xx are five
    # of 30 and one of 6, not six of 6.
    backoff_base_s: int = 5
    backoff_cap_s: int = 300
    remediation_cap: int = 3
    """At most this many remediations of one group's failed deployments within `remediation_window_s`."""
    remediation_window_s: int = 86_400
    remediation_default: RemediationPolicy = RemediationPolicy.RESET
    """The remediation of a group without a valid `gg-reset:on-failure` tag."""
    rollback_fallback: RemediationPolicy = RemediationPolicy.NOTIFY
    """What a roll back falls back to when there is no good deployment to go back to, or the redeployment
    fails: `notify` (the safe answer for the production fleets that choose roll back) or `reset`."""
    rollback_timeout_s: int = 600
    """How long a redeployment may take before it counts as failed (and the fallback takes over)."""
    rollback_max_checked: int = 20
    """At most this many earlier deployments' statuses are read to find the last one that worked."""
    force_when_disconnected_for_s: int | None = None
    """With a connectivity source (AWS IoT fleet indexing): a normal reset whose core has been disconnected
    for longer than this is escalated to Force at once, instead of at `reset_timeout_s`. None: no source."""
    connectivity_check_after_s: int = 30
    """How long a normal reset waits for its Success before the connectivity source is asked: an answering
    core succeeds well within it (the simulated ones in 6 s), so only silent cores cost the lookup."""
    teardown_default: Teardown = Teardown.GROUP
    """What a deletion removes when its request does not say (`gg-reset:teardown`)."""
    things_teardown: bool = False
    """Whether a deletion may remove the core's AWS IoT certificate and thing (`teardown=things`): the
    stack grants the IoT calls only then (`gg-reset:thingsTeardown`)."""
    retention_s: int = 90 * 86_400
    """Finished workflows and their history expire (DynamoDB TTL) this long after they end."""
    own_deployments_kept: int = 100
    """How many deployment ids gg-reset created a group remembers, so their late news is never remediated
    (at most `remediation_cap` remediations a day, each with a handful of deployments: months of them)."""
    recent_request_ids: int = 50
    """How many request ids a group remembers to recognise replays."""
    safety: SafetyRules = SafetyRules()  # noqa: RUF009 - frozen, so one shared default is safe
    """Account guard, deny and allow lists (the protection tag is always checked)."""

    def __post_init__(self) -> None:
        if self.rollback_fallback not in FALLBACKS:
            raise ValueError(
                f"rollback_fallback must be one of {', '.join(sorted(FALLBACKS))}, "
                f"got {self.rollback_fallback}"
            )
        if not self.teardown_default.at_most(self.teardown_ceiling):
            raise ValueError(
                f"teardown_default={self.teardown_default} needs things_teardown (the IoT calls it makes)"
            )

    @property
    def teardown_ceiling(self) -> Teardown:
        """The most a deletion may remove on this deployment."""
        return Teardown.THINGS if self.things_teardown else Teardown.DEFINITIONS

    def attempt_limit(self, kind: ErrorKind) -> int:
        """How many attempts a step gets while it keeps failing with errors of this kind."""
        match kind:
            case ErrorKind.THROTTLED:
                return self.max_throttled_attempts
            case ErrorKind.SERVER_ERROR:
                return self.max_transient_attempts
        return self.max_unknown_attempts

    def spread_s(self, key: str, window_s: int) -> int:
        """A whole number of seconds in [1, window_s], fixed by `key`: spreads retries of many groups."""
        digest = hashlib.sha256(f"spread:{key}".encode()).digest()
        return 1 + int.from_bytes(digest[:4], "big") % max(1, window_s)

    def backoff_s(self, attempt: int, key: str = "") -> int:
        """Delay before retry number `attempt` (1-based) of a failing step, with jitter.

        Exponential up to the cap, then scaled into [50 %, 100 %] by a hash of `key` (the workflow id) and
        the attempt: deterministic, so the workflow stays a pure function, yet spread out, so a thousand
        groups throttled at the same moment do not all come back at the same moment.
        """
        ceiling = min(self.backoff_cap_s, self.backoff_base_s << max(0, attempt - 1))
        digest = hashlib.sha256(f"{key}:{attempt}".encode()).digest()
        fraction = int.from_bytes(digest[:4], "big") / 2**32
        return max(1, round(ceiling * (0.5 + fraction / 2)))
