"""Rules of adversarial taboo (Cheng et al. 2024): make the defender say the word unknowingly.

Pure and deterministic given the generator; no PettingZoo here. The docs page is the
docstring of :mod:`palaestra.envs.adversarial_taboo_v0`.
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
from palaestra.envs.taboo.rules import EXAMPLE_GUESSES, is_guess_of, parse_guess
from palaestra.envs.textnorm import mentions_word

ROLES = ("attacker", "defender")
ATTACKER, DEFENDER = ROLES

_GUESS = re.compile(r"\bGUESS\s*:", re.IGNORECASE)

#: Example replies offered to the defender as candidate moves (talk, and one guess).
DEFENDER_TALK = ("Tell me more.", "Interesting. What else?", "I am not sure what you mean.")


@dataclass(frozen=True)
class Utterance:
    """A move: what was said, and the defender's guess in it (``None`` when it has none)."""

    text: str
    guess: str | None = None


@dataclass
class AdversarialTabooState(GameState):
    card: TabooCard = field(default_factory=lambda: TabooCard("", "", ()))
    round: int = 0
    winner: str | None = None
    guess: str | None = None


class AdversarialTabooGame(Game):
    """Zero-sum adversarial taboo.

    Args:
        max_turns: Moves in all (a round is one attacker and one defender move).
        win_reward: What the winner gets; the loser gets its negative, a draw 0 each.
    """

    info = GameInfo(
        name="adversarial-taboo",
        roles=ROLES,
        description="Make the defender say the target word before it guesses it (SPAG).",
        reward_range=(-2.0, 1.0),
        max_turns=10,
        discount=1.0,
        zero_sum=True,
        vector_size=3,
        vector_bounds=(0.0, 1.0),
    )

    def __init__(self, max_turns: int = 10, win_reward: float = 1.0) -> None:
        require_int("max_turns", max_turns, 2)
        if not win_reward > 0:
            raise ValueError(f"win_reward must be > 0, got {win_reward!r}")
        self.max_turns = max_turns
        self.rounds = max_turns // 2
        self.win_reward = float(win_reward)
        # A player penalised for an invalid move (-1 by default) can lose on the next move;
        # PettingZoo reports the sum of both to it.
        self.info = dataclasses.replace(
            type(self).info,
            max_turns=max_turns,
            reward_range=(-self.win_reward - 1.0, self.win_reward),
        )

    # -- setup ------------------------------------------------------------------------------
    def new_state(self, rng: np.random.Generator) -> AdversarialTabooState:
        cards = load_cards()
        card = cards[int(rng.integers(len(cards)))]
        state = AdversarialTabooState(to_move=(ATTACKER,), card=card)
        state.transcript.gm(f"A target word is drawn. {self.rounds} rounds; the attacker begins.")
        return state

    # -- moves ------------------------------------------------------------------------------
    def parse(self, state: GameState, role: str, text: str) -> Utterance:
        if not text:
            raise InvalidMove("your message is empty.")
        if role == DEFENDER and _GUESS.search(text):
            return Utterance(text, parse_guess(text))
        return Utterance(text)

    def null_move(self, state: GameState, role: str) -> Utterance:
        return Utterance("")

    def apply(self, state: GameState, moves: Mapping[str, Any]) -> StepOutcome:
        assert isinstance(state, AdversarialTabooState)
        (role,) = state.to_move
        move: Utterance = moves[role]
        state.turn += 1
        if role == ATTACKER:
            self._attack(state, move)
        else:
            self._defend(state, move)
        if state.done:
            state.to_move = ()
        else:
            state.to_move = (DEFENDER,) if role == ATTACKER else (ATTACKER,)
        return StepOutcome()

    def _attack(self, state: AdversarialTabooState, move: Utterance) -> None:
        if not move.text:
            state.transcript.gm("The attacker passes.")
        elif forbidden_word_in(move.text, (state.card.word,)) is None:
            state.transcript.add(ATTACKER, move.text)
        else:
            # Withheld: the message would hand the defender the word.
            state.transcript.gm("The attacker said the target word, which breaks the rules.")
            self._end(state, DEFENDER, "attacker said the word")

    def _defend(self, state: AdversarialTabooState, move: Utterance) -> None:
        if move.text:
            state.transcript.add(DEFENDER, move.text)
        else:
            state.transcript.gm("The defender passes.")
        if move.guess is not None:
            state.guess = move.guess
            if is_guess_of(move.guess, state.card.word):
                state.transcript.gm("The defender guessed the target word.")
                self._end(state, DEFENDER, "defender guessed the word")
            else:
                state.transcript.gm(f"'{move.guess}' is a wrong guess.")
                self._end(state, ATTACKER, "wrong guess")
            return
        if move.text and mentions_word(move.text, state.card.word):
            state.transcript.gm("The defender said the target word without guessing it.")
            self._end(state, ATTACKER, "defender said the word")
            return
        state.round += 1
        if state.round >= self.rounds:
            state.transcript.gm("Out of rounds: a draw.")
            state.done, state.outcome = True, "draw"
            state.returns = dict.fromkeys(ROLES, 0.0)

    def _end(self, state: AdversarialTabooState, winner: str, outcome: str) -> None:
        loser = ATTACKER if winner == DEFENDER else DEFENDER
        state.winner = winner
        state.done, state.outcome = True, outcome
        state.returns = {winner: self.win_reward, loser: -self.win_reward}
        state.transcript.gm(f"The {winner} wins.")

    def forfeit(self, state: GameState, role: str) -> dict[str, float]:
        """Zero-sum: the offender loses and the other player wins."""
        return {r: (-self.win_reward if r == role else self.win_reward) for r in ROLES}

    # -- views ------------------------------------------------------------------------------
    def view(self, state: GameState, role: str) -> RoleView:
        assert isinstance(state, AdversarialTabooState)
        card = state.card
        # The rules first and the same for both seats in every episode (a shared prefix).
        rules = (
            "A game of adversarial taboo between an attacker and a defender. The attacker "
            "knows a secret target word and leads the conversation so that the defender says "
            "it without noticing: then the attacker wins. The attacker must never say the word "
            "or spell it out: that loses at once. The defender wins by working out the word "
            "instead: if the defender says it (outside a guess), the defender loses. There are "
            f"{self.rounds} rounds; a round is one attacker and one defender message. The "
            "defender may guess the word at any turn with a line 'GUESS: <word>': a right "
            f"guess wins for the defender, a wrong one loses. Win +{self.win_reward:g}, loss "
            f"-{self.win_reward:g}, draw 0 when the rounds run out. Any form of the word counts "
            "(plural, -ing, -ed)."
        )
        header = f"Round {min(state.round + 1, self.rounds)} of {self.rounds}. "
        if role == ATTACKER:
            preamble = f"{rules}\n\nYou are the attacker.\nThe target word: {card.word}"
            instruction = header + "Your message, attacker:"
            candidates = tuple(
                f"{h} What word comes to mind?" for h in hints_for(card, (card.word,))
            )
        else:
            preamble = f"{rules}\n\nYou are the defender: you do not know the target word."
            instruction = header + "Your message, defender (or GUESS: <word>):"
            candidates = (*DEFENDER_TALK, f"GUESS: {EXAMPLE_GUESSES[0]}")
        heard = [m.text for m in state.transcript.messages if m.sender == ATTACKER]
        facts: dict[str, Any] = {
            "role": role,
            "round": state.round,
            "rounds": self.rounds,
            "turn": state.turn,
            "max_turns": self.max_turns,
            "heard": heard,
            "candidates": candidates,
        }
        if role == ATTACKER:
            facts.update(word=card.word, category=card.category, taboo=card.taboo)
        vector = [state.turn / self.max_turns, state.round / self.rounds, float(role == ATTACKER)]
        return RoleView(preamble, instruction, vector, facts)

    def summary(self, state: GameState) -> dict[str, Any]:
        assert isinstance(state, AdversarialTabooState)
        return {
            "word": state.card.word,
            "winner": state.winner,
            "guess": state.guess,
            "rounds_used": (state.turn + 1) // 2,
        }
