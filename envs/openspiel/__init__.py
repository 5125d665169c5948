"""OpenSpiel's games as palaestra games: one bridge for any sequential OpenSpiel game.

OpenSpiel owns the rules, the returns and the solvers; the bridge owns the text (rules first,
the seat's private information, the history in words, the legal moves by name), the parsing
of replies, the seeded chance and the numeric observation (OpenSpiel's observation tensor,
with an action mask in the adapter's discrete action mode).
See "Games from OpenSpiel" in docs/games.md.

OpenSpiel is an optional extra (``pip install 'palaestra[openspiel]'``); importing this
package does not import it.
"""

from __future__ import annotations

from palaestra.envs.openspiel.bridge import OpenSpielGame, OpenSpielState
from palaestra.envs.openspiel.loading import (
    INSTALL_HINT,
    MissingOpenSpiel,
    load_game,
    pyspiel_available,
)

__all__ = [
    "INSTALL_HINT",
    "MissingOpenSpiel",
    "OpenSpielGame",
    "OpenSpielState",
    "load_game",
    "pyspiel_available",
]
