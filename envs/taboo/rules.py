"""Rules of cooperative Taboo: a describer gets a guesser to say a secret word.

Pure and deterministic given the generator; no PettingZoo here. The docs page is the
docstring of :mod:`palaestra.envs.taboo_v0`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from palaestra.envs.core import (
    Game,
    GameInfo,
    GameState,
    InvalidMove,
    RoleView,
    StepOutcome,
    require_int,
)
from palaestra.envs.taboo.cards import TabooCard, forbidden_word_in, hints_for, load_cards
from palaestra.envs.textnorm import normalize_word, words_in

ROLES = ("describer", "guesser")
DESCRIBER, GUESSER = ROLES

#: Example guesses offered as candidate moves; none of them is a card, so they never give
#: the guesser the answer.
EXAMPLE_GUESSES = ("thing", "animal", "person", "place", "color", "machine")

MAX_GUESS_WORDS = 4

_GUESS = re.compile(r"\bGUESS\s*:\s*(?P<guess>[^\n]*)", re.IGNORECASE)
_ARTICLE = re.compile(r"^\s*(?:a|an|the)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Clue:
    """A describer's move (``text`` is empty for a pass)."""

    text: str


@dataclass(frozen=True)
class Guess:
    """A guesser's move: what it wrote and the guess in it (empty for a pass)."""

    text: str
    guess: str


@dataclass
class TabooState(GameState):
    card: TabooCard = field(default_factory=lambda: TabooCard("", "", ()))
    round: int = 0
    guesses: list[str] = field(default_factory=list)
    violation: str | None = None
    solved: bool = False
    score: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROLES, 0.0))


def parse_guess(text: str) -> str:
    """The guess in a guesser's reply: after ``GUESS:``, or a whole reply of a few words.

    Raises:
        InvalidMove: If there is no guess or it is longer than ``MAX_GUESS_WORDS`` words.
    """
    found = _GUESS.search(text)
    guess = found.group("guess") if found else text
    guess = _ARTICLE.sub("", guess.strip().strip(".!?\"'`*")).strip()
    n_words = len(words_in(guess))
    if n_words == 0:
        raise InvalidMove("write your guess as 'GUESS: <word>'.")
    if n_words > MAX_GUESS_WORDS:
        what = "your guess" if found else "your reply"
        raise InvalidMove(
            f"{what} has {n_words} words; guess one word (at most {MAX_GUESS_WORDS}) "
            "as 'GUESS: <word>'."
        )
    return guess


def is_guess_of(guess: str, word: str) -> bool:
    """Whether ``guess`` names ``word`` (case, plurals and inflections ignored)."""
    guess = _ARTICLE.sub("", guess)
    if words_in(guess) == words_in(word):
        return True
    return normalize_word("".join(guess.split())) == normalize_word("".join(word.split()))


