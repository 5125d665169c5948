"""Scripted negotiators: baselines, default opponents and test fixtures."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from palaestra.envs.negotiation.rules import complement, format_items, points, split_matrix
from palaestra.envs.protocol import Observation
from palaestra.envs.scripted import ScriptedAgent


@lru_cache(maxsize=4096)
def _best_split(counts: tuple[int, ...], values: tuple[int, ...], floor: float) -> tuple[int, ...]:
    """The split that leaves the most items to the other side while worth >= floor to me.

    Ties go to the split worth more to me, then to the first in a fixed order, so the choice
    is deterministic.
    """
    splits = split_matrix(counts)
    worth = splits @ np.asarray(values)
    feasible = np.flatnonzero(worth >= floor)
    if feasible.size == 0:
        return tuple(counts)
    # lexsort: last key is primary -> fewest items, then most points, then split order.
    order = np.lexsort((feasible, -worth[feasible], splits[feasible].sum(axis=1)))
    return tuple(int(x) for x in splits[feasible[order[0]]])


class FairSplitter(ScriptedAgent):
    """Asks for about half of the pool's value to itself; accepts any offer worth >= 5."""

    key = "fair"

    def reply(self, obs: Observation) -> str:
        f = obs.facts
        standing = f["standing_offer"]
        if standing is not None and points(f["values"], standing) >= 5:
            return "That is fair to me. ACCEPT"
        take = _best_split(tuple(f["counts"]), tuple(f["values"]), 5)
        return f"Let us split it evenly.\nOFFER: {format_items(take)}"


class HardBargainer(ScriptedAgent):
    """Demands everything it values, then concedes one point per own move down to 6."""

    key = "hard"

    def reply(self, obs: Observation) -> str:
        f = obs.facts
        own_moves = f["turn"] // 2
        aspiration = max(6, 10 - own_moves)
        standing = f["standing_offer"]
        if standing is not None and points(f["values"], standing) >= aspiration:
            return "Fine. ACCEPT"
        take = _best_split(tuple(f["counts"]), tuple(f["values"]), aspiration)
        give = complement(tuple(f["counts"]), take)
        return f"I need most of this. You get {format_items(give)}.\nOFFER: {format_items(take)}"


class AlwaysAccept(ScriptedAgent):
    """Accepts any standing offer; otherwise proposes an even split."""

    key = "accept"

    def reply(self, obs: Observation) -> str:
        f = obs.facts
        if f["standing_offer"] is not None:
            return "Deal. ACCEPT"
        counts = tuple(f["counts"])
        take = tuple(c // 2 for c in counts)
        return f"How about this?\nOFFER: {format_items(take)}"


SCRIPTED = {cls.key: cls for cls in (FairSplitter, HardBargainer, AlwaysAccept)}
