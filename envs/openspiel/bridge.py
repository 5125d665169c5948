"""One palaestra :class:`~palaestra.envs.core.Game` over any sequential OpenSpiel game.

OpenSpiel owns the rules and the returns; this module owns the turn-taking, the seeded chance
and the transcript. The text itself (rules, private facts, history in words, move names) comes
from a :class:`~palaestra.envs.openspiel.writers.GameWriter`.

Chance outcomes (deals, dice) are drawn from the generator the env seeds at reset, with the
probabilities of ``State.chance_outcomes()``; OpenSpiel's own sampler is never used, so the
same seed gives the same deal and byte-identical transcripts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from palaestra.envs.core import Game, GameInfo, GameState, InvalidMove, RoleView, StepOutcome
from palaestra.envs.openspiel.loading import load_game
from palaestra.envs.openspiel.writers import GameWriter, find_move, spelling_key

#: ``text=`` values: the game's own writer where there is one, or OpenSpiel's strings.
TEXT_MODES = ("auto", "generic")


@dataclass
class OpenSpielState(GameState):
    """A palaestra state around a ``pyspiel.State`` (``os_state``).

    Attributes:
        os_state: OpenSpiel's state; the source of truth for the rules and returns.
        rng: The episode's generator; it draws every chance outcome (``None``: chance nodes
            wait, as after :meth:`OpenSpielGame.replay` without a generator).
    """

    os_state: Any = None
    rng: np.random.Generator | None = None
    # What the writer computed for the current position (legal move names, accepted
    # spellings); cleared whenever an action is applied.
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # Each seat's preamble and private facts once its deal is known (they never change).
    preambles: dict[int, str] = field(default_factory=dict, repr=False, compare=False)
    private: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)


def draw_chance(rng: np.random.Generator, outcomes: Sequence[tuple[int, float]]) -> int:
    """One chance outcome drawn by inverse CDF with one uniform number from ``rng``."""
    u = rng.random() * sum(p for _, p in outcomes)
    total = 0.0
    for action, prob in outcomes:
        total += prob
        if u < total:
            return int(action)
    return int(outcomes[-1][0])


class OpenSpielGame(Game):
    """A sequential OpenSpiel game played as text.

    Args:
        game: OpenSpiel game name (``"kuhn_poker"``) or its ``"name(key=value)"`` form.
        params: OpenSpiel game parameters (``{"rows": 5}``).
        text: ``"auto"`` (the game's own writer when one fits, else OpenSpiel's strings) or
            ``"generic"`` (always OpenSpiel's strings).
        **text_options: Options of the game's own writer (Kuhn poker: ``name_card``).

    Raises:
        MissingOpenSpiel: OpenSpiel is not installed.
        ValueError: unknown game or parameter (with suggestions), non-sequential game.
    """

    def __init__(
        self,
        game: str = "connect_four",
        params: Mapping[str, Any] | None = None,
        text: str = "auto",
        **text_options: Any,
    ) -> None:
        if text not in TEXT_MODES:
            raise ValueError(f"text must be one of {TEXT_MODES}, got {text!r}")
        self.pyspiel_game = load_game(game, params)
        self.writer = _writer_for(self.pyspiel_game, text, text_options)
        g, kind = self.pyspiel_game, self.pyspiel_game.get_type()
        import pyspiel

        self.num_distinct_actions = g.num_distinct_actions()
        # Which of OpenSpiel's per-player strings and tensors the views use.
        self._info_string = (
            "information_state" if kind.provides_information_state_string
            else "observation" if kind.provides_observation_string else ""
        )  # fmt: skip
        if kind.provides_observation_tensor:
            self._tensor, size = "observation", g.observation_tensor_size()
        elif kind.provides_information_state_tensor:
            self._tensor, size = "information_state", g.information_state_tensor_size()
        else:
            self._tensor, size = "", 1
        self.info = GameInfo(
            name=kind.short_name,
            roles=self.writer.roles,
            description=self.writer.description(),
            # OpenSpiel's utilities, widened by the default invalid-move penalty (-1): under
            # the penalty policy a penalised move can also be the one that loses the game.
            reward_range=(g.min_utility() - 1.0, g.max_utility()),
            max_turns=g.max_game_length(),
            zero_sum=kind.utility == pyspiel.GameType.Utility.ZERO_SUM,
            vector_size=size,
            vector_bounds=self.writer.vector_bounds(),
        )
        self._rules = self.writer.rules().strip()

    # -- players and roles --------------------------------------------------------------------
    def role_of(self, player: int) -> str:
        """The role name of OpenSpiel player ``player``."""
        if isinstance(player, bool) or not isinstance(player, int | np.integer):
            raise TypeError(f"player must be an int, got {player!r}")
        if not 0 <= player < len(self.info.roles):
            raise ValueError(f"no OpenSpiel player {player!r} in {self.info.name}")
        return self.info.roles[int(player)]

    def player_of(self, role: str) -> int:
        """The OpenSpiel player id of ``role``."""
        try:
            return self.info.roles.index(role)
        except ValueError:
            raise ValueError(
                f"{self.info.name} has no role {role!r}; roles: {self.info.roles}"
            ) from None

    # -- states -------------------------------------------------------------------------------
    def new_state(self, rng: np.random.Generator) -> OpenSpielState:
        state = OpenSpielState(os_state=self.pyspiel_game.new_initial_state(), rng=rng)
        self._settle(state)
        return state

    def replay(
        self, actions: Sequence[int], rng: np.random.Generator | None = None
    ) -> OpenSpielState:
        """The state after OpenSpiel ``actions`` (chance outcomes included) from the start.

        The transcript is written as in play. A chance node left at the end is resolved with
        ``rng`` when one is given; otherwise the state waits there (``to_move`` is empty).

        Raises:
            ValueError: an action that is not legal (or not a possible chance outcome) where
                it is played; the message names it and its position.
        """
        state = OpenSpielState(os_state=self.pyspiel_game.new_initial_state(), rng=None)
        os_state = state.os_state
        for n, action in enumerate(actions):
            if os_state.is_terminal():
                raise ValueError(f"action {action!r} at position {n}: the game is already over")
            if os_state.is_chance_node():
                possible = [a for a, _ in os_state.chance_outcomes()]
                if action not in possible:
                    raise ValueError(
                        f"chance outcome {action!r} at position {n} is not possible; "
                        f"possible: {possible}"
                    )
                self._chance(state, int(action))
            else:
                legal = os_state.legal_actions()
                if action not in legal:
                    raise ValueError(
                        f"action {action!r} at position {n} is not legal; legal: {legal}"
                    )
                self._move(state, int(action))
        state.rng = rng
        self._settle(state)
        return state

    def _chance(self, state: OpenSpielState, action: int) -> None:
        for text, to in self.writer.narrate_chance(state.os_state, action):
            state.transcript.gm(text, to)
        state.os_state.apply_action(action)
        state.cache.clear()

    def _move(self, state: OpenSpielState, action: int) -> None:
        os_state = state.os_state
        player = os_state.current_player()
        for text, to in self.writer.narrate_move(os_state, player, action):
            state.transcript.gm(text, to)
        os_state.apply_action(action)
        state.cache.clear()
        state.turn += 1

    def _settle(self, state: OpenSpielState) -> None:
        """Resolve chance nodes with the episode's generator; set ``to_move`` or the end."""
        os_state = state.os_state
        while os_state.is_chance_node() and state.rng is not None:
            self._chance(state, draw_chance(state.rng, os_state.chance_outcomes()))
        if os_state.is_terminal():
            state.to_move = ()
            if not state.done:
                state.done = True
                returns = os_state.returns()
                state.returns = {r: float(returns[p]) for p, r in enumerate(self.info.roles)}
                best = max(state.returns.values())
                winners = [r for r, v in state.returns.items() if v == best]
                state.outcome = "draw" if len(winners) == len(state.returns) else (
                    f"{' and '.join(winners)} won"
                )  # fmt: skip
                for text, to in self.writer.narrate_end(os_state):
                    state.transcript.gm(text, to)
        elif os_state.is_chance_node():
            state.to_move = ()
        else:
            state.to_move = (self.info.roles[os_state.current_player()],)

    # -- moves --------------------------------------------------------------------------------
    def legal_moves(self, state: OpenSpielState) -> dict[int, str]:
        """The current player's legal OpenSpiel action ids -> the reply text that plays each."""
        if "legal" not in state.cache:
            os_state = state.os_state
            if os_state.is_terminal() or os_state.is_chance_node():
                state.cache["legal"] = {}
            else:
                player = os_state.current_player()
                state.cache["legal"] = {
                    a: self.writer.move_name(os_state, player, a) for a in os_state.legal_actions()
                }
        return dict(state.cache["legal"])

    def legal_actions(self, state: OpenSpielState, role: str) -> list[int]:
        """``role``'s legal action ids now (empty when it is not ``role``'s turn)."""
        if role not in state.to_move:
            return []
        return list(self.legal_moves(state))

    def parse(self, state: OpenSpielState, role: str, text: str) -> int:
        """The OpenSpiel action named first in ``text``, or :class:`InvalidMove` listing the
        legal moves."""
        if role not in state.to_move:
            raise InvalidMove(f"it is not your turn, {role}.")
        os_state, player = state.os_state, self.player_of(role)
        legal = self.legal_moves(state)
        if "spellings" not in state.cache:
            spellings: dict[str, int] = {}
            for action, name in legal.items():
                for spelling in (name, *self.writer.move_aliases(os_state, player, action)):
                    spellings.setdefault(spelling_key(spelling), action)
            state.cache["spellings"] = spellings
        found = find_move(text, state.cache["spellings"])
        if found is not None:
            return found[0]
        listed = ", ".join(legal.values())
        unavailable = self.writer.unavailable_moves(os_state, player)
        illegal = find_move(text, {spelling_key(s): -1 for s in unavailable})
        if illegal is not None:
            raise InvalidMove(f"'{illegal[1]}' is not a legal move now. Legal moves: {listed}.")
        raise InvalidMove(f"your reply names no legal move. Legal moves: {listed}.")

    def parse_action(self, state: OpenSpielState, role: str, action: Any) -> int:
        """An integer action id (the discrete action mode), checked against the legal ones."""
        if isinstance(action, np.ndarray) and action.size == 1:
            action = action.reshape(()).item()
        if isinstance(action, bool) or not isinstance(action, int | np.integer):
            raise InvalidMove(f"a discrete action must be an integer id, got {action!r}")
        if role not in state.to_move:
            raise InvalidMove(f"it is not your turn, {role}.")
        if int(action) in state.cache.get("legal", ()):
            return int(action)
        legal = self.legal_moves(state)
        if int(action) not in legal:
            listed = ", ".join(f"{a} ({name})" for a, name in legal.items())
            raise InvalidMove(f"action {int(action)} is not legal now. Legal actions: {listed}.")
        return int(action)

    def apply(self, state: OpenSpielState, moves: Mapping[str, Any]) -> StepOutcome:
        (role,) = state.to_move
        action = self.parse_action(state, role, moves[role])
        self._move(state, action)
        self._settle(state)
        return StepOutcome()

    def null_move(self, state: OpenSpielState, role: str) -> int:
        """The first legal action (Kuhn/Leduc: pass/fold or check; a bid before ``liar``)."""
        return self.legal_actions(state, role)[0]

    def forfeit(self, state: OpenSpielState, role: str) -> dict[str, float]:
        """The offender gets the game's worst payoff; in zero-sum games the others share
        what it loses, so payoffs still sum to zero."""
        low = self.pyspiel_game.min_utility()
        others = len(self.info.roles) - 1
        share = min(-low / others, self.pyspiel_game.max_utility()) if self.info.zero_sum else 0
        return {r: (low if r == role else float(share)) for r in self.info.roles}

    # -- views --------------------------------------------------------------------------------
    def vector(self, state: OpenSpielState, role: str) -> Sequence[float]:
        """OpenSpiel's observation tensor for ``role`` (else its information-state tensor)."""
        os_state, player = state.os_state, self.player_of(role)
        if self._tensor == "observation":
            return os_state.observation_tensor(player)
        if self._tensor == "information_state":
            return os_state.information_state_tensor(player)
        return (0.0,)

    def view(self, state: OpenSpielState, role: str) -> RoleView:
        os_state, player = state.os_state, self.player_of(role)
        preamble = state.preambles.get(player)
        if preamble is None:
            private = self.writer.private_text(os_state, player)
            preamble = f"{self._rules}\n\nYou are {role}." + (f" {private}" if private else "")
            if private or type(self.writer) is GameWriter:  # the generic writer has none
                state.preambles[player] = preamble
        legal = self.legal_moves(state) if role in state.to_move else {}
        if self._info_string == "information_state":
            info_state = os_state.information_state_string(player)
        elif self._info_string == "observation":
            info_state = os_state.observation_string(player)
        else:
            info_state = ""
        facts = {
            "player": player,
            "info_state": info_state,
            "legal_actions": list(legal),
            "candidates": tuple(legal.values()),
            "private": dict(state.private.get(player) or self._private(state, player)),
        }
        return RoleView(
            preamble=preamble,
            instruction=self.writer.instruction(os_state, player, legal),
            vector=self.vector(state, role),
            facts=facts,
        )

    def _private(self, state: OpenSpielState, player: int) -> dict[str, Any]:
        facts = self.writer.private_facts(state.os_state, player)
        if facts:
            state.private[player] = facts
        return dict(facts)

    def summary(self, state: OpenSpielState) -> dict[str, Any]:
        """At the end: OpenSpiel's returns, its full action history and every seat's private
        deal (for records and reports; no seat's observation ever holds another's)."""
        return {
            "returns": dict(state.returns),
            "openspiel_history": [int(a) for a in state.os_state.history()],
            "private": {
                r: self.writer.private_facts(state.os_state, p)
                for p, r in enumerate(self.info.roles)
            },
        }


def _writer_for(game: Any, text: str, options: Mapping[str, Any]) -> GameWriter:
    """The game's own writer (``text="auto"``, with ``options``), else OpenSpiel's strings."""
    from palaestra.envs.openspiel.texts import WRITERS

    if text == "auto":
        for writer in WRITERS:
            if writer.supports(game):
                return writer(game, **options)
    if options:
        raise ValueError(
            f"text options {sorted(options)} need the game's own text (text='auto'); "
            f"{game.get_type().short_name} with text={text!r} has none"
        )
    return GameWriter(game)
