"""Plain-words text for the OpenSpiel games palaestra registers by name.

Each writer is small and mostly data: the rules statement, what a seat privately holds, the
history in words, move names and the other spellings accepted for them. Facts come only from
OpenSpiel's state through what the seat may know (its own deal, public actions, the payoffs
at the end); the other seat's card or dice are never named, not even at the showdown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from palaestra.envs.openspiel.writers import GameWriter, Note, signed


def _payoffs(roles: Sequence[str], returns: Sequence[float]) -> str:
    return "Payoffs: " + ", ".join(f"{r} {signed(returns[p])}" for p, r in enumerate(roles)) + "."


def _winner_loser(roles: Sequence[str], returns: Sequence[float]) -> tuple[str, str]:
    order = sorted(range(len(roles)), key=lambda p: -returns[p])
    return roles[order[0]], roles[order[-1]]


# -- Kuhn poker ------------------------------------------------------------------------------
KUHN_CARDS = ("Jack", "Queen", "King")


class KuhnText(GameWriter):
    """Kuhn poker (two players): OpenSpiel's actions are Pass=0 and Bet=1."""

    short_name = "kuhn_poker"

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
            "Reply with the name of your move: pass or bet (check, call and fold are accepted "
            "where they mean that move)."
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
        return ("pass", "bet")[action]

    def move_aliases(self, state: Any, player: int, action: int) -> Sequence[str]:
        if self._facing_bet(state):
            return ("fold",) if action == 0 else ("call",)
        return ("check",) if action == 0 else ()

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
        winner, loser = _winner_loser(self.roles, returns)
        if state.history()[-2:] == [1, 0]:
            how = f"{loser} folded, so {winner} takes the pot."
        else:
            how = f"Showdown: {winner} has the higher card and takes the pot."
        return [(f"{how} {_payoffs(self.roles, returns)}", None)]

    def instruction(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        if state.is_terminal():
            return f"The hand is over. Your payoff: {signed(state.returns()[player])}."
        if not legal:
            return f"Wait: {self.roles[state.current_player()]} is to move."
        role, other = self.roles[player], self.roles[1 - player]
        if self._facing_bet(state):
            situation = f"{other} has bet 1 chip: pass to fold, or bet to call."
        else:
            situation = "Nobody has bet: pass to check, or bet 1 chip."
        return f"Your move, {role}. {situation} Reply with one word: pass or bet."


# -- Leduc poker ----------------------------------------------------------------------------
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
        winner, loser = _winner_loser(self.roles, returns)
        if state.history()[-1] == 0:
            how = f"{loser} folded, so {winner} takes the pot."
        elif returns[0] == returns[1]:
            how = "Showdown: the hands tie and the pot is split."
        else:
            how = f"Showdown: {winner} has the better hand and takes the pot."
        return [(f"{how} {_payoffs(self.roles, returns)}", None)]

    def instruction(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        if state.is_terminal():
            return f"The hand is over. Your payoff: {signed(state.returns()[player])}."
        if not legal:
            return f"Wait: {self.roles[state.current_player()]} is to move."
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


# -- tic-tac-toe ----------------------------------------------------------------------------
TTT_CELLS = (
    "top-left", "top-center", "top-right",
    "middle-left", "center", "middle-right",
    "bottom-left", "bottom-center", "bottom-right",
)  # fmt: skip
_TTT_ALIASES = {
    "top-center": ("top-middle", "top-centre"),
    "center": ("centre", "middle-center", "middle-centre", "middle-middle"),
    "bottom-center": ("bottom-middle", "bottom-centre"),
}


class TicTacToeText(GameWriter):
    """Tic-tac-toe: OpenSpiel's action ``3 * row + column``; x is player 0."""

    short_name = "tic_tac_toe"
    role_names = ("x", "o")

    def description(self) -> str:
        return "Tic-tac-toe: three in a row on a 3x3 board (OpenSpiel)"

    def rules(self) -> str:
        return (
            "Tic-tac-toe on a 3x3 board. x moves first, then o; each move puts your mark in "
            "an empty cell. Three of your marks in a row, column or diagonal wins; a full "
            "board without such a line is a draw. Payoff: +1 for a win, -1 for a loss, 0 for "
            "a draw.\n"
            "The cells are named by row (top, middle, bottom) and column (left, center, "
            "right):\n"
            "  top-left    | top-center    | top-right\n"
            "  middle-left | center        | middle-right\n"
            "  bottom-left | bottom-center | bottom-right\n"
            "Reply with the name of an empty cell, for example center or top-left."
        )

    def vector_bounds(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def move_name(self, state: Any, player: int, action: int) -> str:
        return TTT_CELLS[action]

    def move_aliases(self, state: Any, player: int, action: int) -> Sequence[str]:
        return _TTT_ALIASES.get(TTT_CELLS[action], ())

    def unavailable_moves(self, state: Any, player: int) -> Sequence[str]:
        legal = set(state.legal_actions()) if not state.is_terminal() else set()
        taken = [a for a in range(9) if a not in legal]
        return [n for a in taken for n in (TTT_CELLS[a], *_TTT_ALIASES.get(TTT_CELLS[a], ()))]

    def narrate_move(self, state: Any, player: int, action: int) -> list[Note]:
        return [(f"{self.roles[player]} takes {TTT_CELLS[action]}.", None)]

    def narrate_end(self, state: Any) -> list[Note]:
        returns = state.returns()
        if returns[0] == returns[1]:
            how = "The board is full: a draw."
        else:
            how = f"{_winner_loser(self.roles, returns)[0]} has three in a row and wins."
        return [(f"{how} {_payoffs(self.roles, returns)}", None)]

    @staticmethod
    def board(state: Any) -> str:
        rows = state.observation_string(0).split("\n")
        return "\n---+---+---\n".join(" " + " | ".join(row) for row in rows)

    def instruction(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        board = f"The board now:\n{self.board(state)}\n\n"
        if state.is_terminal():
            return f"{board}The game is over. Your payoff: {signed(state.returns()[player])}."
        if not legal:
            return f"{board}Wait: {self.roles[state.current_player()]} is to move."
        return (
            f"{board}Your move, {self.roles[player]}. Empty cells: {', '.join(legal.values())}. "
            "Reply with one cell name."
        )


# -- Liar's dice ----------------------------------------------------------------------------
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
        winner, _ = _winner_loser(self.roles, returns)
        verdict = "holds" if winner != caller else "fails"
        text = f"The dice are counted: the bid of {bid} {verdict}, so {winner} wins."
        return [(f"{text} {_payoffs(self.roles, returns)}", None)]

    def instruction(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        if state.is_terminal():
            return f"The game is over. Your payoff: {signed(state.returns()[player])}."
        if not legal:
            return f"Wait: {self.roles[state.current_player()]} is to move."
        last = self._last_bid(state)
        said = "No bid yet." if last is None else f"The last bid: {self.bid_name(last)}."
        return (
            f"Your move, {self.roles[player]}. {said} Legal moves: {', '.join(legal.values())}. "
            "Reply with one of them."
        )


#: The writers tried in order for ``text="auto"``; any other game gets the generic writer.
WRITERS: tuple[type[GameWriter], ...] = (KuhnText, LeducText, TicTacToeText, LiarsDiceText)
