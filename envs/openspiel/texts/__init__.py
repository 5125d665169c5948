"""Plain-words text for the OpenSpiel games palaestra registers by name, one module a game.

Each writer is small and mostly data: the rules statement, what a seat privately holds, the
history in words, move names and the other spellings accepted for them. Facts come only from
OpenSpiel's state through what the seat may know (its own deal, public actions, the payoffs
at the end); the other seat's card or dice are never named, not even at the showdown.
"""

from __future__ import annotations

from palaestra.envs.openspiel.texts.kuhn import KuhnText
from palaestra.envs.openspiel.texts.leduc import LeducText
from palaestra.envs.openspiel.texts.liars_dice import LiarsDiceText
from palaestra.envs.openspiel.texts.tic_tac_toe import TicTacToeText
from palaestra.envs.openspiel.writers import GameWriter

#: The writers tried in order for ``text="auto"``; any other game gets the generic writer.
WRITERS: tuple[type[GameWriter], ...] = (KuhnText, LeducText, TicTacToeText, LiarsDiceText)

__all__ = ["WRITERS", "KuhnText", "LeducText", "LiarsDiceText", "TicTacToeText"]
