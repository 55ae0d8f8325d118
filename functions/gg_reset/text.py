"""Counted nouns for what gg-reset prints and records (the CLI, the demo, the janitor's run summaries,
selection reasons): `plural(1, "group")` is "1 group", never "1 groups" or "1 group(s)". Standard library
only: the Lambdas use it too."""

from __future__ import annotations

from typing import Final

_IRREGULAR: Final = {"redelivery": "redeliveries", "entry": "entries", "was": "were", "is": "are"}


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """`singular` for a count of 1 (or -1), else `plural` (default: `singular` + "s", or a known form)."""
    if abs(count) == 1:
        return singular
    return plural or _IRREGULAR.get(singular, f"{singular}s")


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """`count` and its noun: 1 group, 2 groups, 0 groups; `plural` for irregular nouns."""
    return f"{count} {noun(count, singular, plural)}"
