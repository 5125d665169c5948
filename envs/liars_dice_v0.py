"""Liar's dice: bid on hidden dice or call the bluff, from OpenSpiel (``liars-dice-v0``).

Played through OpenSpiel's ``liars_dice`` (rules and payoffs are OpenSpiel's; see
`palaestra.envs.openspiel`).

**Rules**: each player rolls one six-sided die (``numdice``) in secret. In turn, from
``player_0``, players bid on how many of all the dice show a face (``2 fives``: at least two
fives); sixes are wild and count as every face. Each bid must be higher: more dice, or the
same number of a higher face. Instead of bidding a player may call ``liar``: if the bid
holds, the caller loses; otherwise the bidder loses.

**Roles**: ``player_0``, ``player_1`` (OpenSpiel players 0 and 1).

**Observation**: a ``Dict`` with ``"text"`` and ``"observation"``. The text starts with the
rules (the same for both seats), then ``You are player_0. Your die shows 3.``, then the bids
in words (``[game master] player_1 bids 2 fives.``), then an instruction with the last bid
and every legal move. The other player's dice are never shown, not even when they are
counted (the message says only whether the bid held). ``"observation"`` is OpenSpiel's
observation tensor (21 floats for one die each: player one-hot, own die, bids so far;
bounds ``[0, 1]``). ``Observation.facts``: ``player``, ``info_state``, ``legal_actions``,
``candidates``, ``private`` (``{"dice": [3]}``).

**Action**: a bid or ``liar``, case-insensitive. A bid is a count and a face: ``2 fives``,
``two fives``, ``2 5s``; a count of one reads ``1 five`` (``one five``, ``1 fives``). The
first legal move named in the reply counts; a bid that is not higher than the last, or
``liar`` before any bid, is an invalid move whose reason lists the legal moves. With
``action_mode="discrete"``: OpenSpiel's actions (bid of *q* of face *f* is
``6(q - 1) + f - 1``, liar is the last) and an ``"action_mask"``.

**Rewards**: at the end, OpenSpiel's returns: +1 for the winner, -1 for the loser
(zero-sum). Declared reward range ``[-2, 1]`` (widened by the default invalid-move penalty).
The ``penalty`` policy's null move is the lowest legal bid (``liar`` when no bid is left); a
forfeit gives the offender -1 and the other +1.

**Infos** at the end: ``returns``, ``openspiel_history`` (the rolls included) and
``private`` (each seat's dice, for records).

**Arguments**: ``params`` (OpenSpiel parameters such as ``{"numdice": 2}``; other dice
sides or bidding rules fall back to OpenSpiel's strings) and ``text="auto"``.

**Scripted players** (``scripted:liars-dice/<name>``): ``uniform``.

**Version history**

* v0 — first release (OpenSpiel 2.0.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from palaestra.envs.openspiel.bridge import OpenSpielGame
from palaestra.envs.openspiel.policies import scripted_players
from palaestra.envs.registry import env_functions


class LiarsDiceGame(OpenSpielGame):
    """OpenSpiel's ``liars_dice`` with palaestra's text."""

    def __init__(self, params: Mapping[str, Any] | None = None, text: str = "auto") -> None:
        super().__init__("liars_dice", params, text)


GAME = LiarsDiceGame
SCRIPTED = scripted_players("liars_dice")
env, raw_env, parallel_env = env_functions("liars-dice-v0")

__all__ = ["GAME", "SCRIPTED", "LiarsDiceGame", "env", "parallel_env", "raw_env"]
