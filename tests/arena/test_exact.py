"""Exact evaluation: OpenSpiel's figures for reference policies, the hf agent's ``score``
against its own sampling, the sampled estimate, and the command line."""

from __future__ import annotations

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
