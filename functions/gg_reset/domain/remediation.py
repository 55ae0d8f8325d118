"""Which remediation a group gets when one of its deployments fails: the `gg-reset:on-failure` tag.

`reset` (reset its deployments, the default), `rollback` (redeploy the last deployment that worked) or
`notify` (record and notify only). A group without the tag gets the stack-wide default
(`WorkflowPolicy.remediation_default`); a value that is none of these gets the default too, and the
workflow's history says so, so a typo never silently means "reset".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from gg_reset.domain.enums import RemediationPolicy

ON_FAILURE_TAG: Final = "gg-reset:on-failure"
FALLBACKS: Final = (RemediationPolicy.NOTIFY, RemediationPolicy.RESET)
"""What a roll back may fall back to (a roll back falling back to a roll back would loop). A tuple, so
messages that list them read the same in every run (a set's order changes with the hash seed)."""


def chosen_remediation(tags: Mapping[str, str], default: RemediationPolicy) -> tuple[RemediationPolicy, str]:
    """The group's remediation policy and how it was chosen, for the workflow's history."""
    raw = tags.get(ON_FAILURE_TAG)
    if raw is None:
        return default, f"on-failure={default} (the default: no {ON_FAILURE_TAG} tag)"
    value = raw.strip().lower()
    try:
        policy = RemediationPolicy(value)
    except ValueError:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        known = "|".join(p.value for p in RemediationPolicy)
        return default, f"on-failure={default} (the default: tag {ON_FAILURE_TAG}={shown!r} is not {known})"
    return policy, f"on-failure={policy} (tag {ON_FAILURE_TAG})"
