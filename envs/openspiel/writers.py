"""How an OpenSpiel game reads as text: rules, private facts, history in words, move names.

A :class:`GameWriter` is the text side of one OpenSpiel game. This base class is the generic
writer used for any game without its own: it names moves with OpenSpiel's
``action_to_string`` and shows each seat OpenSpiel's own per-player view
(``observation_string``, else ``information_state_string``), so it never shows a seat more
than OpenSpiel's observer for that seat does. Games with a writer of their own
(:mod:`palaestra.envs.openspiel.texts`) explain the rules and the history in plain words.

Replies are matched with :func:`find_move`: case-insensitive, hyphens and underscores read as
spaces, whole words only, and the move named *first* in the reply wins.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

#: A transcript entry a writer asks for: ``(text, to)``; ``to`` is ``None`` (everyone) or a role.
Note = tuple[str, "str | None"]


def signed(value: float) -> str:
    """A payoff as text: ``+2``, ``-1``, ``0``."""
    return f"{value:+g}" if value else "0"


_SEPARATORS = str.maketrans("-_", "  ")


@functools.lru_cache(maxsize=8192)
def spelling_key(text: str) -> str:
    """The form replies and move names are compared in (lower case, single spaces)."""
    return " ".join(text.casefold().translate(_SEPARATORS).split())


@functools.lru_cache(maxsize=4096)
def _pattern(spellings: tuple[str, ...]) -> re.Pattern[str]:
    # Longest spelling first, so at one position "top left" beats "top" and "10 fives" "1 five".
    ordered = sorted(spellings, key=len, reverse=True)
    alternatives = "|".join(re.escape(s) for s in ordered)
    return re.compile(rf"(?<![0-9a-z])(?:{alternatives})(?![0-9a-z])")


def find_move(text: str, spellings: Mapping[str, int]) -> tuple[int, str] | None:
    """The action whose spelling occurs first in ``text``, with that spelling, or ``None``.

    ``spellings`` maps :func:`spelling_key` forms to action ids.

    >>> find_move("I will BET now, not pass", {"pass": 0, "bet": 1})
    (1, 'bet')
    >>> find_move("top-left please", {"top left": 0, "left": 3}) is not None
    True
    """
    if not spellings:
        return None
    key = " ".join(text.casefold().translate(_SEPARATORS).split())  # replies: not cached
    found = _pattern(tuple(sorted(spellings))).search(key)
    if found is None:
        return None
    return spellings[found.group(0)], found.group(0)


class GameWriter:
    """The generic writer: OpenSpiel's own strings for any sequential game.

    Subclasses (one per game, in :mod:`palaestra.envs.openspiel.texts`) override what
    they can say better. Every method gets the ``pyspiel.State`` and OpenSpiel player ids;
    ``self.roles[p]`` is player ``p``'s role name.

    Args:
        game: The loaded ``pyspiel.Game``.
    """

    #: OpenSpiel short name this writer is written for (``""``: any game).
    short_name: ClassVar[str] = ""
    #: Role names in player order (``None``: ``player_0``, ``player_1``, ...).
    role_names: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, game: Any) -> None:
        self.game = game
        self.type = game.get_type()
        n = game.num_players()
        self.roles: tuple[str, ...] = self.role_names or tuple(f"player_{p}" for p in range(n))
        import pyspiel

        self.perfect_information = (
            self.type.information == pyspiel.GameType.Information.PERFECT_INFORMATION
        )

    @classmethod
    def supports(cls, game: Any) -> bool:
        """Whether this writer's text is right for ``game`` (its parameters included)."""
        return not cls.short_name or game.get_type().short_name == cls.short_name

    # -- what does not change -------------------------------------------------------------
    def description(self) -> str:
        return f"{self.type.long_name} (OpenSpiel {self.game})"

    def rules(self) -> str:
        """The rules, the same for every seat (so seats share a cached prompt prefix)."""
        seen = "its current position" if self.perfect_information else "what you can see"
        return (
            f"{self.type.long_name}, the OpenSpiel game {self.game}, for "
            f"{len(self.roles)} players: {', '.join(self.roles)}. The rules are OpenSpiel's. "
            f"Moves are named as OpenSpiel writes them; on your turn you are shown {seen} "
            "and the legal moves.\n"
            f"Each player's final payoff lies between {self.game.min_utility():g} and "
            f"{self.game.max_utility():g}."
        )

    def vector_bounds(self) -> tuple[float, float]:
        """Bounds of OpenSpiel's observation tensor (unknown in general)."""
        return (float("-inf"), float("inf"))

    def private_text(self, state: Any, player: int) -> str:
        """What ``player`` privately knows from the start (after the opening chance moves)."""
        return ""

    def private_facts(self, state: Any, player: int) -> dict[str, Any]:
        """The same as plain data (``Observation.facts["private"]``)."""
        return {}

    # -- moves ------------------------------------------------------------------------------
    def move_name(self, state: Any, player: int, action: int) -> str:
        """The canonical reply text that plays ``action``."""
        return state.action_to_string(player, action)

    def move_aliases(self, state: Any, player: int, action: int) -> Sequence[str]:
        """Other spellings that play ``action`` here (only where they are unambiguous)."""
        return ()

    def unavailable_moves(self, state: Any, player: int) -> Sequence[str]:
        """Spellings of moves of the game that cannot be played now (for a clearer reason)."""
        return ()

    # -- history in words -------------------------------------------------------------------
    def narrate_move(self, state: Any, player: int, action: int) -> list[Note]:
        """Transcript entries for ``action`` by ``player``; ``state`` is before the move."""
        name = state.action_to_string(player, action)
        if self.perfect_information:
            return [(f"{self.roles[player]} plays {name}.", None)]
        return [(f"You play {name}.", self.roles[player])]

    def narrate_chance(self, state: Any, action: int) -> list[Note]:
        """Entries for a chance outcome; only games where everything is public announce it."""
        if self.perfect_information:
            return [(f"Chance: {state.action_to_string(state.current_player(), action)}.", None)]
        return []

    def narrate_end(self, state: Any) -> list[Note]:
        returns = state.returns()
        scores = ", ".join(f"{r} {signed(returns[p])}" for p, r in enumerate(self.roles))
        return [(f"The game is over. Payoffs: {scores}.", None)]

    # -- this turn ----------------------------------------------------------------------------
    def current_view(self, state: Any, player: int) -> str:
        """OpenSpiel's view of the position for ``player`` (never more than it may know)."""
        if self.type.provides_observation_string:
            return state.observation_string(player)
        if self.type.provides_information_state_string:
            return state.information_state_string(player)
        return ""

    #: How the end of an episode is announced in the instruction.
    over_text = "The game is over."

    def lead_text(self, state: Any, player: int) -> str:
        """What opens every instruction: by default OpenSpiel's view of the position."""
        view = self.current_view(state, player).rstrip()
        return f"What you see now:\n{view}\n\n" if view else ""

    def turn_text(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        """The instruction when ``player`` is to move (after :meth:`lead_text`)."""
        return (
            f"Your move, {self.roles[player]}. Reply with exactly one of these moves: "
            f"{', '.join(legal.values())}."
        )

    def instruction(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        """This turn's instruction for ``player`` (``legal`` is empty off turn): the lead,
        then the payoff once it is over, whose turn it is off turn, or :meth:`turn_text`."""
        lead = self.lead_text(state, player)
        if state.is_terminal():
            return f"{lead}{self.over_text} Your payoff: {signed(state.returns()[player])}."
        if not legal:
            return f"{lead}Wait: {self.roles[state.current_player()]} is to move."
        return lead + self.turn_text(state, player, legal)


def payoffs_text(roles: Sequence[str], returns: Sequence[float]) -> str:
    """``Payoffs: player_0 +2, player_1 -2.``"""
    return "Payoffs: " + ", ".join(f"{r} {signed(returns[p])}" for p, r in enumerate(roles)) + "."


def winner_and_loser(roles: Sequence[str], returns: Sequence[float]) -> tuple[str, str]:
    """The roles with the highest and the lowest payoff."""
    order = sorted(range(len(roles)), key=lambda p: -returns[p])
    return roles[order[0]], roles[order[-1]]
