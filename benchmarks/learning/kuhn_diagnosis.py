"""Why Kuhn self-play collapses to "always bet": measured reference points for issue 14.

    python benchmarks/learning/kuhn_diagnosis.py            # every part (about 2 minutes)
    python benchmarks/learning/kuhn_diagnosis.py --no-model # the exact reference points only

Writes ``results/kuhn-selfplay-diagnosis.json`` with these parts:

* ``reference_policies``: the exact exploitability of simple Kuhn policies (always bet, always
  pass, card-blind uniform, "honest" play with the rest uniform) and of the regularised
  equilibria that magnetic mirror descent converges to (OpenSpiel's ``mmd_dilated``, uniform
  magnet, 2000 iterations) for several regularisation strengths, and the rest point of the
  trainer's own update with a KL to the uniform warm start (``magnet_fixed_point``, one per
  coefficient in :data:`MAGNETS`): what a KL anchor can reach at best.
* ``gradient_coupling``: for SmolLM2-135M-Instruct with a fresh LoRA adapter (r = 16, B drawn
  at 1e-3 so A and B both matter), the gradient of ``logit(bet) - logit(pass)`` at each of the
  12 information states, for the observation text as it is, with the card only in the
  preamble, and with ``name_card`` (the reply begins with the card, ``King: bet``: the
  gradient is read after ``King:``). Reported: the cosine between the gradients of two
  states with the same history and a different card, and the card-specific share of the
  gradient (the norm of its part that differs from the mean over the three cards at that
  history, over its norm). A share of 0.06 means a policy-gradient step moves P(bet) of the
  Jack, Queen and King together, and the card-specific part of any signal is learned about
  1/0.06 times slower.
* ``kernel_spectrum``: the eigenvalues of each variant's kernel (the 12 x 12 LoRA tangent
  kernel in ``gradient_coupling``), the top one's share of the trace and its eigenvector. A
  large top eigenvalue over a near-uniform vector is a stiff shared direction: every state's
  P(bet) moving together, which caps the step size the card-specific directions get.
* ``simulation``: every rule of :data:`SIMULATED` run through :func:`simulate_run` on a
  measured kernel, five seeds each.
* ``probe_runs``: the exploitability curve and the last policy table of every
  ``runs/kuhn-selfplay-s0-*`` run (``--tag``) made by ``kuhn_selfplay.py`` (the probes behind
  docs/training.md), with the config each ran.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
CARDS = "JQK"


def tabular_policy(p_bet: dict[str, float], default: float = 0.5) -> Any:
    """OpenSpiel's TabularPolicy betting with ``p_bet[card + history]`` (else ``default``)."""
    import pyspiel
    from open_spiel.python import policy as os_policy

    table = os_policy.TabularPolicy(pyspiel.load_game("kuhn_poker"))
    for key in table.state_lookup:
        p = p_bet.get(CARDS[int(key[0])] + key[1:], default)
        row = table.policy_for_key(key)
        row[0], row[1] = 1 - p, p
    return table


def tabular_exploitability(p_bet: dict[str, float], default: float = 0.5) -> float:
    """Exploitability of the policy betting with ``p_bet[card + history]`` (else ``default``)."""
    from open_spiel.python.algorithms import exploitability as os_exploitability

    table = tabular_policy(p_bet, default)
    return float(os_exploitability.exploitability(table.game, table))


