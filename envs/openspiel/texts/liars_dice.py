"""Liar's dice in words: ``2 fives``-style bids, ``liar``, the seat's own dice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from palaestra.envs.openspiel.writers import (
    GameWriter,
    Note,
    payoffs_text,
    winner_and_loser,
)

FACES = ("one", "two", "three", "four", "five", "six")
FACES_PLURAL = ("ones", "twos", "threes", "fours", "fives", "sixes")
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


class LiarsDiceText(GameWriter):
    """Liar's dice (two players, six-sided dice): bid ``(q, f)`` is action ``6(q-1) + f-1``,
    ``liar`` is the last action. Sixes are wild, as in OpenSpiel."""

    short_name = "liars_dice"

    @classmethod
    def supports(cls, game: Any) -> bool:
        params = game.get_parameters()
        return (
            super().supports(game)
            and game.num_players() == 2
            and params.get("dice_sides", 6) == 6
            and params.get("bidding_rule", "reset-face") == "reset-face"
        )

    def __init__(self, game: Any) -> None:
        super().__init__(game)
        self.dice_each = int(game.get_parameters().get("numdice", 1))
        self.total = 2 * self.dice_each
        self.liar = 6 * self.total  # the last action id

    def description(self) -> str:
        return "Liar's dice: bid on the dice in both cups, or call liar (OpenSpiel)"

    def rules(self) -> str:
        dice = "one six-sided die" if self.dice_each == 1 else f"{self.dice_each} six-sided dice"
        return (
            f"Liar's dice for two players, each with {dice} in a cup. Both players roll in "
            "secret; you see only your own dice.\n"
            f"Players bid in turn, player_0 first, on how many of all {self.total} dice show "
            "one face: '2 fives' claims that at least two of them show five. Sixes are wild: a "
            "six counts as every face.\n"
            "Each bid must be higher than the last: more dice, or the same number of a higher "
            "face (so 2 ones is higher than 1 six).\n"
            "Instead of bidding you may call 'liar' on the last bid. Then all dice are "
            "counted: if the bid holds (at least that many dice show the face, sixes "
            "included), the caller loses; otherwise the bidder loses. Payoff: +1 to the "
            "winner, -1 to the loser.\n"
            "Reply with one bid, such as '2 fives' or '1 six', or with 'liar'."
        )

    def vector_bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def _dice(self, state: Any, player: int) -> list[int] | None:
        history = state.history()  # the rolls come first, player 0's dice then player 1's
        start = player * self.dice_each
        if len(history) < start + self.dice_each:
            return None
        return sorted(a + 1 for a in history[start : start + self.dice_each])

    def private_text(self, state: Any, player: int) -> str:
        dice = self._dice(state, player)
        if dice is None:
            return ""
        if len(dice) == 1:
            return f"Your die shows {dice[0]}."
        return f"Your dice show {', '.join(map(str, dice))}."

    def private_facts(self, state: Any, player: int) -> dict[str, Any]:
        dice = self._dice(state, player)
        return {} if dice is None else {"dice": dice}

    def bid_name(self, action: int) -> str:
        quantity, face = action // 6 + 1, action % 6
        return f"1 {FACES[face]}" if quantity == 1 else f"{quantity} {FACES_PLURAL[face]}"

    def move_name(self, state: Any, player: int, action: int) -> str:
        return "liar" if action == self.liar else self.bid_name(action)

    def _spellings(self, action: int) -> list[str]:
        if action == self.liar:
            return ["liar"]
        quantity, face = action // 6 + 1, action % 6
        forms = [f"{quantity} {FACES_PLURAL[face]}", f"{quantity} {face + 1}s"]
        if quantity <= len(NUMBER_WORDS):
            forms.append(f"{NUMBER_WORDS[quantity - 1]} {FACES_PLURAL[face]}")
        if quantity == 1:
            forms += [f"1 {FACES[face]}", f"one {FACES[face]}"]
        return forms

    def move_aliases(self, state: Any, player: int, action: int) -> Sequence[str]:
        return self._spellings(action)

    def unavailable_moves(self, state: Any, player: int) -> Sequence[str]:
        legal = set(state.legal_actions()) if not state.is_terminal() else set()
        return [s for a in range(self.liar + 1) if a not in legal for s in self._spellings(a)]

    def _last_bid(self, state: Any) -> int | None:
        bids = [a for a in state.history()[self.total :] if a != self.liar]
        return bids[-1] if bids else None

    def narrate_move(self, state: Any, player: int, action: int) -> list[Note]:
        role = self.roles[player]
        if action == self.liar:
            last = self._last_bid(state)
            return [(f"{role} calls liar on {self.bid_name(last or 0)}.", None)]
        return [(f"{role} bids {self.bid_name(action)}.", None)]

    def narrate_chance(self, state: Any, action: int) -> list[Note]:
        return []  # private rolls: each seat reads its own dice in its preamble

    def narrate_end(self, state: Any) -> list[Note]:
        returns = state.returns()
        moves = len(state.history()) - self.total  # player 0 moves first; liar ends it
        caller = self.roles[(moves - 1) % 2]
        bid = self.bid_name(self._last_bid(state) or 0)
        winner, _ = winner_and_loser(self.roles, returns)
        verdict = "holds" if winner != caller else "fails"
        text = f"The dice are counted: the bid of {bid} {verdict}, so {winner} wins."
        return [(f"{text} {payoffs_text(self.roles, returns)}", None)]

    def lead_text(self, state: Any, player: int) -> str:
        return ""

    def turn_text(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        last = self._last_bid(state)
        said = "No bid yet." if last is None else f"The last bid: {self.bid_name(last)}."
        return (
            f"Your move, {self.roles[player]}. {said} Legal moves: {', '.join(legal.values())}. "
            "Reply with one of them."
        )
