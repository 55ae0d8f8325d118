"""A simulated fleet's mix of group kinds: `online=3,offline=1` parsed into weights, and a fleet of N kinds
in those proportions. Shared by `gg-reset demo` and `gg-reset simulate`, which differ only in their kinds."""

from __future__ import annotations

import random
from collections.abc import Mapping


def parse_mix(text: str | None, default: Mapping[str, int]) -> dict[str, int]:
    """`online=3,offline=1` -> weights (a bare kind weighs 1); `default` when no text. The known kinds are
    `default`'s; an unknown kind or a bad weight is a `ValueError` whose message lists them."""
    if not text:
        return dict(default)
    mix: dict[str, int] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in default:
            raise ValueError(f"unknown group kind {name!r} in --mix; choose from {', '.join(default)}")
        try:
            mix[name] = int(weight) if weight.strip() else 1
        except ValueError:
            raise ValueError(f"weight of {name!r} in --mix must be a whole number, got {weight!r}") from None
        if mix[name] < 0:
            raise ValueError(f"weight of {name!r} in --mix must not be negative")
    if not any(mix.values()):
        raise ValueError("--mix gives every kind a weight of 0")
    return mix


def fleet_kinds(groups: int, mix: Mapping[str, int], rng: random.Random) -> list[str]:
    """`groups` kinds in the proportions of `mix` (largest remainder), in a seeded random order."""
    total = sum(mix.values())
    exact = {k: groups * w / total for k, w in mix.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[: groups - sum(counts.values())]:
        counts[k] += 1
    kinds = [k for k, n in counts.items() for _ in range(n)]
    rng.shuffle(kinds)
    return kinds