def reference_policies(
    alphas: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 1.0), iterations: int = 2000
) -> dict[str, Any]:
    import pyspiel
    from open_spiel.python.algorithms import exploitability as os_exploitability
    from open_spiel.python.algorithms import mmd_dilated

    honest = {"K": 1, "Kpb": 1, "Kb": 1, "Kp": 1, "Jpb": 0, "Jb": 0, "Q": 0, "Qp": 0}
    out: dict[str, Any] = {
        "always_bet": tabular_exploitability({}, default=1.0),
        "always_pass": tabular_exploitability({}, default=0.0),
        "uniform": tabular_exploitability({}, default=0.5),
        "honest_rest_uniform": tabular_exploitability(honest),
        "honest_rest_pure": tabular_exploitability(honest, default=0.0),
    }
    game = pyspiel.load_game("kuhn_poker")
    mmd = {}
    for alpha in alphas:
        solver = mmd_dilated.MMDDilatedEnt(game, alpha=alpha)
        for _ in range(iterations):
            solver.update_sequences()
        mmd[str(alpha)] = float(os_exploitability.exploitability(game, solver.get_policies()))
    out["mmd_regularised_equilibrium"] = mmd
    out["magnet_fixed_point"] = {}
    for beta in MAGNETS:
        p_bet, converged = magnet_fixed_point(beta)
        out["magnet_fixed_point"][str(beta)] = {
            "exploitability": tabular_exploitability(p_bet) if converged else None,
            "p_bet": {label: round(p, 3) for label, p in sorted(p_bet.items())},
        }
    return out


#: KL coefficients to the uniform warm start (the config's ``loss.kl_coef``) whose fixed
#: point :func:`magnet_fixed_point` reports.
MAGNETS = (0.2, 0.3, 0.4, 0.5, 1.0)


def bet_advantages(p_bet: dict[str, float]) -> dict[str, float]:
    """Q(bet) - Q(pass) in chips at every information state (``"Jpb"``...) for the player
    acting there, both seats playing ``p_bet``: OpenSpiel's action values, the opponent's
    cards weighted by the chance of the deal and by how likely the opponent's own moves made
    that history."""
    from open_spiel.python.algorithms import action_value

    table = tabular_policy(p_bet)
    values = action_value.TreeWalkCalculator(table.game)([table, table], table).action_values
    return {
        CARDS[int(key[0])] + key[1:]: float(q[1] - q[0])
        for key, q in zip(table.state_lookup, values)
    }


def magnet_fixed_point(
    beta: float,
    damping: float = 0.1,
    iterations: int = 4000,
    tol: float = 1e-9,
    anchor: dict[str, float] | None = None,
) -> tuple[dict[str, float], bool]:
    """Where self-play with a KL of ``beta`` to the uniform policy at every decision stops
    moving, and whether the iteration got there.

    ``anchor`` (P(bet) by state label) moves the magnet's centre from uniform play to that
    policy, as ``loss.reference: initial`` does when the warm start is not exactly uniform:
    the rest point then has ``margin = (Q(bet) - Q(pass)) / beta + anchor's margin``.

    The expected update at a state is its visit probability times ``p(1 - p)`` times
    ``Q(bet) - Q(pass) - beta * margin`` (the policy gradient and the binary KL's gradient in
    the bet-pass margin, as in :func:`simulate_run`), so the rest point, whatever the kernel,
    the rate or the baseline, has ``margin = (Q(bet) - Q(pass)) / beta`` at every state: the
    agent-form logit quantal response equilibrium with precision ``1 / beta`` (McKelvey and
    Palfrey, 1998). Found by damped fixed-point iteration from uniform play; small ``beta``
    (below about 0.2 here) does not settle this way and reports ``False``.
    """
    centre = {k: float(np.log(p / (1 - p))) for k, p in (anchor or {}).items()}
    margin = {k: centre.get(k, 0.0) for k in _LABELS}
    for _ in range(iterations):
        advantage = bet_advantages(_policy(margin))
        target = {k: advantage[k] / beta + centre.get(k, 0.0) for k in margin}
        moved = max(abs(target[k] - margin[k]) for k in margin)
        margin = {k: (1 - damping) * margin[k] + damping * target[k] for k in margin}
        if moved < tol:
            return _policy(margin), True
    return _policy(margin), False


def _policy(margin: dict[str, float]) -> dict[str, float]:
    return {label: float(_sigmoid(m)) for label, m in margin.items()}


#: Kuhn's 12 information states as labels: the card, then the betting so far.
_LABELS = [card + history for card in CARDS for history in ("", "p", "b", "pb")]


#: The betting so far at each of a Kuhn player's decisions, in words (OpenSpiel's history).
SITUATIONS = {
    "": "to open",
    "p": "after a check",
    "b": "facing a bet",
    "pb": "checked, facing a bet",
}


