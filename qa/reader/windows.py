"""Passages the reader reads: windows of whole sentences around a sentence, within a budget of
characters. Shared by training (qa/reader/examples.py draws them at random) and serving
(qa/answer/read.py grows them deterministically), so both see the same shape of passage."""

from __future__ import annotations

import random


def grow(spans: list[tuple[int, int]], lo: int, hi: int, budget: int, rng: random.Random | None = None) -> tuple[int, int]:
    """Sentences ``lo..hi`` widened by whole neighbouring sentences while the window stays within
    ``budget`` characters: before and after in turn, starting before (that sentence often holds
    what "it" or "there" refers to); with ``rng``, a random side each step."""
    turn = 0
    while True:
        sides = []
        if lo > 0 and spans[hi][1] - spans[lo - 1][0] <= budget:
            sides.append("before")
        if hi < len(spans) - 1 and spans[hi + 1][1] - spans[lo][0] <= budget:
            sides.append("after")
        if not sides:
            return lo, hi
        if rng is not None:
            side = rng.choice(sides)
        else:
            side = sides[0] if len(sides) == 1 else ("before", "after")[turn % 2]
            turn += 1
        if side == "before":
            lo -= 1
        else:
            hi += 1
