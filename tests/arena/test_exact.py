"""Exact evaluation: OpenSpiel's figures for reference policies, the hf agent's ``score``
against its own sampling, the sampled estimate, and the command line."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("pyspiel")

from palaestra.agents.hf import HFAgent
from palaestra.envs.protocol import Observation

UNIFORM = {"kuhn-poker-v0": 0.4583, "leduc-poker-v0": 2.3736}  # OpenSpiel's figures


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    from palaestra.agents.tiny import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(autouse=True)
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _prompt() -> Observation:
    preamble = "Rules: reply bet or pass."
    return Observation(text=f"{preamble}\n\nYour move:", game="g", role="r", preamble=preamble)


def _round_trip_tokens(tok) -> list[int]:
    """Tokens whose text tokenizes back to exactly that token (so a text names one sequence)."""
    special = set(tok.all_special_ids)
    return [t for t in range(len(tok)) if t not in special and _is_canonical(tok, [t])]


def _next_token_order(agent: HFAgent, ids: list[int]) -> list[int]:
    """Token ids from the likeliest next token down."""
    import torch

    with torch.no_grad():
        logits = agent.model(torch.tensor([ids])).logits[0, -1]
    return torch.argsort(logits, descending=True).tolist()


def _is_canonical(tok, ids: list[int]) -> bool:
    return tok(tok.decode(ids), add_special_tokens=False)["input_ids"] == ids


# -- score against sampling -----------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_scored_probabilities_match_sampling_frequencies(tiny_path: str, temperature: float):
    """exp(score) is the probability that a sampled reply begins with the candidate: the
    frequencies of 4000 sampled replies fit it (chi-square, fixed seed). At temperature 0.6 a
    score that ignored the temperature would be rejected (p << 1e-10)."""
    agent = HFAgent(tiny_path, temperature=temperature, max_new_tokens=2, seed=2, train=True)
    tok, obs = agent.tokenizer, _prompt()
    # Categories: the three likeliest first tokens alone, and the fourth with its likeliest
    # continuation (a two-token candidate); disjoint as prefixes. Chosen from the model's
    # next-token distribution, so that each has real mass.
    tokens = _round_trip_tokens(tok)
    top = [t for t in _next_token_order(agent, agent.render(obs).ids) if t in tokens][:4]
    follow = _next_token_order(agent, [*agent.render(obs).ids, top[3]])
    second = next(t for t in follow if t in tokens and _is_canonical(tok, [top[3], t]))
    categories = [[top[0]], [top[1]], [top[2]], [top[3], second]]
    texts = [tok.decode(c) for c in categories]
    expected = np.exp(agent.score([obs], [texts])[0])
    assert 0.05 < expected.sum() < 0.99  # the test is informative: real mass, and an "other"

    n = 4000
    batch = [Observation(**{**obs.__dict__, "episode": f"s{i}"}) for i in range(n)]
    replies = agent.act(batch)
    counts = Counter()
    for action in replies:
        ids = list(action.completion_ids)
        hit = [k for k, c in enumerate(categories) if ids[: len(c)] == c]
        counts[hit[0] if hit else "other"] += 1
    observed = [counts[k] for k in range(len(categories))] + [counts["other"]]
    probs = [*expected, 1 - expected.sum()]
    _, p = stats.chisquare(observed, np.asarray(probs) * n)
    assert p > 1e-3, (observed, np.round(np.asarray(probs) * n, 1))


def test_score_is_the_plain_forward_log_probability(tiny_path: str):
    """Shared-prefix cache, stem rows and left padding change nothing: each score is the sum of
    the candidate's token log-probs (at the temperature) from one unpadded forward pass."""
    import torch

    agent = HFAgent(tiny_path, temperature=0.7)
    rules = "Rules: reply bet or pass. " * 5
    observations = [
        Observation(text=f"{rules}\n\n{h}\nYour move:", game="g", role="r", preamble=rules)
        for h in ("", "player_1 bets.", "player_0 passes. player_1 passes again.")
    ]
    candidates = [["bet", "pass"], ["call", "fold", "raise"], ["b", "bet", "pass it"]]
    got = agent.score(observations, candidates, batch_rows=3)
    for obs, texts, row in zip(observations, candidates, got):
        prompt = agent.render(obs).ids
        for text, value in zip(texts, row):
            reply = agent.tokenizer(text, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logits = agent.model(torch.tensor([prompt + reply])).logits[0]
            logp = torch.log_softmax(logits[len(prompt) - 1 : -1] / 0.7, dim=-1)
            expected = float(logp.gather(1, torch.tensor(reply)[:, None]).sum())
            assert value == pytest.approx(expected, abs=1e-4), (text, value, expected)


def test_score_end_scores_the_whole_reply(tiny_path: str):
    agent = HFAgent(tiny_path, temperature=1.0)
    obs = _prompt()
    prefix = agent.score([obs], [["bet", "pass"]])[0]
    whole = agent.score([obs], [["bet", "pass"]], end=True)[0]
    assert all(w < p <= 0 for w, p in zip(whole, prefix))


def test_score_is_batched_consistently(tiny_path: str):
    agent = HFAgent(tiny_path, temperature=0.8)
    a, b = _prompt(), Observation(text="Longer rules text here.\n\nGo:", game="g", role="r")
    together = agent.score([a, b], [["bet", "pass"], ["call", "fold", "raise"]], batch_rows=2)
    alone = agent.score([b], [["call", "fold", "raise"]])
    assert np.allclose(together[1], alone[0], atol=1e-4)
    assert len(together[0]) == 2


def test_score_bad_input(tiny_path: str):
    agent = HFAgent(tiny_path)
    with pytest.raises(ValueError, match="one candidate list per observation"):
        agent.score([_prompt()], [])
    with pytest.raises(ValueError, match="must be text"):
        agent.score([_prompt()], [["bet", ""]])


# -- exact evaluation -----------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", ["kuhn-poker-v0", "leduc-poker-v0"])
def test_uniform_anchors(env_id):
    from palaestra.arena.exact import exploitability_of

    result = exploitability_of(f"scripted:{env_id.removesuffix('-v0')}/uniform", env_id)
    assert result.method == "exact"
    assert result.exploitability == pytest.approx(UNIFORM[env_id], abs=1e-3)
    assert result.nash_conv == pytest.approx(2 * result.exploitability, abs=1e-9)
    assert result.invalid_mass == 0 and result.interval is None
    assert len(result.states) == {"kuhn-poker-v0": 12, "leduc-poker-v0": 936}[env_id]


def test_nash_anchor_and_cfr_table():
    from palaestra.arena.exact import exploitability_of

    assert exploitability_of("scripted:kuhn-poker/nash", "kuhn-poker-v0").exploitability < 1e-3
    cfr = exploitability_of("scripted:leduc-poker/cfr", "leduc-poker-v0")
    assert cfr.exploitability <= 0.01


def test_random_is_sampled_and_its_interval_covers_the_uniform_figure():
    from palaestra.arena.exact import exploitability_of

    result = exploitability_of("random", "kuhn-poker-v0", samples=200, bootstrap=100, seed=1)
    assert result.method == "sampled" and result.samples_per_state == 200
    low, high = result.interval
    assert low < UNIFORM["kuhn-poker-v0"] < high
    assert high - low < 0.3
    assert all(s.samples == 200 for s in result.states)
    assert result.invalid_mass == 0


def test_sampled_replies_are_parsed_as_in_play_and_invalid_ones_counted():
    from palaestra.agents.base import CallableAgent
    from palaestra.arena.exact import exploitability_of
    from palaestra.envs.openspiel.policies import KuhnNashPolicy

    class AlwaysBet(KuhnNashPolicy):
        def bet_probability(self, card, history):
            return 1.0

    exact = exploitability_of(AlwaysBet(), "kuhn-poker-v0").exploitability
    # Reasoning is stripped and the first move named counts, as the env parses replies.
    says_bet = CallableAgent(lambda text: "<think>pass? no.</think> I bet, then pass.")
    sampled = exploitability_of(says_bet, "kuhn-poker-v0", samples=3, bootstrap=0)
    assert sampled.exploitability == pytest.approx(exact, abs=1e-12)
    assert sampled.invalid_mass == 0
    # Nothing legal named: all mass invalid, the policy falls back to uniform.
    nonsense = exploitability_of(CallableAgent(lambda text: "banana"), "kuhn-poker-v0", samples=2)
    assert nonsense.invalid_mass == 1.0 == nonsense.invalid_mass_max
    assert nonsense.exploitability == pytest.approx(UNIFORM["kuhn-poker-v0"], abs=1e-3)


def test_hf_agent_is_scored_over_the_spellings_of_the_legal_moves(tiny_path: str):
    """Each move's probability is the sum over the reply beginnings the env parses as it
    (canonical text, aliases, case variants), renormalised; the rest is the invalid mass."""
    from palaestra.arena.exact import _move_spellings, exploitability_of
    from palaestra.envs.openspiel.policies import information_states

    agent = HFAgent(tiny_path, temperature=0.8)
    result = exploitability_of(agent, "kuhn-poker-v0")
    assert result.method == "scored"
    states = information_states("kuhn-poker-v0")
    facing = next(s for s in states if s.key == "0pb")
    assert _move_spellings(facing) == [
        ["pass", "Pass", "fold", "Fold"],
        ["bet", "Bet", "call", "Call"],
    ]
    for state, row in zip(states, result.states):
        groups = _move_spellings(state)
        mass = [sum(np.exp(agent.score([state.observation], [g])[0])) for g in groups]
        # (batched and one-by-one forward passes differ by float noise, ~1e-4 in log-prob)
        assert np.allclose(row.probs, np.array(mass) / sum(mass), rtol=1e-3, atol=1e-6)
        assert row.invalid_mass == pytest.approx(1 - sum(mass), abs=1e-9)
    assert 0 <= result.exploitability <= 2


def test_greedy_hf_agent_is_read_from_one_reply_per_state(tiny_path: str):
    from palaestra.arena.exact import exploitability_of

    agent = HFAgent(tiny_path, temperature=0, max_new_tokens=3)
    result = exploitability_of(agent, "kuhn-poker-v0")
    assert result.method == "greedy" and result.samples_per_state == 1
    assert {s.samples for s in result.states} == {1}


def test_agent_policy_feeds_a_best_response_to_any_agent():
    from palaestra.agents.base import CallableAgent
    from palaestra.arena.exact import agent_policy
    from palaestra.envs.openspiel.policies import best_response_agent

    always_bet = CallableAgent(lambda text: "bet", name="always-bet")
    policy = agent_policy(always_bet, "kuhn-poker-v0", samples=2)
    br = best_response_agent("kuhn-poker-v0", policy)
    # Against a player who always bets, the best response folds a Jack and calls otherwise;
    # its mean gain over the seats is the exploitability.
    from palaestra.arena.exact import exploitability_of

    gain = exploitability_of(always_bet, "kuhn-poker-v0", samples=2, bootstrap=0)
    assert (br.values[0] + br.values[1]) / 2 == pytest.approx(gain.exploitability, abs=1e-9)
    facing_bet_with_jack = {
        "info_state": "0b",
        "legal_actions": [0, 1],
        "candidates": ("pass", "bet"),
    }
    obs = Observation(text="", game="kuhn-poker-v0", role="player_1", facts=facing_bet_with_jack)
    assert br.action_probabilities(obs) == {0: 1.0}


def test_bad_game_method_and_arguments():
    from palaestra.arena.exact import exploitability_of

    with pytest.raises(ValueError, match=r"'tic-tac-toe-v0'.*kuhn-poker-v0, leduc-poker-v0"):
        exploitability_of("random", "tic-tac-toe-v0")
    with pytest.raises(ValueError, match="method 'exact' needs a PolicyAgent"):
        exploitability_of("random", "kuhn-poker-v0", method="exact")
    with pytest.raises(ValueError, match="method 'scored' needs an agent with a score"):
        exploitability_of("random", "kuhn-poker-v0", method="scored")
    with pytest.raises(ValueError, match="samples must be a positive integer, got 0"):
        exploitability_of("random", "kuhn-poker-v0", samples=0)
    with pytest.raises(ValueError, match="unknown agent spec 'nosuch:x'"):
        exploitability_of("nosuch:x", "kuhn-poker-v0")


# -- command line ---------------------------------------------------------------------------------


def test_cli_prints_the_table_and_writes_json(tmp_path, capsys):
    from palaestra.cli import main

    path = tmp_path / "out" / "nash.json"
    code = main(
        ["evaluate", "exploitability", "scripted:kuhn-poker/nash", "--game", "kuhn-poker-v0",
         "--json", str(path)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "exploitability 0.0000" in out and "NashConv 0.0000" in out
    assert "invalid mass 0.0000" in out
    assert "2pb" in out and "pass 0.333  bet 0.667" in out  # the policy table, readable
    data = json.loads(path.read_text())
    assert data["exploitability"] < 1e-3 and data["method"] == "exact"
    assert len(data["states"]) == 12 and data["states"][0]["moves"] == ["pass", "bet"]


def test_cli_sampled_agent_prints_its_interval(capsys):
    from palaestra.cli import main

    code = main(["evaluate", "exploitability", "random", "--samples", "20", "--bootstrap", "20"])
    out = capsys.readouterr().out
    assert code == 0 and "bootstrap" in out and "20 samples per state" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["random", "--game", "tic-tac-toe-v0"], "supported games are kuhn-poker-v0"),
        (["nosuch:x"], "unknown agent spec 'nosuch:x'"),
        (["random", "--samples", "0"], "samples must be a positive integer"),
    ],
)
def test_cli_errors_name_the_bad_value(argv, message, capsys):
    from palaestra.cli import main

    assert main(["evaluate", "exploitability", *argv]) == 2
    assert message in capsys.readouterr().err


