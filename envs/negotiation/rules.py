"""Rules of the item-division negotiation (Lewis et al. 2017, "Deal or No Deal?").

Pure and deterministic given the generator; no PettingZoo here. The docs page is the
docstring of :mod:`palaestra.envs.negotiation_v0`.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import mul, sub
from typing import Any, NamedTuple

import numpy as np

from palaestra.envs.core import (
    Game,
    GameInfo,
    GameState,
    InvalidMove,
    RoleView,
    StepOutcome,
    new_role_view,
    require_int,
)

ITEMS = ("book", "hat", "ball")
ROLES = ("alice", "bob")
OTHER = {ROLES[0]: ROLES[1], ROLES[1]: ROLES[0]}
_NO_REWARDS = StepOutcome()  # every move's outcome: rewards come only at the end (returns)
TOTAL_VALUE = 10
PROTOCOLS = ("free", "alternating_offers")


class Move(NamedTuple):
    """A parsed negotiation move: talk, with at most one formal act."""

    kind: str  # "talk", "offer", "accept", "walk"
    message: str
    take: tuple[int, ...] | None = None  # for offers: how many of each item the speaker takes


@dataclass
class NegotiationState(GameState):
    counts: tuple[int, ...] = ()
    values: dict[str, tuple[int, ...]] = field(default_factory=dict)
    offer: tuple[str, tuple[int, ...]] | None = None  # (proposer, what the proposer takes)
    deal: dict[str, tuple[int, ...]] | None = None  # role -> items it gets
    preambles: dict[str, str] = field(default_factory=dict)  # per-role cache of fixed text


@lru_cache(maxsize=1)
def pool_options() -> tuple[tuple[int, ...], ...]:
    """Every pool of one to four of each item type with five to seven items in all."""
    counts = itertools.product(range(1, 5), repeat=len(ITEMS))
    return tuple(c for c in counts if 5 <= sum(c) <= 7)


@lru_cache(maxsize=64)
def value_vectors(counts: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Every non-negative integer valuation that makes the pool worth exactly 10."""
    ranges = [range(TOTAL_VALUE // c + 1) for c in counts]
    return tuple(v for v in itertools.product(*ranges) if np.dot(v, counts) == TOTAL_VALUE)


@lru_cache(maxsize=8192)
def _playable(va: tuple[int, ...], vb: tuple[int, ...]) -> bool:
    """Every item type is worth something to someone, and at least one type to both."""
    valued_by_someone = all(a > 0 or b > 0 for a, b in zip(va, vb))
    valued_by_both = any(a > 0 and b > 0 for a, b in zip(va, vb))
    return valued_by_someone and valued_by_both


@lru_cache(maxsize=64)
def all_splits(counts: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Every way to take a number of each item (what one side gets)."""
    return tuple(itertools.product(*(range(c + 1) for c in counts)))


def points(values: tuple[int, ...], items: tuple[int, ...]) -> int:
    return int(sum(map(mul, values, items)))


def complement(counts: tuple[int, ...], items: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(map(sub, counts, items))


@lru_cache(maxsize=64)
def split_matrix(counts: tuple[int, ...]) -> np.ndarray:
    """:func:`all_splits` as an ``(n_splits, n_items)`` integer array (for vectorised scoring)."""
    return np.array(all_splits(counts), dtype=np.int64)


@lru_cache(maxsize=4096)
def split_worths(counts: tuple[int, ...], values: tuple[int, ...]) -> tuple[int, ...]:
    """What each split of :func:`all_splits` is worth under ``values`` (to whoever takes it).

    Cached: a pool has few valuations, so episodes share these far more often than they
    share a whole (pool, both valuations, deal).
    """
    return tuple(int(w) for w in split_matrix(counts) @ np.asarray(values))


@lru_cache(maxsize=4096)
def is_pareto_optimal(
    counts: tuple[int, ...], va: tuple[int, ...], vb: tuple[int, ...], a_gets: tuple[int, ...]
) -> bool:
    """No other split gives one player more and the other no less."""
    # A plain loop over at most a few dozen splits is faster than numpy on arrays this small
    # (the check runs once per finished episode).
    pa, pb = points(va, a_gets), points(vb, complement(counts, a_gets))
    b_total = points(vb, counts)
    for qa, b_part in zip(split_worths(counts, va), split_worths(counts, vb)):
        qb = b_total - b_part  # b gets what a does not take
        if qa >= pa and qb >= pb and (qa > pa or qb > pb):
            return False
    return True


@lru_cache(maxsize=64)
def offer_texts(counts: tuple[int, ...]) -> tuple[str, ...]:
    """Every formal offer as text (the legal formal moves, for random and candidate play)."""
    return tuple(f"OFFER: {format_items(s)}" for s in all_splits(counts))


@lru_cache(maxsize=128)
def candidate_moves(counts: tuple[int, ...], can_accept: bool) -> tuple[str, ...]:
    """The candidate moves of a seat: ACCEPT when an offer stands, then every offer."""
    return (("ACCEPT",) if can_accept else ()) + offer_texts(counts)


@lru_cache(maxsize=64)
def _with_max_turns(game: type[Game], max_turns: int) -> GameInfo:
    # Shared between games with the same arguments (GameInfo is frozen); built once each.
    return dataclasses.replace(game.info, max_turns=max_turns)


def format_items(items: Sequence[int]) -> str:
    """``(1, 0, 2)`` -> ``"book=1 hat=0 ball=2"``."""
    return _format_items(items if type(items) is tuple else tuple(items))


@lru_cache(maxsize=4096)
def _format_items(items: tuple[int, ...]) -> str:
    return " ".join(f"{name}={n}" for name, n in zip(ITEMS, items))


@lru_cache(maxsize=128)
def describe_pool(counts: tuple[int, ...]) -> str:
    return ", ".join(f"{n} {name}{'s' if n != 1 else ''}" for name, n in zip(ITEMS, counts))


_OFFER = re.compile(r"\bOFFER\s*:(?P<body>[^\n]*)", re.IGNORECASE)
_ACCEPT = re.compile(r"\bACCEPT\b", re.IGNORECASE)
_WALK = re.compile(r"\bNO\s+DEAL\b", re.IGNORECASE)
_ITEM_EQ = re.compile(r"\b(book|hat|ball)s?\s*[=:]\s*(\d+)", re.IGNORECASE)
_NUM_ITEM = re.compile(r"\b(\d+)\s*(book|hat|ball)s?\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def parse_offer(body: str, counts: tuple[int, ...]) -> tuple[int, ...]:
    """Parse ``book=1 hat=0 ball=2`` (or ``1 book, 0 hats, 2 balls``) into counts to take.

    Cached: players (scripted ones above all) repeat the same offers. An offer that does not
    parse raises every time (exceptions are not cached).
    """
    found: dict[str, int] = {}
    for name, number in _ITEM_EQ.findall(body) or [(n, c) for c, n in _NUM_ITEM.findall(body)]:
        key = name.lower()
        if key in found:
            raise InvalidMove(f"the offer names {key} twice.")
        found[key] = int(number)
    missing = [name for name in ITEMS if name not in found]
    if missing:
        raise InvalidMove(
            f"an offer must say how many of every item you take; missing: {', '.join(missing)}. "
            f"Example: OFFER: {format_items(tuple(c // 2 for c in counts))}"
        )
    take = tuple(found[name] for name in ITEMS)
    for name, n, c in zip(ITEMS, take, counts):
        if n > c:
            raise InvalidMove(f"you asked for {n} {name}s but there are only {c}.")
    return take


@lru_cache(maxsize=64)
def rules_text(protocol: str, max_turns: int, deal_discount: float) -> str:
    """The rules as every seat reads them (the opening of each preamble)."""
    moves = (
        "Every move must contain either OFFER: ... or ACCEPT (alternating offers)."
        if protocol == "alternating_offers"
        else "Each turn, write a short message to the other player."
    )
    discount = (
        f" A deal is worth {deal_discount:g}x less for each round it takes."
        if deal_discount < 1.0
        else ""
    )
    items = " ".join(f"{name}=<number>" for name in ITEMS)
    return (
        f"{ROLES[0]} and {ROLES[1]} negotiate over how to divide a pool of items "
        f"({', '.join(name + 's' for name in ITEMS)}). Each has private values per item, "
        f"and the whole pool is worth {TOTAL_VALUE} points to each.\n"
        f"{moves} To propose a division, add a line 'OFFER: {items}' with the number of "
        f"each item YOU take; the other player gets the rest. To accept the other "
        f"player's last offer, write ACCEPT. To end without a deal, write NO DEAL (both "
        f"score 0). With no deal after {max_turns} moves in all, both score 0."
        f"{discount} Your score is the value of the items you get."
    )


@lru_cache(maxsize=4096)
def seat_preamble(rules: str, role: str, counts: tuple[int, ...], mine: tuple[int, ...]) -> str:
    """The rules, then the seat's role, the pool and its private values.

    Cached: there are few pools and valuations, so seats of different episodes often read
    the same preamble.
    """
    other = OTHER[role]
    return f"{rules}\n\n" + (
        f"You are {role}, negotiating with {other}.\n"
        f"The pool: {describe_pool(counts)} (to take all of it: "
        f"'OFFER: {format_items(counts)}').\n"
        f"Your private values per item: {format_items(mine)} "
        f"(the whole pool is worth {TOTAL_VALUE} points to you). "
        f"{other} has different values that you do not know."
    )


class NegotiationGame(Game):
    """Deal or No Deal item division, with free talk or strict alternating offers.

    Args:
        max_turns: Moves in all (both players) before the game ends with no deal.
        protocol: ``"free"`` (talk, offers and acceptance; the original game) or
            ``"alternating_offers"`` (every move is an offer or an acceptance; Rubinstein).
        deal_discount: Per-round factor on the payoff of a deal (``1.0`` for none); a round is
            one move by each player, so a deal in round ``k`` pays ``points * deal_discount**k``.
    """

    info = GameInfo(
        name="negotiation",
        roles=ROLES,
        description="Divide books, hats and balls with private values (Deal or No Deal).",
        reward_range=(-1.0, float(TOTAL_VALUE)),
        max_turns=10,
        discount=1.0,
        vector_size=12,
        vector_bounds=(-1.0, float(TOTAL_VALUE)),
    )

    def __init__(
        self, max_turns: int = 10, protocol: str = "free", deal_discount: float = 1.0
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        require_int("max_turns", max_turns, 2)
        if not 0.0 < deal_discount <= 1.0:
            raise ValueError(f"deal_discount must be in (0, 1], got {deal_discount!r}")
        self.max_turns = max_turns
        self.protocol = protocol
        self.deal_discount = deal_discount
        self.info = _with_max_turns(type(self), max_turns)

    # -- setup ------------------------------------------------------------------------------
    def new_state(self, rng: np.random.Generator) -> NegotiationState:
        pools = pool_options()
        counts = pools[int(rng.integers(len(pools)))]
        options = value_vectors(counts)
        while True:
            va = options[int(rng.integers(len(options)))]
            vb = options[int(rng.integers(len(options)))]
            if _playable(va, vb):
                break
        state = NegotiationState(
            to_move=(ROLES[0],), counts=counts, values={"alice": va, "bob": vb}
        )
        state.transcript.gm(f"The pool holds {describe_pool(counts)}. alice moves first.")
        return state

    # -- moves ------------------------------------------------------------------------------
    def parse(self, state: GameState, role: str, text: str) -> Move:
        assert isinstance(state, NegotiationState)
        if not text:
            raise InvalidMove("your message is empty.")
        # Each pattern can only match where its word is (case aside), and a substring test is
        # far cheaper than a search: most messages name no act at all.
        lowered = text.lower()
        offer = _OFFER.search(text) if "offer" in lowered else None
        accept = _ACCEPT.search(text) if "accept" in lowered else None
        walk = _WALK.search(text) if "deal" in lowered else None
        if (offer is not None) + (accept is not None) + (walk is not None) > 1:
            raise InvalidMove("a move may contain only one of OFFER, ACCEPT or NO DEAL.")
        if accept:
            if state.offer is None or state.offer[0] == role:
                raise InvalidMove("there is no offer from the other player to accept.")
            return Move("accept", text)
        if walk:
            return Move("walk", text)
        if offer:
            return Move("offer", text, parse_offer(offer.group("body"), state.counts))
        if self.protocol == "alternating_offers":
            raise InvalidMove("every move must contain OFFER: ... or ACCEPT.")
        return Move("talk", text)

    def null_move(self, state: GameState, role: str) -> Move:
        return Move("talk", "")

    def apply(self, state: GameState, moves: Mapping[str, Any]) -> StepOutcome:
        assert isinstance(state, NegotiationState)
        (role,) = state.to_move
        move: Move = moves[role]
        other = OTHER[role]
        if move.message:
            state.transcript.add(role, move.message)
        if move.kind == "offer":
            assert move.take is not None
            state.offer = (role, move.take)
            state.transcript.gm(
                f"{role} proposes: {role} gets {format_items(move.take)}; "
                f"{other} gets {format_items(complement(state.counts, move.take))}."
            )
        elif move.kind == "accept":
            assert state.offer is not None
            proposer, take = state.offer
            state.deal = {proposer: take, role: complement(state.counts, take)}
            factor = self.deal_discount ** (state.turn // 2)
            state.returns = {r: points(state.values[r], state.deal[r]) * factor for r in ROLES}
            state.done, state.outcome = True, "agreement"
            state.transcript.gm(f"{role} accepts. Deal.")
        elif move.kind == "walk":
            state.returns = dict.fromkeys(ROLES, 0.0)
            state.done, state.outcome = True, "no agreement"
            state.transcript.gm(f"{role} walks away. No deal: both score 0.")
        state.turn += 1
        if not state.done and state.turn >= self.max_turns:
            state.returns = dict.fromkeys(ROLES, 0.0)
            state.done, state.outcome = True, "no agreement"
            state.transcript.gm("Out of turns. No deal: both score 0.")
        state.to_move = () if state.done else (other,)
        return _NO_REWARDS

    # -- views ------------------------------------------------------------------------------
    def _preamble(self, state: NegotiationState, role: str) -> str:
        """Rules, then role and private values: fixed for the episode, so built once per seat.

        The rules come first and name no seat or episode fact, so every seat of every episode
        reads the same opening (a local model's prefix cache then prefills it once).
        """
        return seat_preamble(self._rules(), role, state.counts, state.values[role])

    def _rules(self) -> str:
        """The part of the preamble that is the same for both seats and every episode."""
        return rules_text(self.protocol, self.max_turns, self.deal_discount)

    def view(self, state: GameState, role: str) -> RoleView:
        assert isinstance(state, NegotiationState)
        mine = state.values[role]
        preamble = state.preambles.get(role)
        if preamble is None:
            preamble = state.preambles[role] = self._preamble(state, role)
        standing = my_last = None
        if state.offer is not None:
            if state.offer[0] != role:
                standing = complement(state.counts, state.offer[1])
            else:
                my_last = state.offer[1]
        progress = state.turn / self.max_turns
        if standing is not None:
            worth = points(mine, standing)
            instruction = (
                f"Move {state.turn + 1} of {self.max_turns}. {OTHER[role]}'s offer gives you "
                f"{format_items(standing)} ({worth} points). Your message, {role}:"
            )
            vector = [*state.counts, *mine, *standing, worth, progress, 1.0]
        else:
            instruction = f"Move {state.turn + 1} of {self.max_turns}. Your message, {role}:"
            vector = [*state.counts, *mine, -1, -1, -1, -1, progress, 0.0]
        facts = {
            "role": role,
            "items": ITEMS,
            "counts": state.counts,
            "values": mine,
            "standing_offer": standing,
            "my_last_offer": my_last,
            "turn": state.turn,
            "max_turns": self.max_turns,
            "protocol": self.protocol,
            "candidates": candidate_moves(state.counts, standing is not None),
        }
        return new_role_view(preamble, instruction, vector, facts)

    def summary(self, state: GameState) -> dict[str, Any]:
        assert isinstance(state, NegotiationState)
        agreed = state.deal is not None
        out: dict[str, Any] = {
            "agreement": agreed,
            "scores": {r: float(state.returns.get(r, 0.0)) for r in ROLES},
            "pareto_optimal": False,
            # The deal being negotiated, the same on every seed that draws it: evaluations
            # group repeated items by it (palaestra.arena.train.evaluation).
            "item": "pool {} alice {} bob {}".format(
                *("-".join(map(str, v)) for v in (state.counts, *map(state.values.get, ROLES)))
            ),
        }
        if state.deal is not None:
            out["deal"] = {r: list(items) for r, items in state.deal.items()}
            out["pareto_optimal"] = is_pareto_optimal(
                state.counts, state.values["alice"], state.values["bob"], state.deal["alice"]
            )
        return out