def gradient_coupling(threads: int) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, get_peft_model

    from palaestra.agents import make_agent
    from palaestra.envs.openspiel.policies import information_states
    from palaestra.envs.openspiel.texts import kuhn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    agent = make_agent("hf:smollm2-135m")
    tok = agent.tokenizer
    model = get_peft_model(agent.model, LoraConfig(r=16, lora_alpha=32, task_type="CAUSAL_LM"))
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=1e-3)
    params = [p for p in model.parameters() if p.requires_grad]
    bet = tok("bet", add_special_tokens=False)["input_ids"][0]
    pas = tok("pass", add_special_tokens=False)["input_ids"][0]
    as_is = kuhn.KuhnText.turn_text

    def preamble_only(self: Any, state: Any, player: int, legal: Any) -> str:
        card = self._card(state, player)
        restated = f" You hold the {kuhn.KUHN_CARDS[card]}, {kuhn.KUHN_RANKS[card]}."
        return as_is(self, state, player, legal).replace(restated, "")

    # With name_card the reply is "King: bet": the move's token follows the card's, so the
    # gradient is read at the position after "<card>:" (the move tokens with their space).
    spaced = [tok(f" {m}", add_special_tokens=False)["input_ids"][0] for m in ("bet", "pass")]
    variants = (
        ("as is", as_is, {}, ""),
        ("card in the preamble only", preamble_only, {}, ""),
        ("reply names the card first (name_card)", as_is, {"name_card": True}, "card"),
        # The card and the betting so far, then the move ("King, facing a bet: bet"): the move
        # token's context then differs between every pair of states, not only between cards.
        ("reply names the card and the situation", as_is, {"name_card": True}, "state"),
    )
    out = {}
    try:
        for name, turn_text, game_kwargs, reply_prefix in variants:
            kuhn.KuhnText.turn_text = turn_text  # type: ignore[method-assign]
            started = time.perf_counter()
            grads, labels, keys, p_bet = [], [], [], []
            move_ids = spaced if reply_prefix else [bet, pas]
            for s in information_states("kuhn-poker-v0", **game_kwargs):
                prompt = list(agent.render(s.observation).ids)
                if reply_prefix:
                    card = kuhn.KUHN_CARDS[int(s.key[0])]
                    said = (
                        f"{card}, {SITUATIONS[s.key[1:]]}:"
                        if reply_prefix == "state"
                        else f"{card}:"
                    )
                    prompt += tok(said, add_special_tokens=False)["input_ids"]
                ids = torch.tensor([prompt])
                model.zero_grad()
                logits = model(input_ids=ids, logits_to_keep=1).logits[0, -1]
                margin = logits[move_ids[0]] - logits[move_ids[1]]
                margin.backward()
                p_bet.append(float(torch.sigmoid(margin.detach())))
                grads.append(torch.cat([p.grad.flatten() for p in params]).double())
                labels.append((s.player, s.key[1:]))
                keys.append(s.key)
            g = torch.stack(grads)
            gram = (g @ g.T).numpy()
            unit = g / g.norm(dim=1, keepdim=True)
            cos = (unit @ unit.T).numpy()
            groups: dict[tuple[int, str], list[int]] = {}
            for i, label in enumerate(labels):
                groups.setdefault(label, []).append(i)
            pairs = [(i, j) for idx in groups.values() for i in idx for j in idx if i < j]
            share = [
                float(((g[idx] - g[idx].mean(0)).norm(dim=1) / g[idx].norm(dim=1)).mean())
                for idx in groups.values()
            ]
            spread = [
                max(p_bet[i] for i in idx) - min(p_bet[i] for i in idx) for idx in groups.values()
            ]
            out[name] = {
                "cosine_same_history_other_card": float(np.mean([cos[i, j] for i, j in pairs])),
                "cosine_min": float(np.min([cos[i, j] for i, j in pairs])),
                "card_specific_share": float(np.mean(share)),
                "p_bet_spread_across_cards": float(np.mean(spread)),
                "seconds": time.perf_counter() - started,
                # The LoRA tangent kernel of the 12 margins (scaled to a mean diagonal of 1):
                # what one gradient step on one state does to every other state's margin.
                "states": keys,
                "kernel": np.round(gram / np.mean(np.diag(gram)), 4).tolist(),
            }
            print(name, {k: v for k, v in out[name].items() if k != "kernel"}, flush=True)
    finally:
        kuhn.KuhnText.turn_text = as_is  # type: ignore[method-assign]
    return out


