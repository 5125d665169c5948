"""Exact exploitability of a scoring agent in Kuhn poker, for the self-play learning run.

``palaestra.arena.exact`` is the library's exact evaluation; this module reads the same
thing with a few lines of OpenSpiel for ``benchmarks/learning/kuhn_selfplay.py``, so the run
can log exploitability at every evaluation whatever state that module is in, and so the
run's figures do not depend on another module's choices. At each of Kuhn's 12 information
states the observation is the one the seat gets in play (``make_observation`` after
``game.replay`` of a history reaching the state); the agent's ``score`` gives the
log-probability that its reply begins with each legal move's text; the policy is their
softmax over the legal moves (what the agent plays when it names a move), and
``invalid_mass`` is ``1 - sum(exp(score))``. OpenSpiel's ``exploitability`` is
``NashConv / 2`` (uniform random play: 0.4583, Nash: 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

ENV_ID = "kuhn-poker-v0"
CARDS = "JQK"


def decision_states(game: Any) -> list[tuple[str, int, list[int]]]:
    """``(info_state, player, history)`` for every information state, in a fixed order."""
    found: dict[str, tuple[str, int, list[int]]] = {}

    def walk(state: Any) -> None:
        if state.is_terminal():
            return
        if state.is_chance_node():
            for action, _ in state.chance_outcomes():
                walk(state.child(action))
            return
        player = state.current_player()
        key = state.information_state_string(player)
        found.setdefault(key, (key, player, list(state.history())))
        for action in state.legal_actions():
            walk(state.child(action))

    walk(game.pyspiel_game.new_initial_state())
    return sorted(found.values(), key=lambda t: (t[1], len(t[0]), t[0]))


def _score(agent: Any, observations: list[Any], candidates: list[list[str]]) -> list[list[float]]:
    """Log-probability that the reply begins with each candidate, as ``HFAgent.score`` (no
    top-k/top-p), with the 24 rows' shared rules computed once (the trainer's shared-prefix
    pass, ``palaestra.arena.train.prefix``), which makes an evaluation a few times cheaper."""
    import torch

    from palaestra.arena.train.prefix import shared_prefix_length, shared_prefix_logprobs
    from palaestra.arena.train.samples import Sample

    if getattr(agent, "top_k", 0) or getattr(agent, "top_p", 1.0) < 1:
        return agent.score(observations, candidates)
    tok = agent.tokenizer
    rows, where = [], []
    for i, (obs, texts) in enumerate(zip(observations, candidates)):
        prompt = list(agent.render(obs).ids)
        for j, text in enumerate(texts):
            reply = list(tok(text, add_special_tokens=False)["input_ids"])
            rows.append(Sample(prompt, reply, [0.0] * len(reply), ENV_ID, "", "", "", 0, 0, 0))
            where.append((i, j))
    if shared_prefix_length(rows) == 0:
        return agent.score(observations, candidates)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    temperature = agent.temperature if agent.temperature > 0 else 1.0
    model = agent.model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logp, _, _ = shared_prefix_logprobs(model, rows, pad_id=pad, temperature=temperature)
    finally:
        model.train(was_training)
    out = [[0.0] * len(texts) for texts in candidates]
    for (i, j), row in zip(where, logp.sum(-1).tolist()):
        out[i][j] = float(row)
    return out


def policy_table(agent: Any, game: Any | None = None) -> list[dict[str, Any]]:
    """Per information state: the agent's distribution over the legal moves, scored."""
    from palaestra import envs
    from palaestra.envs.adapter import make_observation

    game = game or envs.spec(ENV_ID).make_game()
    states = decision_states(game)
    observations, candidates = [], []
    for _key, player, history in states:
        state = game.replay(history)
        observations.append(make_observation(game, state, game.role_of(player), ENV_ID))
        candidates.append(list(game.legal_moves(state).values()))
    scores = _score(agent, observations, candidates)
    rows = []
    for (key, player, history), moves, logps in zip(states, candidates, scores):
        logps = np.array(logps, dtype=np.float64)
        mass = np.exp(logps)
        probs = np.exp(logps - logps.max())
        probs /= probs.sum()
        legal = list(game.legal_moves(game.replay(history)))
        rows.append(
            {
                "info_state": key,
                "player": player,
                "card": CARDS[int(key[0])],
                "history": key[1:],
                "moves": moves,
                "actions": legal,
                "probs": [float(p) for p in probs],
                "invalid_mass": float(max(0.0, 1.0 - mass.sum())),
            }
        )
    return rows


def exploitability(rows: list[dict[str, Any]], game: Any | None = None) -> float:
    """OpenSpiel's exploitability of the tabular policy ``rows``."""
    from open_spiel.python import policy as os_policy
    from open_spiel.python.algorithms import exploitability as os_exploitability

    from palaestra import envs

    game = game or envs.spec(ENV_ID).make_game()
    tabular = os_policy.TabularPolicy(game.pyspiel_game)
    for row in rows:
        table = tabular.policy_for_key(row["info_state"])
        table[:] = 0.0
        for action, p in zip(row["actions"], row["probs"]):
            table[action] = p
    return float(os_exploitability.exploitability(game.pyspiel_game, tabular))


def evaluate(agent: Any, game: Any | None = None) -> dict[str, Any]:
    """``{"exploitability", "invalid_mass", "policy": rows}`` for a scoring agent."""
    rows = policy_table(agent, game)
    return {
        "exploitability": exploitability(rows, game),
        "invalid_mass": float(np.mean([r["invalid_mass"] for r in rows])),
        "policy": rows,
    }
