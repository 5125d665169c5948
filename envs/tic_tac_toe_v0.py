"""Tic-tac-toe, from OpenSpiel (``tic-tac-toe-v0``).

Played through OpenSpiel's ``tic_tac_toe`` (see `palaestra.envs.openspiel`); one of the
games SPIRAL (arXiv 2506.24119) trains on. A perfect-information game: a solved draw.

**Rules**: a 3x3 board; ``x`` moves first, then ``o``, each putting a mark in an empty cell.
Three in a row, column or diagonal wins; a full board without one is a draw.

**Roles**: ``x``, ``o`` (OpenSpiel players 0 and 1).

**Observation**: a ``Dict`` with ``"text"`` and ``"observation"``. The text starts with the
rules and the cell names (the same for both seats), then ``You are x.``, then the moves in
words (``[game master] x takes center.``), then an instruction with the board drawn as
text and the empty cells. ``"observation"`` is OpenSpiel's observation tensor (27 floats:
empty / x / o planes of the 3x3 board; bounds ``[0, 1]``). ``Observation.facts``:
``player``, ``info_state`` (OpenSpiel's string: the moves so far), ``legal_actions``,
``candidates``, ``private`` (``{}``).

**Action**: a cell name, case-insensitive: ``top-left``, ``top-center``, ``top-right``,
``middle-left``, ``center``, ``middle-right``, ``bottom-left``, ``bottom-center``,
``bottom-right`` (OpenSpiel's action ``3 * row + column``). A space may replace the hyphen,
and ``middle`` / ``centre`` may replace ``center`` in ``top-center``, ``bottom-center`` and
``center`` itself (``centre``, ``middle-center``). The first empty cell named counts; a
taken cell or no cell is an invalid move whose reason lists the empty cells. With
``action_mode="discrete"``: ``Discrete(9)`` and an ``"action_mask"``.

**Rewards**: at the end, OpenSpiel's returns: +1 win, -1 loss, 0 draw (zero-sum). Declared
reward range ``[-2, 1]`` (widened by the default invalid-move penalty). The ``penalty``
policy's null move is the first empty cell; a forfeit gives the offender -1 and the other +1.

**Infos** at the end: ``returns`` and ``openspiel_history``.

**Arguments**: ``text="auto"`` (``"generic"``: OpenSpiel's strings, ``x(1,1)``).

**Scripted players** (``scripted:tic-tac-toe/<name>``): ``uniform`` and ``minimax`` (perfect
play from OpenSpiel's solver, ties broken by the seeded generator).

**Version history**

* v0 — first release (OpenSpiel 2.0.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from palaestra.envs.openspiel.bridge import OpenSpielGame
from palaestra.envs.openspiel.policies import scripted_players
from palaestra.envs.registry import env_functions


class TicTacToeGame(OpenSpielGame):
    """OpenSpiel's ``tic_tac_toe`` with palaestra's text."""

    def __init__(self, params: Mapping[str, Any] | None = None, text: str = "auto") -> None:
        super().__init__("tic_tac_toe", params, text)


GAME = TicTacToeGame
SCRIPTED = scripted_players("tic_tac_toe")
env, raw_env, parallel_env = env_functions("tic-tac-toe-v0")

__all__ = ["GAME", "SCRIPTED", "TicTacToeGame", "env", "parallel_env", "raw_env"]