#: The simulated training rules (``simulate``): name -> keyword arguments of ``simulate_run``.
#: ``lr`` is in units where 1 collapses a uniform start to always-bet within about 5 steps,
#: as the real runs at lr 2e-4 did; ``magnet`` is the KL coefficient to the uniform policy
#: (the warm start, i.e. ``loss.reference: initial``), ``kl`` to a moving reference.
SIMULATED = {
    "tabular (identity kernel), plain PG, lr 1": {"tabular": True, "lr": 1.0},
    "measured kernel, plain PG, lr 1": {"lr": 1.0},
    "measured kernel, plain PG, lr 3": {"lr": 3.0},
    "measured kernel, moving KL 0.1 every 5, lr 1 (the config as run)": {
        "lr": 1.0, "kl": 0.1, "reference_every": 5,
    },
    "measured kernel, uniform magnet 0.1, lr 3": {"lr": 3.0, "magnet": 0.1},
    "measured kernel, uniform magnet 0.2, lr 3": {"lr": 3.0, "magnet": 0.2},
    "measured kernel, uniform magnet 0.3, lr 3": {"lr": 3.0, "magnet": 0.3},
    "measured kernel, uniform magnet 0.5, lr 3": {"lr": 3.0, "magnet": 0.5},
    "measured kernel, uniform magnet 0.3, lr 5": {"lr": 5.0, "magnet": 0.3},
    "measured kernel, uniform magnet 0.3, lr 5, 128 episodes": {
        "lr": 5.0, "magnet": 0.3, "episodes": 128,
    },
    "measured kernel, magnet 0.3 at a pass-heavy warm start (P(bet) 0.17), lr 3": {
        "lr": 3.0, "magnet": 0.3, "start": 0.17,
    },
    "measured kernel, uniform magnet 0.3, lr 6": {"lr": 6.0, "magnet": 0.3},
    "measured kernel, uniform magnet 0.3, lr 6 decaying linearly to 1": {
        "lr": 6.0, "magnet": 0.3, "lr_end": 1.0,
    },
    "measured kernel, uniform magnet 0.3, lr 6, 128 episodes": {
        "lr": 6.0, "magnet": 0.3, "episodes": 128,
    },
    "measured kernel, uniform magnet 0.3, lr 9 decaying linearly to 1": {
        "lr": 9.0, "magnet": 0.3, "lr_end": 1.0,
    },
    "measured kernel, uniform magnet 0.5, lr 6 decaying linearly to 1": {
        "lr": 6.0, "magnet": 0.5, "lr_end": 1.0,
    },
    "measured kernel, magnet annealed 0.3 to 0, lr 6 decaying linearly to 1": {
        "lr": 6.0, "magnet": 0.3, "magnet_end": 0.0, "lr_end": 1.0,
    },
    "tabular (identity kernel), uniform magnet 0.3, lr 3": {
        "tabular": True, "lr": 3.0, "magnet": 0.3,
    },
    # 2026-12-06: does averaging the weights remove the last iterate's swing, and does a
    # reply that names the situation too (a less coupled kernel) learn faster?
    "measured kernel, uniform magnet 0.3, lr 9 decaying to 1, EMA 0.9 of the weights": {
        "lr": 9.0, "magnet": 0.3, "lr_end": 1.0, "ema": 0.9,
    },
    "measured kernel, uniform magnet 0.3, lr 5, EMA 0.9 of the weights": {
        "lr": 5.0, "magnet": 0.3, "ema": 0.9,
    },
    "situation-naming kernel, uniform magnet 0.3, lr 9 decaying linearly to 1": {
        "kernel": "situation", "lr": 9.0, "magnet": 0.3, "lr_end": 1.0,
    },
    "situation-naming kernel, uniform magnet 0.2, lr 9 decaying linearly to 1": {
        "kernel": "situation", "lr": 9.0, "magnet": 0.2, "lr_end": 1.0,
    },
    # 2026-12-06 (second session): the kernel's top eigenvalue (all 12 margins moving
    # together) is ~88% of its trace. With it capped at the second eigenvalue (what a
    # preconditioner that tames the shared direction would give) the rate can rise ~10x.
    "flattened kernel (top eigenvalue capped at the second), magnet 0.3, lr 9 decaying to 1": {
        "flatten": True, "lr": 9.0, "magnet": 0.3, "lr_end": 1.0,
    },
    "flattened kernel, magnet 0.3, lr 30 decaying to 3": {
        "flatten": True, "lr": 30.0, "magnet": 0.3, "lr_end": 3.0,
    },
    "flattened kernel, magnet 0.3, lr 100 decaying to 10": {
        "flatten": True, "lr": 100.0, "magnet": 0.3, "lr_end": 10.0,
    },
    # The config's rule, as measured, given more steps: how long until it reaches the magnet's
    # own rest point (0.069 for 0.3: reference_policies' magnet_fixed_point)?
    "measured kernel, magnet 0.3, lr 9 decaying to 1 over 300 steps": {
        "lr": 9.0, "magnet": 0.3, "lr_end": 1.0, "steps": 300, "report": (100, 200, 300),
    },
    "measured kernel, magnet 0.3, lr 9 decaying to 1 over 500 steps": {
        "lr": 9.0, "magnet": 0.3, "lr_end": 1.0, "steps": 500,
        "report": (100, 200, 300, 400, 500),
    },
    # 2026-12-06 (third session): what `optim.precondition: prompt_kernel` does to first
    # order: each state's margin moves by its own gradient only (the kernel's diagonal).
    "diagonal kernel (prompt_kernel preconditioner), magnet 0.3, lr 9 decaying to 1": {
        "diagonal": True, "lr": 9.0, "magnet": 0.3, "lr_end": 1.0,
    },
    "diagonal kernel (prompt_kernel preconditioner), magnet 0.3, lr 6 decaying to 0.5": {
        "diagonal": True, "lr": 6.0, "magnet": 0.3, "lr_end": 0.5,
    },
    # 2026-12-06 (fourth session): the exact best response to the step's policy as the
    # opponent of a share of the episodes (the league's `best-response` member; exploitability
    # descent), with and without the preconditioner.
    "measured kernel, magnet 0.3, lr 9 decaying to 1, best response in half the episodes": {
        "lr": 9.0, "magnet": 0.3, "lr_end": 1.0, "best_response": 0.5,
    },
    "diagonal kernel, magnet 0.3, lr 9 decaying to 1, best response in half the episodes": {
        "diagonal": True, "lr": 9.0, "magnet": 0.3, "lr_end": 1.0, "best_response": 0.5,
    },
    "diagonal kernel, magnet 0.3, lr 9 decaying to 1, best response in three quarters": {
        "diagonal": True, "lr": 9.0, "magnet": 0.3, "lr_end": 1.0, "best_response": 0.75,
    },
    "diagonal kernel, magnet 0.3, lr 9 decaying to 1, best response in every episode": {
        "diagonal": True, "lr": 9.0, "magnet": 0.3, "lr_end": 1.0, "best_response": 1.0,
    },
    "diagonal kernel, magnet 0.3, lr 9 decaying to 1, best response in a quarter": {
        "diagonal": True, "lr": 9.0, "magnet": 0.3, "lr_end": 1.0, "best_response": 0.25,
    },
    "diagonal kernel, best response in half, at a pass-heavy warm start (P(bet) 0.17)": {
        "diagonal": True, "lr": 9.0, "magnet": 0.3, "lr_end": 1.0, "best_response": 0.5,
        "start": 0.17,
    },
}  # fmt: skip


