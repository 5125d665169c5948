"""Kuhn poker in words: card names, pass/bet with their check/call/fold meanings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from palaestra.envs.openspiel.writers import (
    GameWriter,
    Note,
    payoffs_text,
    winner_and_loser,
)

KUHN_CARDS = ("Jack", "Queen", "King")
KUHN_RANKS = ("the lowest card", "the middle card", "the highest card")


class KuhnText(GameWriter):
    """Kuhn poker (two players): OpenSpiel's actions are Pass=0 and Bet=1."""

    short_name = "kuhn_poker"

    def __init__(self, game: Any, name_card: bool = False) -> None:
        super().__init__(game)
        #: Moves are written after the card (``King: bet``; the plain names stay accepted).
        self.name_card = bool(name_card)

    @classmethod
    def supports(cls, game: Any) -> bool:
        return super().supports(game) and game.num_players() == 2

    def description(self) -> str:
        return "Kuhn poker: one card each from J, Q, K; bet or pass (OpenSpiel)"

    def rules(self) -> str:
        return (
            "Kuhn poker, a two-player poker game with a three-card deck: Jack, Queen and King "
            "(the King is highest).\n"
            "Each player puts 1 chip in the pot (the ante) and is dealt one card that only "
            "they see; the third card stays face down. player_0 acts first, then the players "
            "take turns while the betting lasts.\n"
            "On your turn you have two moves:\n"
            "- pass: put in no chip. If nobody has bet, this is a check. If the other player "
            "has bet, this is a fold: you give up and the bettor takes the pot.\n"
            "- bet: put in 1 chip. If nobody has bet, this opens the betting. If the other "
            "player has bet, this is a call.\n"
            "The betting ends when both players check, or when a bet is called or folded. If "
            "nobody folded, the cards are compared and the higher card takes the pot.\n"
            "Your payoff is what you win or lose: 1 chip (the antes) or 2 chips (a called "
            "bet), so -2, -1, +1 or +2.\n"
            + (
                "Reply with your card and then your move, as in 'Queen: pass' or 'Queen: bet' "
                if self.name_card
                else "Reply with the name of your move: pass or bet "
            )
            + "(check, call and fold are accepted where they mean that move)."
        )

    def vector_bounds(self) -> tuple[float, float]:
        return (0.0, 2.0)  # one-hots, and each player's chips in the pot (1 or 2)

    def _card(self, state: Any, player: int) -> int | None:
        history = state.history()  # the two deals come first: player 0's, then player 1's
        return history[player] if len(history) > player else None

    def private_text(self, state: Any, player: int) -> str:
        card = self._card(state, player)
        return "" if card is None else f"Your card is the {KUHN_CARDS[card]}."

    def private_facts(self, state: Any, player: int) -> dict[str, Any]:
        card = self._card(state, player)
        return {} if card is None else {"card": KUHN_CARDS[card][0]}

    @staticmethod
    def _facing_bet(state: Any) -> bool:
        return 1 in state.history()[2:]

    def move_name(self, state: Any, player: int, action: int) -> str:
        move = ("pass", "bet")[action]
        if self.name_card:
            return f"{KUHN_CARDS[self._card(state, player)]}: {move}"
        return move

    def move_aliases(self, state: Any, player: int, action: int) -> Sequence[str]:
        plain = (("pass", "bet")[action],) if self.name_card else ()
        if self._facing_bet(state):
            return (*plain, "fold") if action == 0 else (*plain, "call")
        return (*plain, "check") if action == 0 else plain

    def unavailable_moves(self, state: Any, player: int) -> Sequence[str]:
        return ("check",) if self._facing_bet(state) else ("fold", "call")

    def narrate_move(self, state: Any, player: int, action: int) -> list[Note]:
        role = self.roles[player]
        if self._facing_bet(state):
            text = f"{role} folds (pass)." if action == 0 else f"{role} calls (bet)."
        else:
            text = f"{role} checks (pass)." if action == 0 else f"{role} bets 1 chip (bet)."
        return [(text, None)]

    def narrate_chance(self, state: Any, action: int) -> list[Note]:
        return []  # the deals are private: each seat reads its own card in its preamble

    def narrate_end(self, state: Any) -> list[Note]:
        returns = state.returns()
        winner, loser = winner_and_loser(self.roles, returns)
        if state.history()[-2:] == [1, 0]:
            how = f"{loser} folded, so {winner} takes the pot."
        else:
            how = f"Showdown: {winner} has the higher card and takes the pot."
        return [(f"{how} {payoffs_text(self.roles, returns)}", None)]

    over_text = "The hand is over."

    def lead_text(self, state: Any, player: int) -> str:
        return ""  # the transcript and the turn text say it all

    def turn_text(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        role, other = self.roles[player], self.roles[1 - player]
        if self._facing_bet(state):
            situation = f"{other} has bet 1 chip: pass to fold, or bet to call."
        else:
            situation = "Nobody has bet: pass to check, or bet 1 chip."
        # The card (and its rank, from the rules) is restated next to the decision: the
        # preamble's "Your card is ..." is hundreds of tokens back, and a small model reads
        # what is near the question.
        card = self._card(state, player)
        reply = (
            f"Reply with your card and your move: {' or '.join(legal.values())}."
            if self.name_card
            else "Reply with one word: pass or bet."
        )
        return (
            f"Your move, {role}. You hold the {KUHN_CARDS[card]}, {KUHN_RANKS[card]}. "
            f"{situation} {reply}"
        )
