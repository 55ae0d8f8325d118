"""The safety layers every request passes, whoever sent it (a person, a pipeline, the janitor).

Checked when the group is inspected and again at every re-check before a write, so a group that became
protected or denied while its workflow waited is still left alone:

1. the account guard: the deployment acts only in the accounts it is configured for (in the spirit of
   aws-nuke's account checks: a stack copied into the wrong account refuses to act);
2. the deny list: group ids or names matching one of its patterns are never touched (deny wins);
3. the allow list: when it is set, only groups matching one of its patterns are touched;
4. the protection tag `gg-reset:protect=true` on the group.

The IAM Deny on protected groups in the stack is a fifth, independent layer outside this code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

PROTECT_TAG = ("gg-reset:protect", "true")


def is_protected(tags: Mapping[str, str]) -> bool:
    key, value = PROTECT_TAG
    return tags.get(key, "").strip().lower() == value


def _matching(patterns: tuple[str, ...], group_id: str, name: str | None) -> str | None:
    """The first pattern matching the group's id or its name (shell-style globs, case-sensitive)."""
    for pattern in patterns:
        if fnmatchcase(group_id, pattern) or (name is not None and fnmatchcase(name, pattern)):
            return pattern
    return None


@dataclass(frozen=True, slots=True)
class SafetyRules:
    allow: tuple[str, ...] = ()
    """Group id or name patterns gg-reset may act on; empty: every group."""
    deny: tuple[str, ...] = ()
    """Group id or name patterns gg-reset must never act on; wins over `allow`."""
    accounts: tuple[str, ...] = ()
    """AWS account ids this deployment may act in; empty: no account guard."""
    account: str | None = None
    """The account this deployment runs in."""

    def refusal(self, group_id: str, name: str | None, tags: Mapping[str, str]) -> str | None:
        """Why the group must not be touched, or None."""
        if self.accounts and self.account not in self.accounts:
            allowed = ", ".join(self.accounts)
            return f"account guard: this deployment acts only in account(s) {allowed}, not in {self.account}"
        denied = _matching(self.deny, group_id, name)
        if denied is not None:
            return f"group matches the deny list ({denied!r})"
        if self.allow and _matching(self.allow, group_id, name) is None:
            return "group is not on the allow list"
        if is_protected(tags):
            key, value = PROTECT_TAG
            return f"group is protected by tag {key}={value}"
        return None