def spectrum(kernel: np.ndarray) -> dict[str, Any]:
    """Eigenvalues of a (scaled) tangent kernel, largest first, the top one's share of the
    trace, and its eigenvector (sign fixed to a positive sum): one large eigenvalue with a
    near-uniform vector means every state's margin moves together."""
    values, vectors = np.linalg.eigh(np.asarray(kernel, dtype=float))
    top = vectors[:, -1] * (1 if vectors[:, -1].sum() >= 0 else -1)
    return {
        "eigenvalues": [round(float(v), 4) for v in values[::-1]],
        "top_share_of_trace": round(float(values[-1] / values.sum()), 3),
        "top_vector": [round(float(x), 3) for x in top],
    }


def flattened(kernel: np.ndarray) -> np.ndarray:
    """``kernel`` with its largest eigenvalue lowered to the second largest."""
    values, vectors = np.linalg.eigh(np.asarray(kernel, dtype=float))
    values[-1] = values[-2]
    return (vectors * values) @ vectors.T


def simulate_run(
    kernel: np.ndarray,
    states: list[str],
    steps: int = 120,
    episodes: int = 64,
    lr: float = 1.0,
    kl: float = 0.0,
    reference_every: int = 0,
    magnet: float = 0.0,
    tabular: bool = False,
    start: float = 0.5,
    lr_end: float | None = None,
    magnet_end: float | None = None,
    ema: float = 0.0,
    best_response: float = 0.0,
    seed: int = 0,
    report: tuple[int, ...] = (10, 20, 40, 60, 120),
) -> dict[str, Any]:
    """Self-play REINFORCE on Kuhn poker, linearised in the LoRA tangent kernel.

    One network plays both seats: every step samples ``episodes`` games (OpenSpiel's rules,
    one policy at both seats), scores each decision by its return less the seat's running
    mean (the role baseline, decay 0.9), and moves the 12 bet-pass margins by
    ``lr * kernel @ g``, where ``g`` is the per-state policy gradient: a gradient step in the
    weights, seen through the kernel, to first order. The KL terms add their exact per-visit
    gradient (binary moves). ``tabular`` replaces the kernel by the identity (a table per
    state: no coupling). ``start`` is the warm start's P(bet) in every state, and the magnet's
    centre (uniform: 0.5). ``lr_end`` decays the rate linearly from ``lr`` at the first step to
    ``lr_end`` at the last, and ``magnet_end`` the magnet's coefficient likewise. ``ema``
    (0 < ema < 1) also tracks an exponential moving average of the margins, i.e. of the
    weights to first order (Polyak averaging of the LoRA weights), and reports its
    exploitability as ``exploitability_ema``. ``best_response`` is the fraction of episodes
    whose opponent is the exact best response to the step's policy (the trainer's
    ``best-response`` league member): the policy plays one seat, drawn at random, and only its
    decisions are scored. Returns the exploitability at the ``report`` steps and the final
    P(bet) per state.
    """
    import pyspiel

    game = pyspiel.load_game("kuhn_poker")
    k = np.eye(len(states)) if tabular else np.asarray(kernel, dtype=float)
    index = {key: i for i, key in enumerate(states)}
    labels = [CARDS[int(key[0])] + key[1:] for key in states]  # "0pb" -> "Jpb"
    rng = np.random.default_rng(seed)
    # The warm start's policy: P(bet) = start everywhere; the magnet is that policy too, as
    # the trainer's `reference: initial` is the warm-started weights.
    margin = np.full(len(states), np.log(start / (1 - start)))
    anchor = margin.copy()
    reference = margin.copy()
    average = margin.copy()
    baseline = [0.0, 0.0]
    curve, curve_ema = {}, {}
    for step in range(1, steps + 1):
        p_bet = _sigmoid(margin)
        grad = np.zeros(len(states))
        visits = np.zeros(len(states))
        totals, counts = [0.0, 0.0], [0, 0]
        responder = _best_responses(game, labels, p_bet) if best_response else None
        for _ in range(episodes):
            state = game.new_initial_state()
            decisions = []
            versus = None  # the best responder's seat (no draw without one: same streams)
            if best_response and rng.random() < best_response:
                versus = int(rng.integers(2))
            while not state.is_terminal():
                if state.is_chance_node():
                    actions, probs = zip(*state.chance_outcomes())
                    state.apply_action(int(rng.choice(actions, p=probs)))
                    continue
                player = state.current_player()
                key = state.information_state_string(player)
                if responder is not None and player == versus:  # the best responder's seat
                    state.apply_action(responder[player].best_response_action(key))
                    continue
                i = index[key]
                action = int(rng.random() < p_bet[i])  # OpenSpiel: 0 pass, 1 bet
                decisions.append((player, i, action))
                state.apply_action(action)
            returns = state.returns()
            for player in range(2):
                if player != versus:  # the policy's seats only
                    totals[player] += returns[player]
                    counts[player] += 1
            for player, i, action in decisions:
                grad[i] += (returns[player] - baseline[player]) * (action - p_bet[i])
                visits[i] += 1
        baseline = [0.9 * b + 0.1 * t / n if n else b for b, t, n in zip(baseline, totals, counts)]
        slope = visits * p_bet * (1 - p_bet)  # d KL(binary) / d margin = slope * difference
        done = (step - 1) / max(steps - 1, 1)
        pull = _linear(magnet, magnet_end, done)
        grad -= kl * slope * (margin - reference) + pull * slope * (margin - anchor)
        rate = _linear(lr, lr_end, done)
        margin = margin + rate * k @ (grad / episodes)
        if ema:
            average = ema * average + (1 - ema) * margin
        if reference_every and step % reference_every == 0:
            reference = margin.copy()
        if step in report:
            curve[step] = tabular_exploitability(dict(zip(labels, map(float, _sigmoid(margin)))))
            if ema:
                table = dict(zip(labels, map(float, _sigmoid(average))))
                curve_ema[step] = tabular_exploitability(table)
    final = _sigmoid(margin)
    return {
        "exploitability": curve,
        "p_bet": {label: round(float(p), 3) for label, p in zip(labels, final)},
    } | ({"exploitability_ema": curve_ema} if ema else {})


