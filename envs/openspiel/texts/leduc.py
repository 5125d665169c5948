"""Leduc poker in words: ranks, fold/call/raise with the chips they move, the public card."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from palaestra.envs.openspiel.writers import (
    GameWriter,
    Note,
    payoffs_text,
    winner_and_loser,
)

LEDUC_RANKS = ("Jack", "Queen", "King")
_ROUNDS = re.compile(r"\[Round1: ([^\]]*)\]\[Round2: ([^\]]*)\]")


class LeducText(GameWriter):
    """Leduc poker (two players): OpenSpiel's actions are Fold=0, Call=1, Raise=2."""

    short_name = "leduc_poker"

    @classmethod
    def supports(cls, game: Any) -> bool:
        params = game.get_parameters()
        return (
            super().supports(game)
            and game.num_players() == 2
            and not params.get("action_mapping", False)
            and not params.get("suit_isomorphism", False)
        )

    def description(self) -> str:
        return "Leduc poker: six cards, a public card, two betting rounds (OpenSpiel)"

    def rules(self) -> str:
        first = self.roles[self.game.get_parameters().get("starting_player", 0)]
        return (
            "Leduc poker (Leduc hold'em), a two-player poker game with a six-card deck: two "
            "Jacks, two Queens and two Kings (the King is highest; suits do not matter).\n"
            "Each player puts 1 chip in the pot (the ante) and is dealt one private card. "
            f"There are two betting rounds, and {first} acts first in each. After the first "
            "round one public card is turned face up for both players.\n"
            "On your turn:\n"
            "- fold: give up; the other player takes the pot. Only when there is a bet to "
            "answer.\n"
            "- call: match the other player's bet. With nothing to match, this is a check.\n"
            "- raise: match the bet and add 2 chips in round 1, or 4 chips in round 2. With "
            "nothing to match, this is a bet. At most two raises per round.\n"
            "A round ends when a bet is called or both players check. At the showdown a card "
            "that pairs the public card wins; otherwise the higher card wins; equal cards "
            "split the pot.\n"
            "Your payoff is the chips you win or lose (between -13 and +13).\n"
            "Reply with the name of your move: fold, call or raise (check and bet are "
            "accepted where they mean call and raise)."
        )

    def vector_bounds(self) -> tuple[float, float]:
        return (0.0, float(self.game.max_utility()))  # one-hots, and chips put in (<= 13)

    # Public betting state, from OpenSpiel's observation tensor of the acting seat:
    # [player one-hot (2)][private card (6)][public card (6)][chips put in by each player (2)]
    # and its information-state string for the actions of each round.
    @staticmethod
    def _public(state: Any, player: int) -> tuple[int, list[int], int]:
        tensor = state.observation_tensor(player)
        put_in = [int(x) for x in tensor[-2:]]
        round_no = 2 if any(tensor[8:14]) else 1
        rounds = _ROUNDS.search(state.information_state_string(player))
        actions = (rounds.group(round_no) if rounds else "").split()
        return round_no, put_in, sum(a == "2" for a in actions)

    def _card(self, state: Any, player: int) -> int | None:
        history = state.history()  # deals first: player 0's card, then player 1's
        return history[player] // 2 if len(history) > player else None

    def private_text(self, state: Any, player: int) -> str:
        card = self._card(state, player)
        return "" if card is None else f"Your card is a {LEDUC_RANKS[card]}."

    def private_facts(self, state: Any, player: int) -> dict[str, Any]:
        card = self._card(state, player)
        return {} if card is None else {"card": LEDUC_RANKS[card][0]}

    def move_name(self, state: Any, player: int, action: int) -> str:
        return ("fold", "call", "raise")[action]

    def move_aliases(self, state: Any, player: int, action: int) -> Sequence[str]:
        _, put_in, _ = self._public(state, player)
        if max(put_in) == put_in[player]:  # nothing to call
            return {1: ("check",), 2: ("bet",)}.get(action, ())
        return ()

    def unavailable_moves(self, state: Any, player: int) -> Sequence[str]:
        _, put_in, raises = self._public(state, player)
        out = ["fold"] if max(put_in) == put_in[player] else ["check", "bet"]
        return [*out, "raise"] if raises >= 2 else out

    def narrate_move(self, state: Any, player: int, action: int) -> list[Note]:
        role = self.roles[player]
        round_no, put_in, _ = self._public(state, player)
        to_call, size = max(put_in) - put_in[player], 2 * round_no
        if action == 0:
            text = f"{role} folds."
        elif action == 1:
            text = f"{role} checks (call)." if not to_call else f"{role} calls {to_call} (call)."
        elif not to_call:
            text = f"{role} bets {size} (raise)."
        else:
            text = f"{role} calls {to_call} and raises {size} more (raise)."
        return [(text, None)]

    def narrate_chance(self, state: Any, action: int) -> list[Note]:
        if len(state.history()) < 2:
            return []  # a private deal
        return [(f"Round 2: the public card is a {LEDUC_RANKS[action // 2]}.", None)]

    def narrate_end(self, state: Any) -> list[Note]:
        returns = state.returns()
        winner, loser = winner_and_loser(self.roles, returns)
        if state.history()[-1] == 0:
            how = f"{loser} folded, so {winner} takes the pot."
        elif returns[0] == returns[1]:
            how = "Showdown: the hands tie and the pot is split."
        else:
            how = f"Showdown: {winner} has the better hand and takes the pot."
        return [(f"{how} {payoffs_text(self.roles, returns)}", None)]

    over_text = "The hand is over."

    def lead_text(self, state: Any, player: int) -> str:
        return ""

    def turn_text(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        role, other = self.roles[player], self.roles[1 - player]
        round_no, put_in, _ = self._public(state, player)
        to_call, size = max(put_in) - put_in[player], 2 * round_no
        pot = f"Round {round_no}; you have put in {put_in[player]}, {other} {put_in[1 - player]}."
        if not to_call:
            situation = f"Nothing to call: call to check, or raise to bet {size}."
        elif 2 in legal:
            situation = f"Fold, call {to_call}, or raise (call {to_call} and add {size})."
        else:
            situation = f"Fold or call {to_call} (no more raises this round)."
        names = ", ".join(legal.values())
        return f"Your move, {role}. {pot} {situation} Reply with one of: {names}."