# -- trainer hook ---------------------------------------------------------------------------------


def _train_config(tiny: str, run_dir, exploitability: bool):
    from palaestra.arena.train.config import parse_config

    return parse_config(
        {
            "run_dir": str(run_dir),
            "steps": 1,
            "episodes_per_step": 2,
            "group_size": 2,
            "policy": {"spec": f"hf:{tiny}?temperature=1.0&max_new_tokens=4"},
            "optim": {"epochs": 1, "minibatch_size": 4, "lr": 1e-3},
            "stages": [
                {"games": [{"env": "kuhn-poker-v0"}], "opponents": ["scripted:kuhn-poker/uniform"]}
            ],
            "eval": {
                "every": 1,
                "episodes": 1,
                "opponents": ["scripted:kuhn-poker/uniform"],
                "exploitability": exploitability,
            },
        }
    )


def test_trainer_logs_the_exploitability_at_every_evaluation(tiny_path: str, tmp_path):
    from palaestra.arena.exact import exploitability_of
    from palaestra.arena.train.trainer import Trainer

    trainer = Trainer(_train_config(tiny_path, tmp_path / "on", exploitability=True))
    before = trainer.evaluate()
    row = trainer.train_step()  # eval.every = 1: this step evaluates
    for figures in (before, row):
        assert figures["eval/exploitability"] == figures["eval/kuhn-poker-v0/exploitability"]
        assert 0 <= figures["eval/exploitability"] <= figures["eval/kuhn-poker-v0/nash_conv"]
        assert 0 <= figures["eval/kuhn-poker-v0/invalid_mass"] <= 1
    # The figure is the trained policy's own, after the update (not a stale one).
    now = exploitability_of(trainer.policy.agent, "kuhn-poker-v0")
    assert row["eval/exploitability"] == pytest.approx(now.exploitability, abs=1e-6)

    off = Trainer(_train_config(tiny_path, tmp_path / "off", exploitability=False))
    assert not any(k.endswith("exploitability") for k in off.evaluate())


def test_kuhn_with_the_card_named_first_is_read_through_every_spelling():
    from palaestra.arena import exact
    from palaestra.envs.openspiel.policies import information_states

    nash = exact.exploitability_of("scripted:kuhn-poker/nash", "kuhn-poker-v0", name_card=True)
    assert nash.exploitability < 1e-9
    state = information_states("kuhn-poker-v0", name_card=True)[0]  # player_0 holds the Jack
    assert exact._move_spellings(state) == [
        ["Jack: pass", "pass", "Pass", "check", "Check"],
        ["Jack: bet", "bet", "Bet"],
    ]