def _best_responses(game: Any, labels: list[str], p_bet: np.ndarray) -> list[Any]:
    """OpenSpiel's exact best response of each player to ``p_bet`` (both seats)."""
    from open_spiel.python.algorithms.best_response import BestResponsePolicy

    table = tabular_policy(dict(zip(labels, map(float, p_bet))))
    return [BestResponsePolicy(game, player, table) for player in range(2)]


def _linear(start: float, end: float | None, done: float) -> float:
    """``start`` moved linearly towards ``end`` by the fraction ``done`` (``end`` None: fixed)."""
    return start if end is None else start + (end - start) * done


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-margin))


def simulate(coupling: dict[str, Any], seeds: int = 5) -> dict[str, Any]:
    """Every rule of :data:`SIMULATED`, ``seeds`` seeds each, on the ``name_card`` kernel or
    the measured variant whose name contains the rule's ``kernel`` (rules whose variant the
    coupling lacks are skipped)."""
    out: dict[str, Any] = {}
    for name, rule in SIMULATED.items():
        settings = {k: v for k, v in rule.items() if k not in ("kernel", "flatten", "diagonal")}
        variant = rule.get("kernel", "name_card")
        found = [v for k, v in coupling.items() if variant in k]
        if not found:  # a diagnosis file from before that variant was measured
            continue
        kernel, states = np.array(found[0]["kernel"]), found[0]["states"]
        if rule.get("flatten"):
            kernel = flattened(kernel)
        if rule.get("diagonal"):  # the prompt-kernel preconditioner, to first order
            kernel = np.diag(np.diag(kernel))
        runs = [simulate_run(kernel, states, seed=s, **settings) for s in range(seeds)]
        steps = list(runs[0]["exploitability"])
        out[name] = {
            "rule": rule,
            "steps": steps,
            "mean": [
                round(float(np.mean([r["exploitability"][t] for r in runs])), 3) for t in steps
            ],
            "worst": [
                round(float(np.max([r["exploitability"][t] for r in runs])), 3) for t in steps
            ],
            "p_bet_seed0": runs[0]["p_bet"],
        }
        if rule.get("ema"):
            ema = [[r["exploitability_ema"][t] for r in runs] for t in steps]
            out[name]["mean_ema"] = [round(float(np.mean(e)), 3) for e in ema]
            out[name]["worst_ema"] = [round(float(np.max(e)), 3) for e in ema]
        print(name, out[name]["mean"], "worst", out[name]["worst"], flush=True)
    return out


