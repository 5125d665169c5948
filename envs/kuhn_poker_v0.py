"""Kuhn poker: the smallest poker, from OpenSpiel (``kuhn-poker-v0``).

Kuhn's (1950) three-card poker, played through OpenSpiel's ``kuhn_poker`` (rules and payoffs
are OpenSpiel's; see `palaestra.envs.openspiel`). It is one of the games SPIRAL
(arXiv 2506.24119) trains on, and small enough (12 information states) for exact
exploitability.

**Rules**: a deck of Jack, Queen, King. Each player antes 1 chip and is dealt one private
card. ``player_0`` acts first. A move is ``pass`` or ``bet`` (1 chip): with no bet to answer
they are a check and a bet; facing a bet, a fold and a call. The betting ends after
check-check, bet-call or bet-fold; without a fold the higher card wins the pot.

**Roles**: ``player_0``, ``player_1`` (OpenSpiel players 0 and 1).

**Observation**: a ``Dict`` with ``"text"`` and ``"observation"``. The text starts with the
rules (the same for both seats, so they share a cached prefix), then ``You are player_0.
Your card is the King.``, then the public history in words (``[game master] player_1 bets 1
chip (bet).``), then this turn's instruction with the legal moves. The other player's card is
never shown, not even at the showdown (the message says only who had the higher card).
``"observation"`` is OpenSpiel's observation tensor for the seat (7 floats: the player
one-hot, the own card one-hot, the chips each player has put in; bounds ``[0, 2]``).
``Observation.facts`` holds ``player``, ``info_state`` (OpenSpiel's information-state string,
e.g. ``"2pb"``), ``legal_actions``, ``candidates`` and ``private`` (``{"card": "K"}``).

**Action**: text naming a move, case-insensitive: ``pass`` or ``bet``. ``check`` is accepted
for pass when nobody has bet; ``fold`` and ``call`` for pass and bet when facing a bet. The
first legal move named in the reply counts (``"I bet"`` bets). Anything else is an invalid
move whose reason lists the legal moves, handled by the ``invalid_move`` policy. With
``action_mode="discrete"``: ``Discrete(2)`` actions (OpenSpiel's Pass=0, Bet=1) and an
``"action_mask"`` observation key.

**Rewards**: at the end, OpenSpiel's returns: +1/-1 when the antes change hands, +2/-2 after
a called bet (zero-sum). Declared reward range ``[-3, 2]``: OpenSpiel's ``[-2, 2]`` widened by
the default invalid-move penalty. The ``penalty`` policy's null move is ``pass``; a forfeit
gives the offender -2 and the other +2.

**Infos** at the end: ``returns``, ``openspiel_history`` (every OpenSpiel action, the deals
included, to replay the episode) and ``private`` (each seat's card, for records).

**Arguments**: ``params`` (OpenSpiel parameters; other player counts fall back to OpenSpiel's
own strings), ``text="auto"`` (``"generic"``: OpenSpiel's strings instead of the words
above) and ``name_card=False``: with ``True`` the moves are written after the card
(``King: bet``, ``King: pass``; the plain names stay accepted). A reply that names its card
first puts the card right before the move in the model's context, which a small model's
policy gradient separates from the other cards far better (docs/training.md, Kuhn poker
self-play).

**Scripted players** (``scripted:kuhn-poker/<name>``): ``uniform`` (each legal move with
equal probability, sampled from ``seed``, the episode, the turn and the role) and ``nash``
(Kuhn's equilibrium). Both are ``PolicyAgent``s, whose action distributions the exact
evaluation (``palaestra.arena.exact``) reads at every information state.

**Version history**

* v0 — first release (OpenSpiel 2.0.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from palaestra.envs.openspiel.bridge import OpenSpielGame
from palaestra.envs.openspiel.policies import scripted_players
from palaestra.envs.registry import env_functions


class KuhnPokerGame(OpenSpielGame):
    """OpenSpiel's ``kuhn_poker`` with palaestra's text."""

    def __init__(
        self, params: Mapping[str, Any] | None = None, text: str = "auto", name_card: bool = False
    ) -> None:
        super().__init__("kuhn_poker", params, text, **({"name_card": True} if name_card else {}))


GAME = KuhnPokerGame
SCRIPTED = scripted_players("kuhn_poker")
env, raw_env, parallel_env = env_functions("kuhn-poker-v0")

__all__ = ["GAME", "SCRIPTED", "KuhnPokerGame", "env", "parallel_env", "raw_env"]
