"""The learning benchmarks' own logic: the Nash table the Kuhn plot draws, the exact reference
points of the Kuhn diagnosis, and the negotiation self-play targets (benchmarks/learning)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

LEARNING = Path(__file__).resolve().parent.parent / "benchmarks" / "learning"
sys.path.insert(0, str(LEARNING))

pytest.importorskip("pyspiel")


def test_the_nash_table_holds_the_nash_player_and_every_member_of_the_family():
    import kuhn_diagnosis
    import kuhn_selfplay

    from palaestra.arena.exact import exploitability_of

    nash = exploitability_of("scripted:kuhn-poker/nash", "kuhn-poker-v0")
    rows = kuhn_selfplay._table(nash)
    assert len(rows) == 12
    for row in rows:  # the shipped Nash player lies inside the drawn range at every state
        low, high = row["nash_p_bet"]
        assert low - 1e-9 <= row["p_bet"] <= high + 1e-9, row
    for alpha in (0.0, 1 / 6, 1 / 3):  # and every alpha of the family is an equilibrium
        p_bet = {label: f(alpha)[0] for label, f in kuhn_selfplay.NASH.items()}
        assert kuhn_diagnosis.tabular_exploitability(p_bet) < 1e-9
    wrong = {label: f(0.0)[0] for label, f in kuhn_selfplay.NASH.items()} | {"Kb": 0.0}
    assert kuhn_diagnosis.tabular_exploitability(wrong) > 0.1  # folding the King is punished


def test_reference_points_of_the_diagnosis():
    import kuhn_diagnosis

    ref = kuhn_diagnosis.reference_policies(alphas=(0.05, 0.5), iterations=300)
    assert ref["uniform"] == pytest.approx(0.4583, abs=1e-4)  # OpenSpiel's known figure
    assert ref["always_bet"] == pytest.approx(1 / 3)
    assert ref["honest_rest_uniform"] < 0.10 < ref["honest_rest_pure"]
    mmd = ref["mmd_regularised_equilibrium"]
    values = [mmd[k] for k in sorted(mmd, key=float)]
    assert values == sorted(values) and values[0] < 0.1  # weaker anchor, nearer Nash
    fixed = ref["magnet_fixed_point"]
    values = [fixed[k]["exploitability"] for k in sorted(fixed, key=float)]
    assert values == sorted(values) and values[-1] < 0.458  # stronger magnet, nearer uniform


def test_bet_advantages_vanish_where_nash_mixes_and_the_magnets_rest_point_is_a_qre():
    import kuhn_diagnosis
    import kuhn_selfplay

    nash = {label: rule(1 / 6)[0] for label, rule in kuhn_selfplay.NASH.items()}
    advantage = kuhn_diagnosis.bet_advantages(nash)
    assert set(advantage) == set(nash)
    for label, p in nash.items():  # a best response everywhere: indifferent where it mixes
        if 0 < p < 1:
            assert advantage[label] == pytest.approx(0, abs=1e-9), label
        else:  # and the pure choices are no worse than the other move
            assert (advantage[label] >= -1e-9) if p == 1 else (advantage[label] <= 1e-9), label
    assert advantage["Kb"] == pytest.approx(3.0)  # call with the King: +2, fold: -1
    # The rest point of a KL 0.3 to uniform: P(bet) = sigmoid((Q(bet) - Q(pass)) / 0.3) at
    # every state, and the KL keeps it off the pure moves.
    p_bet, converged = kuhn_diagnosis.magnet_fixed_point(0.3)
    assert converged
    again = kuhn_diagnosis.bet_advantages(p_bet)
    for label, p in p_bet.items():
        assert p == pytest.approx(1 / (1 + np.exp(-again[label] / 0.3)), abs=1e-8), label
    assert 0.05 < kuhn_diagnosis.tabular_exploitability(p_bet) < 0.10
    # A magnet centred on a biased warm start: the centre's margin adds to the rest point's.
    anchor = dict.fromkeys(p_bet, 0.6) | {"Q": 0.7}
    biased, converged = kuhn_diagnosis.magnet_fixed_point(0.3, anchor=anchor)
    assert converged
    again = kuhn_diagnosis.bet_advantages(biased)
    for label, p in biased.items():
        centre = np.log(anchor[label] / (1 - anchor[label]))
        assert p == pytest.approx(1 / (1 + np.exp(-again[label] / 0.3 - centre)), abs=1e-8)
    assert biased["Q"] > p_bet["Q"] + 0.05


def test_negotiation_selfplay_targets_need_intervals_apart():
    import selfplay_eval

    def m(reward, low, high):
        return {"reward": reward, "reward_low": low, "reward_high": high}

    result = {
        "head_to_head": {
            "final vs warm": {
                "first": m(3.0, 2.5, 3.5),
                "second": m(2.0, 1.5, 2.5),
                "difference": [1.0, 0.2, 1.8],
                "cis_apart": True,
            }
        },
        "players": {"final": {"pooled": m(5.0, 4.6, 5.4)}},
    }
    label = "best constant reply OFFER: book=1"
    baselines = {
        "best_constant_reply": "OFFER: book=1",
        "baselines": {label: {"pooled": m(5.0, 4.7, 5.3)}},
    }
    out = selfplay_eval.targets(result, baselines)
    assert out["final_beats_initial_head_to_head"]["met"] is True
    assert out["final_above_best_constant_reply_on_panel"]["met"] is False  # overlapping
    baselines["baselines"][label]["pooled"] = m(4.0, 3.8, 4.5)
    assert selfplay_eval.targets(result, baselines)["final_above_best_constant_reply_on_panel"][
        "met"
    ]
    assert selfplay_eval.targets({}, None) == {}


def test_the_paired_panel_difference_matches_deals_opponents_and_seats():
    import selfplay_eval

    from palaestra.arena.records import EpisodeRecord

    def panel(shift):
        return {
            opponent: [
                EpisodeRecord(
                    episode_id=f"{opponent}/{seat}/{seed}",
                    env_id="negotiation-v0",
                    seed=seed,
                    seating={seat: "policy", other: opponent},
                    returns={seat: seed % 3 + shift + (seat == "bob"), other: 1.0},
                    info={"item": f"deal {seed}"},
                    meta={"seat": seat},
                )
                for seed in range(8)
                for seat, other in (("alice", "bob"), ("bob", "alice"))
            ]
            for opponent in ("fair", "hard")
        }

    d = selfplay_eval.panel_difference(panel(0.5), panel(0.0), 0.95)
    # the deals vary the returns (seed % 3) but the pairs cancel it: exactly +0.5 everywhere
    assert d["mean"] == pytest.approx(0.5) and d["low"] == pytest.approx(0.5)
    assert d["high"] == pytest.approx(0.5) and d["apart_from_zero"]
    assert (d["episodes"], d["items"]) == (32, 8)
    fewer = panel(0.0)
    fewer["hard"] = fewer["hard"][:-1]
    with pytest.raises(ValueError, match="not played on the same deals"):
        selfplay_eval.panel_difference(panel(0.5), fewer, 0.95)


def test_the_kernel_simulation_learns_with_a_table_and_stays_card_blind_when_fully_coupled():
    import kuhn_diagnosis

    from palaestra.envs.openspiel.policies import information_states

    states = [s.key for s in information_states("kuhn-poker-v0")]
    table = kuhn_diagnosis.simulate_run(np.eye(12), states, steps=80, report=(80,))
    assert table["exploitability"][80] < 0.25  # from uniform's 0.458: a table learns
    # One shared direction (every pair of states fully coupled): the cards cannot differ.
    blind = kuhn_diagnosis.simulate_run(np.ones((12, 12)), states, steps=80, report=(80,))
    assert len(set(blind["p_bet"].values())) == 1
    assert blind["exploitability"][80] > 0.3
    # A rate decaying from 0 to 0 over the run never moves the uniform start.
    still = kuhn_diagnosis.simulate_run(
        np.eye(12), states, steps=3, lr=0.0, lr_end=0.0, report=(3,)
    )
    assert set(still["p_bet"].values()) == {0.5}
    # From 0 at the first step to 50 at the last: only the last step moves it.
    late = kuhn_diagnosis.simulate_run(
        np.eye(12), states, steps=3, lr=0.0, lr_end=50.0, report=(3,)
    )
    assert len(set(late["p_bet"].values())) > 1
    # The weight average: none without ema. Here the margins are 0 until the last step moves
    # them to m, so the average after it is 0.1 m: its policy is sigmoid(0.1 logit(p)).
    assert "exploitability_ema" not in late
    averaged = kuhn_diagnosis.simulate_run(
        np.eye(12), states, steps=3, lr=0.0, lr_end=50.0, ema=0.9, report=(3,)
    )
    assert averaged["exploitability"] == late["exploitability"]  # the same run
    last = averaged["p_bet"]
    shrunk = {k: 1 / (1 + (1 / p - 1) ** 0.1) for k, p in last.items()}
    expected = kuhn_diagnosis.tabular_exploitability(shrunk)
    assert averaged["exploitability_ema"][3] == pytest.approx(expected, abs=5e-3)
    assert abs(expected - averaged["exploitability"][3]) > 0.03  # not the last iterate's


def test_the_simulated_best_response_opponent_descends_the_exploitability():
    """Exploitability descent in the table: against the exact best response the policy ends
    far below where plain self-play with the same rate and magnet does (0.07 against
    0.10-0.15). Cut: the best responder's seat played by the policy (``versus`` ignored) gives
    the plain run."""
    import kuhn_diagnosis

    from palaestra.envs.openspiel.policies import information_states

    states = [s.key for s in information_states("kuhn-poker-v0")]

    def end(best_response: float, seed: int) -> float:
        run = kuhn_diagnosis.simulate_run(
            np.eye(12), states, steps=40, lr=3.0, magnet=0.1, best_response=best_response,
            seed=seed, report=(40,),
        )  # fmt: skip
        return run["exploitability"][40]

    plain = [end(0.0, seed) for seed in range(3)]
    descent = [end(1.0, seed) for seed in range(3)]
    assert max(descent) < 0.08 and float(np.mean(plain)) > 0.11


def test_the_spectrum_finds_a_shared_direction_and_flattening_lowers_only_it(monkeypatch):
    import kuhn_diagnosis

    from palaestra.envs.openspiel.policies import information_states

    # 0.9 of the identity plus a shared direction: eigenvalues 0.1 * 12 + 0.9 = 2.1 and 0.9.
    kernel = 0.9 * np.eye(12) + 0.1 * np.ones((12, 12))
    found = kuhn_diagnosis.spectrum(kernel)
    assert found["eigenvalues"][0] == pytest.approx(2.1) and found["eigenvalues"][1] == 0.9
    assert found["top_share_of_trace"] == pytest.approx(2.1 / 12, abs=1e-3)
    assert found["top_vector"] == pytest.approx([12**-0.5] * 12, abs=1e-3)
    flat = kuhn_diagnosis.flattened(kernel)
    assert np.allclose(flat, 0.9 * np.eye(12))  # the shared part gone, the rest untouched
    # simulate() runs a "flatten" rule on the flattened kernel: with a stiff shared direction
    # (eigenvalue 12.1 against 0.1) a rate that lets the other directions learn (30 x 0.1,
    # a table's rate 3) throws the shared one between always-bet and always-pass; flattened,
    # the same rate learns.
    states = [s.key for s in information_states("kuhn-poker-v0")]
    coupling = {"name_card": {"kernel": (np.ones((12, 12)) + 0.1 * np.eye(12)).tolist()}}
    coupling["name_card"]["states"] = states
    rules = {
        "as measured": {"lr": 30.0},
        "flattened": {"lr": 30.0, "flatten": True},
        # the prompt-kernel preconditioner's first-order effect: the kernel's diagonal only
        "diagonal": {"lr": 30.0, "diagonal": True},
    }
    monkeypatch.setattr(kuhn_diagnosis, "SIMULATED", rules)
    out = kuhn_diagnosis.simulate(coupling, seeds=1)
    assert out["flattened"]["rule"] == rules["flattened"]
    assert out["flattened"]["mean"][-1] < 0.25
    assert out["diagonal"]["mean"][-1] < 0.25
    assert out["as measured"]["mean"][-1] > 0.3


@pytest.mark.parametrize("path", sorted(LEARNING.glob("*.yaml")), ids=lambda p: p.name)
def test_every_learning_config_parses(path):
    from palaestra.arena.train.config import load_config

    config = load_config(path)  # an unknown key or a bad value raises, naming it
    assert config.steps >= 1 and config.stages


def test_the_league_average_weights_a_second_decision_by_who_reaches_it():
    import kuhn_diagnosis
    import kuhn_selfplay

    labels = [label for label in kuhn_selfplay.NASH]
    always = dict.fromkeys(labels, 1.0)
    never = dict.fromkeys(labels, 0.0)
    mixed = kuhn_selfplay.average_policy([always, never])
    assert mixed["K"] == 0.5 and mixed["Kb"] == 0.5  # first decisions: equal weights
    assert mixed["Kpb"] == 0.0  # only the table that checks reaches it: it folds there
    nash = {label: f(1 / 6)[0] for label, f in kuhn_selfplay.NASH.items()}
    other = {label: f(1 / 3)[0] for label, f in kuhn_selfplay.NASH.items()}
    average = kuhn_selfplay.average_policy([nash, other])  # a mix of equilibria is one
    assert kuhn_diagnosis.tabular_exploitability(average) < 1e-9


def test_the_precondition_probe_rewards_the_king_betting_and_the_queen_passing():
    import precondition_probe

    advantage = precondition_probe.synthetic_advantage
    assert [advantage(r) for r in ("King: bet", "King: pass", "King: call", "King: check")] == [
        1.0, -1.0, 1.0, -1.0,
    ]  # fmt: skip
    assert [advantage(r) for r in ("Queen: bet", "Queen: fold.", "Queen: pass")] == [-1, 1, 1]
    # The Jack, a reply without a move, or an unknown word: no signal (dropped from the batch).
    assert [advantage(r) for r in ("Jack: bet", "King:", "King: raise", "bet")] == [0, 0, 0, 0]


def test_negotiation_dynamics_replays_episodes_and_reads_the_openings():
    import dataclasses

    import negotiation_dynamics

    from palaestra.agents import make_agent
    from palaestra.arena.runner import EpisodeJob, MatchRunner
    from palaestra.envs.negotiation.rules import format_items
    from palaestra.envs.scripted import ScriptedAgent

    class TakeAll(ScriptedAgent):
        key = "take-all"

        def reply(self, obs):
            return f"Mine.\nOFFER: {format_items(obs.facts['counts'])}"

    kwargs = {"max_turns": 3, "invalid_move": "penalty"}
    greedy = TakeAll()
    jobs = [
        EpisodeJob(
            "negotiation-v0",
            seed,
            {"alice": greedy, "bob": make_agent(bob)},
            env_kwargs=kwargs,
            meta={"step": step},
        )
        for step, bob in ((0, "scripted:negotiation/accept"), (1, "scripted:negotiation/fair"))
        for seed in (11, 12)
    ]
    records = list(MatchRunner().run(jobs))
    rows = negotiation_dynamics.dynamics(records)
    assert [r["step"] for r in rows] == [0, 1]
    accepted, refused = rows
    # the accepting bob takes the whole-pool opening at once: alice scores all 10 points
    assert accepted["take_all"] == accepted["opening_accepted"] == accepted["agreement"] == 1.0
    assert accepted["opening_ask"] == accepted["alice"] == 10.0 and accepted["bob"] == 0.0
    # the fair splitter refuses it (worth 0 to it) and alice repeats it: no deal
    assert refused["take_all"] == 1.0
    assert refused["agreement"] == refused["opening_accepted"] == refused["alice"] == 0.0
    # a record that the env no longer reproduces is refused
    bad = dataclasses.replace(records[0], returns={"alice": 5.0, "bob": 5.0})
    with pytest.raises(ValueError, match="replayed returns"):
        negotiation_dynamics.replay(bad)
