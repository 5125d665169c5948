"""Negotiation: divide a pool of items whose values are private (``negotiation-v0``).

The item-division game of Lewis et al. 2017, *Deal or No Deal? End-to-End Learning for
Negotiation Dialogues*. Two players, ``alice`` and ``bob``, share a pool of books, hats and
balls. Each has private integer values per item type; the whole pool is worth exactly 10 points
to each of them, so what one wants the other may not.

**Pool and values** (drawn from the reset seed, as in the original self-play scenarios): one to
four of each item type, five to seven items in all; every item type is worth something to at
least one player and at least one type is worth something to both.

**Roles**: ``alice`` moves first, then the players alternate.

**Observation**: a ``Dict`` with ``"text"`` (the prompt: rules and the role's private values,
then the transcript, then this turn's instruction) and ``"observation"`` (12 floats: item
counts, own values, the items the other player's standing offer gives you or -1, that offer's
worth or -1, the fraction of turns used, and whether an offer is standing).

**Action**: free text. It may contain one formal act:

* ``OFFER: book=1 hat=2 ball=0`` — the number of each item *you* take; the other gets the rest
  (``1 book, 2 hats, 0 balls`` also parses). Every item type must be named.
* ``ACCEPT`` — accept the other player's standing offer.
* ``NO DEAL`` — walk away; both score 0.

A message with no act is talk. An empty message, two acts in one message, an offer of more
items than exist, or ``ACCEPT`` with nothing to accept is an invalid move, handled by the
env's ``invalid_move`` policy (``retry`` by default).

**Rewards**: on acceptance each player scores the value of the items it gets (general-sum:
payoffs are not squashed). No deal after ``max_turns`` moves, or a walk-away, scores 0 for
both. Penalties for invalid moves under the ``penalty`` policy, and forfeits, give -1.
Declared reward range ``[-1, 10]``.

**Infos** at the end: ``agreement``, ``scores``, ``deal`` (items per role),
``pareto_optimal`` (no other split is better for one player and no worse for the other) and
``item``, the deal's id: pool and both players' values as counts per item type,
``"pool 1-2-3 alice 4-0-2 bob 1-3-1"`` (seeds that draw the same deal share it).

**Arguments**: ``max_turns=10``; ``protocol="free"`` or ``"alternating_offers"`` (every move must
offer or accept); ``deal_discount=1.0`` (a deal in round *k* pays ``points * deal_discount**k``).
The id ``bargaining-v0`` is the Rubinstein variant: alternating offers with
``deal_discount=0.9``.

**Scripted players** (``scripted:negotiation/<name>``): ``fair`` (asks for half, accepts 5 or
more), ``hard`` (demands all it values, concedes one point per move down to 6) and ``accept``
(accepts anything).

**Version history**

* v0 — first release.
"""

from __future__ import annotations

from palaestra.envs.negotiation.rules import NegotiationGame as GAME
from palaestra.envs.negotiation.scripted import SCRIPTED
from palaestra.envs.registry import env_functions

env, raw_env, parallel_env = env_functions("negotiation-v0")

__all__ = ["GAME", "SCRIPTED", "env", "parallel_env", "raw_env"]