def probe_runs() -> list[dict[str, Any]]:
    runs = []
    for folder in sorted((HERE / "runs").glob("kuhn-selfplay-s0-*")):
        curve_file = folder / "exploitability.jsonl"
        if not curve_file.exists() or not curve_file.read_text().strip():
            continue
        config = json.loads((folder / "config.json").read_text())
        points = [json.loads(line) for line in curve_file.read_text().splitlines() if line]
        steps = [json.loads(x) for x in (folder / "metrics.jsonl").read_text().splitlines() if x]
        runs.append(
            {
                "run": folder.name,
                "config": {
                    "lr": config["optim"]["lr"],
                    "minibatch_size": config["optim"]["minibatch_size"],
                    "episodes_per_step": config["episodes_per_step"],
                    "baseline": config["advantage"]["baseline"],
                    "reference": config["loss"]["reference"],
                    "kl_coef": config["loss"]["kl_coef"],
                    "warm_start": {
                        k: config["warm_start"][k] for k in ("episodes", "epochs", "lr")
                    },
                },
                "curve": [
                    {k: p[k] for k in ("step", "phase", "exploitability", "invalid_mass")}
                    for p in points
                ],
                "last_policy": {r["state"]: round(r["p_bet"], 3) for r in points[-1]["policy"]},
                "train_kl": [s.get("train/kl") for s in steps if "train/kl" in s],
                "step_seconds": [s["time/step_s"] for s in steps if "time/step_s" in s],
            }
        )
    return runs