class TabooGame(Game):
    """Cooperative Taboo with per-round rewards.

    Args:
        max_turns: Moves in all (a round is a clue and a guess, so ``max_turns // 2`` rounds).
        success_reward: Reward to both players for the right guess.
        turn_cost: Cost to both players of every round that ends without the right guess.
        violation_penalty: Penalty to the describer when it says a forbidden word.
    """

    info = GameInfo(
        name="taboo",
        roles=ROLES,
        description="Describe a secret word without its taboo words; the guesser must say it.",
        reward_range=(-1.1, 1.0),
        max_turns=12,
        discount=0.95,
        vector_size=3,
        vector_bounds=(0.0, 1.0),
    )

    def __init__(
        self,
        max_turns: int = 12,
        success_reward: float = 1.0,
        turn_cost: float = 0.1,
        violation_penalty: float = 1.0,
    ) -> None:
        require_int("max_turns", max_turns, 2)
        for name, value in [("success_reward", success_reward), ("turn_cost", turn_cost),
                            ("violation_penalty", violation_penalty)]:  # fmt: skip
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        self.max_turns = max_turns
        self.rounds = max_turns // 2
        self.success_reward = float(success_reward)
        self.turn_cost = float(turn_cost)
        self.violation_penalty = float(violation_penalty)
        # An invalid-move penalty (-1 by default) and the next round's cost can fall between
        # two moves of one player; PettingZoo reports their sum.
        low = -max(self.violation_penalty, 1.0 + self.turn_cost)
        self.info = dataclasses.replace(
            type(self).info, max_turns=max_turns, reward_range=(low, max(self.success_reward, 0.0))
        )

    # -- setup ------------------------------------------------------------------------------
    def new_state(self, rng: np.random.Generator) -> TabooState:
        cards = load_cards()
        card = cards[int(rng.integers(len(cards)))]
        state = TabooState(to_move=(DESCRIBER,), card=card)
        state.transcript.gm(f"A new word is drawn. {self.rounds} rounds; the describer begins.")
        return state

    # -- moves ------------------------------------------------------------------------------
    def parse(self, state: GameState, role: str, text: str) -> Clue | Guess:
        if role == DESCRIBER:
            if not text:
                raise InvalidMove("your clue is empty.")
            return Clue(text)
        return Guess(text, parse_guess(text))

    def null_move(self, state: GameState, role: str) -> Clue | Guess:
        return Clue("") if role == DESCRIBER else Guess("", "")

    def apply(self, state: GameState, moves: Mapping[str, Any]) -> StepOutcome:
        assert isinstance(state, TabooState)
        (role,) = state.to_move
        move = moves[role]
        state.turn += 1
        rewards: dict[str, float] = {}
        if isinstance(move, Clue):
            self._clue(state, move)
            if state.violation is not None:
                rewards = {DESCRIBER: -self.violation_penalty, GUESSER: 0.0}
        else:
            rewards = self._guess(state, move)
        for r, value in rewards.items():
            state.score[r] += value
        if state.done:
            state.returns = dict.fromkeys(ROLES, 0.0)  # everything was paid per step
            state.to_move = ()
        else:
            state.to_move = (GUESSER,) if role == DESCRIBER else (DESCRIBER,)
        return StepOutcome(rewards)

    def _clue(self, state: TabooState, move: Clue) -> None:
        if not move.text:
            state.transcript.gm("The describer passes.")
            return
        word = forbidden_word_in(move.text, state.card.forbidden)
        if word is None:
            state.transcript.add(DESCRIBER, move.text)
            return
        # The clue is withheld: it would hand the guesser the word.
        state.violation = word
        state.done, state.outcome = True, "taboo violation"
        state.transcript.gm(f"Your clue used the forbidden word '{word}'.", to=DESCRIBER)
        state.transcript.gm("The describer used a forbidden word; the clue is withheld. Game over.")

    def _guess(self, state: TabooState, move: Guess) -> dict[str, float]:
        if move.text:
            state.transcript.add(GUESSER, move.text)
        if move.guess and is_guess_of(move.guess, state.card.word):
            state.solved = True
            state.done, state.outcome = True, "solved"
            state.transcript.gm(f"Correct! Solved in round {state.round + 1}.")
            return dict.fromkeys(ROLES, self.success_reward)
        if move.guess:
            state.guesses.append(move.guess)
            state.transcript.gm(f"'{move.guess}' is not the word.")
        else:
            state.transcript.gm("The guesser passes.")
        state.round += 1
        if state.round >= self.rounds:
            state.done, state.outcome = True, "out of rounds"
            state.transcript.gm("Out of rounds. Game over.")
        return dict.fromkeys(ROLES, -self.turn_cost)

    # -- views ------------------------------------------------------------------------------
    def _rules_text(self) -> str:
        """The rules both seats read first, the same in every episode (a shared prefix)."""
        return (
            "A game of Taboo for two players, a describer and a guesser. The describer knows a "
            "secret word and gives clues that make the guesser say it. The describer must never "
            "say the secret word or one of its taboo words, in any form (plural, -ing, -ed, "
            "hyphenated), and never spell them out: a clue that does ends the game with a "
            f"penalty of {self.violation_penalty:g} for the describer. A correct guess earns "
            f"both players {self.success_reward:g}; every round without it costs both "
            f"{self.turn_cost:g}. There are {self.rounds} rounds; a round is one clue and one "
            "guess. A guess is one word (or a short phrase) after 'GUESS:'."
        )

    def view(self, state: GameState, role: str) -> RoleView:
        assert isinstance(state, TabooState)
        card = state.card
        header = f"Round {min(state.round + 1, self.rounds)} of {self.rounds}. "
        if role == DESCRIBER:
            preamble = (
                f"{self._rules_text()}\n\n"
                "You are the describer. Give clues that make the guesser say the secret word.\n"
                f"The secret word: {card.word}\n"
                f"Taboo words: {', '.join(card.taboo)}"
            )
            instruction = header + "Your clue, describer:"
            candidates = hints_for(card)
        else:
            preamble = (
                f"{self._rules_text()}\n\n"
                "You are the guesser: you do not know the secret word. Reply with "
                "'GUESS: <word>'."
            )
            instruction = header + "Your guess, guesser (GUESS: <word>):"
            candidates = tuple(f"GUESS: {w}" for w in EXAMPLE_GUESSES)
        clues = [m.text for m in state.transcript.messages if m.sender == DESCRIBER]
        facts: dict[str, Any] = {
            "role": role,
            "round": state.round,
            "rounds": self.rounds,
            "turn": state.turn,
            "max_turns": self.max_turns,
            "clues": clues,
            "guesses": list(state.guesses),
            "candidates": candidates,
        }
        if role == DESCRIBER:
            facts.update(word=card.word, category=card.category, taboo=card.taboo)
        vector = [state.turn / self.max_turns, state.round / self.rounds, float(role == DESCRIBER)]
        return RoleView(preamble, instruction, vector, facts)

    def summary(self, state: GameState) -> dict[str, Any]:
        assert isinstance(state, TabooState)
        return {
            "word": state.card.word,
            "solved": state.solved,
            "rounds_used": (state.turn + 1) // 2,
            "violation": state.violation,
            "scores": dict(state.score),
        }
