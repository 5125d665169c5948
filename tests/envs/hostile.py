"""Shared driver for hostile-text tests: play whatever text until the episode ends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

#: Every invalid-move policy, for tests that must hold under each.
POLICIES = st.sampled_from(["retry", "penalty", "forfeit"])


def text_lists(hostile: Sequence[str], max_size: int = 8) -> st.SearchStrategy[list[str]]:
    """Lists of replies mixing a game's hand-written hostile texts with arbitrary text."""
    item = st.one_of(st.sampled_from(list(hostile)), st.text(max_size=200))
    return st.lists(item, min_size=1, max_size=max_size)


def play_to_the_end(env: Any, texts: Sequence[str]) -> None:
    """Step a reset AEC ``env`` with ``texts`` in turn until the episode is over.

    Asserts what every game promises whatever its players write: it ends within its turn
    limit (retries included), every reward is inside the declared range, and the game's turn
    counter never passes ``max_turns``.
    """
    raw = env.unwrapped
    info = raw.game.info
    low, high = info.reward_range
    seats = len(info.roles)
    limit = info.max_turns * seats * (raw.referee.max_retries + 1) + seats
    for n, _agent in enumerate(env.agent_iter(10 * limit)):
        assert n <= limit, f"{raw.env_id} did not end within its turn limit"
        _, reward, term, trunc, _ = env.last()
        assert low - 1e-9 <= reward <= high + 1e-9, f"{raw.env_id}: reward {reward} not in range"
        env.step(None if term or trunc else texts[n % len(texts)])
    assert not env.agents, f"{raw.env_id} did not end"
    assert raw.state.turn <= info.max_turns
