"""Reference players of the OpenSpiel games: equilibria checked by OpenSpiel, the CFR+ table and
its cache, best responses, perfect tic-tac-toe."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("pyspiel")

from open_spiel.python.algorithms import exploitability as os_exploitability
from open_spiel.python.algorithms.expected_game_score import policy_value

from palaestra.agents import make_agent
from palaestra.envs import make, spec
from palaestra.envs.openspiel import policies
from palaestra.envs.openspiel.policies import (
    KuhnNashPolicy,
    LeducCFRPolicy,
    MinimaxPolicy,
    UniformPolicy,
    best_response_agent,
    information_states,
    policy_table,
    tabular_policy,
)


def _os_game(env_id: str):
    return spec(env_id).make_game().pyspiel_game


def _exploitability(agent, env_id: str) -> float:
    game = _os_game(env_id)
    return float(
        os_exploitability.exploitability(game, tabular_policy(game, policy_table(agent, env_id)))
    )


_ENVS: dict = {}


def play(env_id: str, agents: dict, seed: int) -> dict[str, float]:
    env = _ENVS.setdefault(env_id, make(env_id, wrappers=False))
    env.reset(seed=seed, options={"episode": f"{env_id}/{seed}"})
    for role in env.agent_iter(200):
        if env.terminations[role] or env.truncations[role]:
            env.step(None)
            continue
        env.step(agents[role].act([env.observation_for(role)])[0].text)
    return dict(env.state.returns)


# -- information states ---------------------------------------------------------------------------


@pytest.mark.parametrize(("env_id", "count"), [("kuhn-poker-v0", 12), ("leduc-poker-v0", 936)])
def test_information_states_are_openspiels_with_the_play_observation(env_id, count):
    states = information_states(env_id)
    assert len(states) == count == len({s.key for s in states})
    for s in states[:: max(1, count // 40)]:
        facts = s.observation.facts
        assert facts["info_state"] == s.key
        assert s.state.os_state.information_state_string(s.player) == s.key
        assert list(facts["legal_actions"]) == list(s.legal_actions)
        assert tuple(facts["candidates"]) == s.moves
        assert s.observation.role == s.role == s.game.role_of(s.player)


# -- Kuhn: the equilibrium family -----------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, 1 / 6, 1 / 3])
def test_kuhn_nash_is_an_equilibrium_for_every_alpha(alpha):
    agent = KuhnNashPolicy(alpha=alpha)
    assert _exploitability(agent, "kuhn-poker-v0") < 1e-3
    # Kuhn's game value for the first player is -1/18 (computed by hand in Kuhn 1950).
    game = _os_game("kuhn-poker-v0")
    policy = tabular_policy(game, policy_table(agent, "kuhn-poker-v0"))
    value = policy_value(game.new_initial_state(), [policy, policy])
    assert value[0] == pytest.approx(-1 / 18, abs=1e-9)


def test_kuhn_nash_spec_and_bad_alpha():
    agent = make_agent("scripted:kuhn-poker/nash?alpha=0.2&seed=4")
    assert isinstance(agent, KuhnNashPolicy) and agent.alpha == 0.2 and agent.seed == 4
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1/3\].*0.5"):
        make_agent("scripted:kuhn-poker/nash?alpha=0.5")
    with pytest.raises(TypeError, match="alpha must be a number"):
        KuhnNashPolicy(alpha="high")


def test_a_non_equilibrium_is_exploitable():
    """The check can fail: a Kuhn policy off the family (always bet) is far from 0."""

    class AlwaysBet(KuhnNashPolicy):
        def bet_probability(self, card, history):
            return 1.0

    assert _exploitability(AlwaysBet(), "kuhn-poker-v0") > 0.1
    assert _exploitability(UniformPolicy(), "kuhn-poker-v0") == pytest.approx(0.4583, abs=1e-3)


# -- Leduc: the CFR+ table ------------------------------------------------------------------------


def test_shipped_leduc_table_is_small_recorded_and_under_one_percent():
    path = policies.LEDUC_CFR_DATA
    assert path.stat().st_size < 300_000
    data = json.loads(path.read_text())
    assert data["iterations"] == policies.LEDUC_CFR_ITERATIONS
    assert data["open_spiel"] == policies.openspiel_version()
    assert len(data["policy"]) == 936
    agent = make_agent("scripted:leduc-poker/cfr")
    assert isinstance(agent, LeducCFRPolicy)
    measured = _exploitability(agent, "leduc-poker-v0")
    assert measured <= 0.01
    assert measured == pytest.approx(data["exploitability"], abs=1e-9)
    assert agent.exploitability == data["exploitability"]


def test_leduc_table_is_solved_into_the_cache_when_the_shipped_one_does_not_fit(
    tmp_path, monkeypatch
):
    """A shipped file from another OpenSpiel version is ignored; the table is solved once into
    $PALAESTRA_HOME/policies and read from there afterwards."""
    stale = tmp_path / "leduc_cfr.json"
    stale.write_text(json.dumps({"open_spiel": "0.0.1", "policy": {}}))
    monkeypatch.setattr(policies, "LEDUC_CFR_DATA", stale)
    monkeypatch.setenv("PALAESTRA_HOME", str(tmp_path / "home"))
    solves = []
    real = policies.solve_leduc_cfr

    def quick_solve():
        solves.append(1)
        return real(iterations=3)  # a real but short solve: the test stays fast

    monkeypatch.setattr(policies, "solve_leduc_cfr", quick_solve)
    policies.leduc_cfr_table.cache_clear()
    try:
        first = policies.leduc_cfr_table()
        cached = tmp_path / "home" / "policies" / "leduc_cfr.json"
        assert solves == [1] and cached.exists()
        assert json.loads(cached.read_text())["iterations"] == 3
        policies.leduc_cfr_table.cache_clear()
        second = policies.leduc_cfr_table()
        assert solves == [1]  # read back, not solved again
        assert second == first
        assert first["exploitability"] > 0.01  # 3 iterations: the real table is not this one
    finally:
        policies.leduc_cfr_table.cache_clear()


def test_solve_leduc_cfr_bad_iterations():
    with pytest.raises(ValueError, match="iterations must be a positive integer, got 0"):
        policies.solve_leduc_cfr(0)


# -- best responses -------------------------------------------------------------------------------


def test_best_response_to_uniform_gains_the_exploitability():
    br = best_response_agent("kuhn-poker-v0", UniformPolicy())
    # Exploitability is the mean over seats of the best response's value against the policy.
    assert (br.values[0] + br.values[1]) / 2 == pytest.approx(0.4583, abs=1e-3)
    uniform = UniformPolicy(seed=1)
    gains = []
    for seed in range(300):
        returns = play("kuhn-poker-v0", {"player_0": br, "player_1": uniform}, seed)
        gains.append(returns["player_0"])
        returns = play("kuhn-poker-v0", {"player_0": uniform, "player_1": br}, seed)
        gains.append(returns["player_1"])
    mean, se = float(np.mean(gains)), float(np.std(gains) / math.sqrt(len(gains)))
    assert mean > 0.25  # it beats uniform play...
    assert abs(mean - 0.4583) < 4 * se  # ...by the margin the exploitability implies


def test_best_response_to_nash_gains_nothing_and_to_a_table_or_openspiel_policy():
    br = best_response_agent("kuhn-poker-v0", KuhnNashPolicy())
    assert (br.values[0] + br.values[1]) / 2 == pytest.approx(0.0, abs=1e-9)
    table = policy_table(UniformPolicy(), "kuhn-poker-v0")
    only_1 = best_response_agent("kuhn-poker-v0", table, player=1)
    assert set(only_1.values) == {1}
    os_policy = tabular_policy(_os_game("kuhn-poker-v0"), table)
    assert best_response_agent("kuhn-poker-v0", os_policy).values == pytest.approx(br_values())


def br_values():
    return best_response_agent("kuhn-poker-v0", UniformPolicy()).values


def test_best_response_bad_input():
    with pytest.raises(ValueError, match=r"player must be one of \[0, 1\].*got 2"):
        best_response_agent("kuhn-poker-v0", UniformPolicy(), player=2)
    with pytest.raises(TypeError, match="expected a PolicyAgent, a table or an OpenSpiel policy"):
        best_response_agent("kuhn-poker-v0", 42)
    with pytest.raises(ValueError, match="not an OpenSpiel game"):
        best_response_agent("negotiation-v0", UniformPolicy())


# -- tic-tac-toe: perfect play --------------------------------------------------------------------


def test_minimax_never_loses_to_uniform_and_draws_itself():
    minimax = make_agent("scripted:tic-tac-toe/minimax?seed=5")
    assert isinstance(minimax, MinimaxPolicy)
    uniform = UniformPolicy(seed=9)
    wins = 0
    for seed in range(40):
        for seat, other in (("x", "o"), ("o", "x")):
            returns = play("tic-tac-toe-v0", {seat: minimax, other: uniform}, seed)
            assert returns[seat] >= 0, (seed, seat, returns)
            wins += returns[seat] > 0
    assert wins > 40  # it does not just draw: it punishes random play
    first_moves = set()
    for seed in range(12):
        other = make_agent(f"scripted:tic-tac-toe/minimax?seed={seed}")
        assert play("tic-tac-toe-v0", {"x": minimax, "o": other}, seed) == {"x": 0.0, "o": 0.0}
        env = make("tic-tac-toe-v0", wrappers=False)
        env.reset(seed=seed, options={"episode": f"ttt/{seed}"})
        first_moves.add(other.act([env.observation_for("x")])[0].text)
    assert len(first_moves) > 1  # ties between equally good moves are broken by the seed


def test_minimax_bad_observation():
    from palaestra.envs.protocol import Observation

    obs = Observation(text="", game="tic-tac-toe-v0", role="x", facts={"legal_actions": []})
    with pytest.raises(ValueError, match="no legal actions"):
        MinimaxPolicy().action_probabilities(obs)
