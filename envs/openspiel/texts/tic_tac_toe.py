"""Tic-tac-toe in words: cell names (``top-left`` ... ``bottom-right``) and the board."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from palaestra.envs.openspiel.writers import (
    GameWriter,
    Note,
    payoffs_text,
    winner_and_loser,
)

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
            how = f"{winner_and_loser(self.roles, returns)[0]} has three in a row and wins."
        return [(f"{how} {payoffs_text(self.roles, returns)}", None)]

    @staticmethod
    def board(state: Any) -> str:
        rows = state.observation_string(0).split("\n")
        return "\n---+---+---\n".join(" " + " | ".join(row) for row in rows)

    def lead_text(self, state: Any, player: int) -> str:
        return f"The board now:\n{self.board(state)}\n\n"

    def turn_text(self, state: Any, player: int, legal: Mapping[int, str]) -> str:
        return (
            f"Your move, {self.roles[player]}. Empty cells: {', '.join(legal.values())}. "
            "Reply with one cell name."
        )
