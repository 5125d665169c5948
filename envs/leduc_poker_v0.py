"""Leduc poker: two betting rounds and a public card, from OpenSpiel (``leduc-poker-v0``).

Leduc hold'em (Southey et al. 2005), played through OpenSpiel's ``leduc_poker`` (rules and
payoffs are OpenSpiel's; see `palaestra.envs.openspiel`). Small enough (936
information states) for exact exploitability, large enough that bluffing and card reading
matter.

**Rules**: six cards, two each of Jack, Queen, King (suits do not matter). Each player antes
1 chip and gets one private card. Two betting rounds, ``player_0`` first in each; after the
first, one public card is turned up. Raises are 2 chips in round 1 and 4 in round 2, at most
two per round. At the showdown a card pairing the public card wins, else the higher card;
equal cards split the pot.

**Roles**: ``player_0``, ``player_1`` (OpenSpiel players 0 and 1).

**Observation**: a ``Dict`` with ``"text"`` and ``"observation"``. The text starts with the
rules (the same for both seats), then ``You are player_1. Your card is a King.``, then the
public history in words (``player_0 bets 2 (raise).``, ``Round 2: the public card is a
Queen.``), then an instruction with the chips each player has put in and the legal moves.
The other player's card is never shown. ``"observation"`` is OpenSpiel's observation tensor
(16 floats: player one-hot, own card, public card, chips put in by each; bounds ``[0, 13]``).
``Observation.facts``: ``player``, ``info_state`` (OpenSpiel's information-state string),
``legal_actions``, ``candidates``, ``private`` (``{"card": "K"}``).

**Action**: text naming a move, case-insensitive: ``fold``, ``call`` or ``raise`` (OpenSpiel's
Fold=0, Call=1, Raise=2). With nothing to call, ``check`` is accepted for call and ``bet``
for raise. The first legal move named in the reply counts; anything else is an invalid move
whose reason lists the legal moves. With ``action_mode="discrete"``: ``Discrete(3)`` and an
``"action_mask"``.

**Rewards**: at the end, OpenSpiel's returns: the chips won or lost (zero-sum, between -13
and +13). Declared reward range ``[-14, 13]`` (widened by the default invalid-move penalty).
The ``penalty`` policy's null move is the first legal action (fold when facing a bet, else
check); a forfeit gives the offender -13 and the other +13.

**Infos** at the end: ``returns``, ``openspiel_history`` (every OpenSpiel action, deals
included) and ``private`` (each seat's card, for records).

**Arguments**: ``params`` (OpenSpiel parameters; with ``action_mapping``,
``suit_isomorphism`` or more players the text falls back to OpenSpiel's strings) and
``text="auto"`` (``"generic"``: OpenSpiel's strings).

**Scripted players** (``scripted:leduc-poker/<name>``): ``uniform`` and ``cfr`` (a CFR+
average policy, its exploitability recorded next to it), both ``PolicyAgent``s.

**Version history**

* v0 — first release (OpenSpiel 2.0.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from palaestra.envs.openspiel.bridge import OpenSpielGame
from palaestra.envs.openspiel.policies import scripted_players
from palaestra.envs.registry import env_functions


class LeducPokerGame(OpenSpielGame):
    """OpenSpiel's ``leduc_poker`` with palaestra's text."""

    def __init__(self, params: Mapping[str, Any] | None = None, text: str = "auto") -> None:
        super().__init__("leduc_poker", params, text)


GAME = LeducPokerGame
SCRIPTED = scripted_players("leduc_poker")
env, raw_env, parallel_env = env_functions("leduc-poker-v0")

__all__ = ["GAME", "SCRIPTED", "LeducPokerGame", "env", "parallel_env", "raw_env"]