def preconditioned_runs(beta: float = 0.3) -> dict[str, Any]:
    """The ``prompt_kernel`` runs (results ``kuhn-selfplay-s*pk*.json``): exploitability before
    and after, and at the end of each run Q(bet) - Q(pass) at every state (how strong the
    learning signal still is there), next to the magnet's rest point with its centre where
    the run's warm start put it (``magnet_fixed_point(beta, anchor=...)``)."""
    out = {}
    for path in sorted(RESULTS.glob("kuhn-selfplay-s*pk*.json")):
        if path.name.endswith("-probe.json") or path.name.endswith("-stopped.json"):
            continue
        run = json.loads(path.read_text())
        start = {r["state"]: r["p_bet"] for r in run["policy_before"]}
        end = {r["state"]: r["p_bet"] for r in run["policy_after"]}
        rest, converged = magnet_fixed_point(beta, anchor=start)
        out[path.stem] = {
            "exploitability_before": run["exploitability_before"],
            "exploitability_after": run["exploitability_after"],
            "p_bet_after": {k: round(v, 3) for k, v in sorted(end.items())},
            "advantage_after": {k: round(v, 3) for k, v in sorted(bet_advantages(end).items())},
            "rest_point_at_warm_start": {
                "beta": beta,
                "exploitability": tabular_exploitability(rest) if converged else None,
                "p_bet": {k: round(v, 3) for k, v in sorted(rest.items())},
            },
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-model", action="store_true", help="skip the gradient coupling")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per simulated rule")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"reference_policies": reference_policies()}
    print(json.dumps(out["reference_policies"]), flush=True)
    if not args.no_model:
        out["gradient_coupling"] = gradient_coupling(args.threads)
    out["probe_runs"] = probe_runs()
    out["preconditioned_runs"] = preconditioned_runs()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "kuhn-selfplay-diagnosis.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    if args.no_model and "gradient_coupling" in old:
        out["gradient_coupling"] = old["gradient_coupling"]
    if not out["probe_runs"] and old.get("probe_runs"):  # a checkout without the run folders
        out["probe_runs"] = old["probe_runs"]
    if any("kernel" in v for v in out.get("gradient_coupling", {}).values()):
        out["kernel_spectrum"] = {
            name: spectrum(np.array(v["kernel"]))
            for name, v in out["gradient_coupling"].items()
            if "kernel" in v
        }
        out["simulation"] = simulate(out["gradient_coupling"], args.seeds)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
