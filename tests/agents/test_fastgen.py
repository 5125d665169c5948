"""Cache reuse and the lean decode loop give the same greedy text as plain ``generate``."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from palaestra.agents import make_agent
from palaestra.agents.fastgen import _filled_buffer, _length_groups, _Row
from palaestra.agents.hf import HFAgent
from palaestra.agents.specs import AgentSpecError
from palaestra.arena.runner import EpisodeJob, MatchRunner
from palaestra.envs import make

GREEDY = "hf:tiny?temperature=0&max_new_tokens=6&train=true&reuse_cache=false"
REUSED = GREEDY.replace("reuse_cache=false", "reuse_cache=true")


def _play(spec: str, game: str, seeds: range, concurrency: int = 3):
    agent = make_agent(spec)
    roles = list(make(game).possible_agents)
    jobs = [
        EpisodeJob(game, seed, dict.fromkeys(roles, agent), env_kwargs={"max_turns": 4})
        for seed in seeds
    ]
    records = sorted(MatchRunner(concurrency=concurrency).run(jobs), key=lambda r: r.seed)
    return agent, records


def _turns(records):
    return [[(t.role, t.text, t.train["completion_ids"]) for t in r.turns] for r in records]


@pytest.mark.parametrize("game", ["negotiation-v0", "taboo-v0"])
def test_whole_episodes_are_identical_with_and_without_reuse(palaestra_home, game):
    _, plain = _play(GREEDY, game, range(3))
    agent, reused = _play(REUSED, game, range(3))
    assert _turns(reused) == _turns(plain)
    assert [r.returns for r in reused] == [r.returns for r in plain]
    # Every prompt token was either prefilled or read from a seat cache, and the cache served a
    # good part of them (the first turn of each seat has nothing cached).
    stats = agent._fast.stats
    prompt_tokens = sum(len(t.train["prompt_ids"]) for r in reused for t in r.turns)
    assert stats.prefill_tokens - stats.prefix_tokens + stats.reused_tokens == prompt_tokens
    assert stats.reused_tokens > 0.3 * prompt_tokens
    assert agent.kv_store.hits > 0
    # Every episode ended, so the runner freed every seat; only the shared prefixes stay.
    store = agent.kv_store
    assert len(store) == 0 and store.shared > 0 and store.shared_hits > 0
    store.clear()
    assert store.nbytes == 0 and store.shared == 0


def test_without_shared_prefixes_the_text_is_the_same_and_more_is_prefilled(palaestra_home):
    _, plain = _play(GREEDY, "negotiation-v0", range(3))
    shared_agent, shared = _play(REUSED, "negotiation-v0", range(3))
    own_agent, own = _play(f"{REUSED}&share_prefixes=false", "negotiation-v0", range(3))
    assert _turns(shared) == _turns(own) == _turns(plain)
    assert own_agent.kv_store.shared == own_agent.kv_store.shared_hits == 0
    assert own_agent._fast.stats.prefix_tokens == 0
    assert shared_agent._fast.stats.reused_tokens > own_agent._fast.stats.reused_tokens


def test_concurrency_and_refills_do_not_change_the_text(palaestra_home):
    # Concurrency 2 over 3 episodes: a new episode (no cache) joins seats with long caches,
    # so prefill groups of very different lengths meet in one call.
    _, plain = _play(GREEDY, "negotiation-v0", range(3), concurrency=3)
    _, reused = _play(REUSED, "negotiation-v0", range(3), concurrency=2)
    assert _turns(reused) == _turns(plain)


def _extend(obs, extra: str):
    history = obs.text[: len(obs.text) - len(obs.instruction)]
    return dataclasses.replace(
        obs, text=f"{history}{extra}\n\n{obs.instruction}", turn=obs.turn + 1
    )


def test_second_turn_reuses_the_prefix_and_logprobs_match_a_forward_pass(
    palaestra_home, observations
):
    agent = make_agent(REUSED)
    plain = make_agent(GREEDY)
    agent.act(observations)
    later = [_extend(obs, "[bob] OFFER: book=0 hat=1 ball=3.") for obs in observations]
    actions = agent.act(later)
    assert [a.text for a in actions] == [a.text for a in plain.act(later)]
    for action in actions:
        prompt = len(action.prompt_ids)
        assert prompt // 2 < action.meta["reused_tokens"] < prompt
        ids = torch.tensor([action.prompt_ids + action.completion_ids])
        with torch.no_grad():
            logp = torch.log_softmax(agent.model(ids).logits[0].float(), dim=-1)
        start = prompt - 1
        expected = [logp[start + i, t].item() for i, t in enumerate(action.completion_ids)]
        assert action.logprobs == pytest.approx(expected, abs=1e-4)


def test_rewritten_text_falls_back_to_a_full_prefill(palaestra_home, observations):
    agent = make_agent(f"{REUSED}&share_prefixes=false")  # only the seat's own cache
    plain = make_agent(GREEDY)
    agent.act(observations)
    # Same seats, but the preamble was rewritten: only the chat template's opening matches.
    rewritten = [
        dataclasses.replace(
            obs,
            text=obs.text.replace("alice", "carol"),
            preamble=obs.preamble.replace("alice", "carol"),
        )
        for obs in observations
    ]
    actions = agent.act(rewritten)
    assert [a.text for a in actions] == [a.text for a in plain.act(rewritten)]
    for action in actions:
        assert action.meta["reused_tokens"] < 10


def test_changed_weights_drop_the_caches(palaestra_home, observations):
    agent = make_agent(f"{REUSED}&share_prefixes=false")  # only the seat's own cache
    agent.act(observations)
    assert len(agent.kv_store) == 4
    param = next(agent.model.parameters())
    with torch.no_grad():
        param.add_(0.0)  # an in-place update (an optimizer step) with no effect on the values
    actions = agent.act([_extend(obs, "[bob] ACCEPT") for obs in observations])
    assert [a.meta["reused_tokens"] for a in actions] == [0, 0, 0, 0]


def test_stop_strings_and_early_finishers_match_generate(palaestra_home, observations):
    # Stop strings end rows at different steps, so finished rows leave the decode batch.
    free = make_agent(GREEDY.replace("max_new_tokens=6", "max_new_tokens=12")).act(observations)
    stops = sorted({a.text.replace("\ufffd", "")[2:4] for a in free if len(a.text) > 6})
    spec = f"{GREEDY.replace('max_new_tokens=6', 'max_new_tokens=12')}"
    plain = HFAgent(
        "tiny", temperature=0, max_new_tokens=12, stop=stops, train=True, reuse_cache=False
    )
    fast = HFAgent(
        "tiny", temperature=0, max_new_tokens=12, stop=stops, train=True, reuse_cache=True
    )
    expected, got = plain.act(observations), fast.act(observations)
    assert [(a.text, a.completion_ids, a.meta["finish_reason"]) for a in got] == [
        (a.text, a.completion_ids, a.meta["finish_reason"]) for a in expected
    ]
    assert {a.meta["finish_reason"] for a in got} >= {"stop"}
    assert make_agent(spec).max_new_tokens == 12


def test_seeded_sampling_with_reuse_is_reproducible(palaestra_home, observations):
    spec = "hf:tiny?temperature=1.0&max_new_tokens=8&seed=3&reuse_cache=true"
    first = [a.text for a in make_agent(spec).act(observations)]
    assert [a.text for a in make_agent(spec).act(observations)] == first


def test_a_zero_cap_keeps_nothing_and_changes_nothing(palaestra_home, observations):
    agent = make_agent(REUSED + "&cache_mb=0")
    expected = [a.text for a in make_agent(GREEDY).act(observations)]
    assert [a.text for a in agent.act(observations)] == expected
    assert len(agent.kv_store) == 0


def test_generation_config_extras_fall_back_to_generate(palaestra_home, observations):
    agent = make_agent(REUSED)
    config = agent.model.generation_config
    try:
        config.no_repeat_ngram_size = 2  # a processor only generate() applies
        expected = [a.text for a in make_agent(GREEDY).act(observations)]
        actions = agent.act(observations)
    finally:
        config.no_repeat_ngram_size = 0
    assert [a.text for a in actions] == expected
    assert all("reused_tokens" not in a.meta for a in actions) and len(agent.kv_store) == 0


def test_spec_options(palaestra_home):
    agent = make_agent("hf:tiny?reuse_cache=true&cache_mb=64")
    assert agent.kv_store is not None and agent.kv_store.max_bytes == 64 * 2**20
    assert make_agent("hf:tiny").kv_store is not None  # on by default
    assert make_agent("hf:tiny?reuse_cache=false").kv_store is None
    with pytest.raises(AgentSpecError, match="cache_mb"):
        make_agent("hf:tiny?reuse_cache=true&cache_mb=-1")


def test_end_episode_and_reset_free_the_seats(palaestra_home, observations):
    agent = make_agent(REUSED)
    agent.act(observations)
    agent.end_episode("ep0")
    assert len(agent.kv_store) == 3 and "ep0/alice" not in agent.kv_store
    agent.reset()
    assert len(agent.kv_store) == 0


@pytest.mark.parametrize(
    ("suffix_lengths", "groups"),
    [
        ([10, 11, 12, 100, 110], [[0, 1, 2], [3, 4]]),
        ([50, 5], [[1], [0]]),  # padding 5 -> 50 would be 10x the real tokens
        ([40, 40, 41], [[0, 1, 2]]),
        ([7], [[0]]),
    ],
)
def test_prefill_groups_rows_of_similar_length(suffix_lengths, groups):
    rows = [_Row(list(range(n)), None) for n in suffix_lengths]
    assert _length_groups(rows) == groups


def test_later_episodes_reuse_the_rules_prefilled_by_earlier_ones(palaestra_home):
    # One episode at a time: no batch to share within, so every first turn after the very
    # first one finds the rules in a cache (bob in alice's, later episodes in the shared copy).
    _, plain = _play(GREEDY, "taboo-v0", range(3), concurrency=1)
    agent, reused = _play(REUSED, "taboo-v0", range(3), concurrency=1)
    own, _ = _play(f"{REUSED}&share_prefixes=false", "taboo-v0", range(3), concurrency=1)
    assert _turns(reused) == _turns(plain)
    assert agent.kv_store.shared_hits == 5  # 6 first turns, all but the very first
    rules = make("taboo-v0").unwrapped.game._rules_text()
    rule_tokens = len(agent.tokenizer(rules)["input_ids"])
    gained = agent._fast.stats.reused_tokens - own._fast.stats.reused_tokens
    assert rule_tokens >= 32 and gained >= 5 * rule_tokens


def test_filled_buffer_right_aligns_each_row_and_zeroes_the_padding():
    a = torch.full((2, 2, 1, 3, 4), 1.0)  # (layers, 2, heads, length 3, dim)
    b = torch.full((2, 2, 1, 5, 4), 2.0)
    buf = _filled_buffer([a, None, b], width=5, capacity=8, device="cpu")
    assert buf.shape == (2, 2, 3, 1, 8, 4)
    assert buf[:, :, 0, :, :2].eq(0).all() and buf[:, :, 0, :, 2:5].eq(1).all()
    assert buf[:, :, 1, :, :5].eq(0).all()  # a row with nothing cached: all padding
    assert buf[:, :, 2, :, :5].eq(2).all()


def _copies(observations, n: int):
    """``n`` seats of other episodes for each observation, reading the very same text."""
    return [
        dataclasses.replace(obs, episode=f"{obs.episode}-copy{k}")
        for obs in observations
        for k in range(n)
    ]


def test_repeated_prompts_are_prefilled_once_and_decode_as_one_slot(palaestra_home, observations):
    copies = _copies(observations[:2], 4)  # 8 rows, 2 distinct prompts
    fast = make_agent(f"{REUSED}&share_prefixes=false")
    once = make_agent(f"{REUSED}&share_prefixes=false")
    expected = make_agent(GREEDY).act(copies)
    got = fast.act(copies)
    assert [(a.text, a.completion_ids) for a in got] == [
        (a.text, a.completion_ids) for a in expected
    ]
    for a, b in zip(got, expected):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
    # The prefill and the decode steps cost what the two distinct prompts cost alone.
    once.act([copies[0], copies[4]])
    stats, alone = fast._fast.stats, once._fast.stats
    assert stats.prefill_tokens == alone.prefill_tokens
    assert stats.decode_rows == alone.decode_rows <= 2 * 5
    prompt_tokens = sum(len(a.prompt_ids) for a in got)
    assert stats.prefill_tokens + stats.reused_tokens == prompt_tokens


def test_sampled_copies_split_and_each_row_keeps_its_own_logprobs(palaestra_home, observations):
    spec = "hf:tiny?temperature=0.3&max_new_tokens=6&seed=5&train=true&reuse_cache=true"
    copies = _copies(observations[:1], 16)  # one prompt, 16 rows
    agent = make_agent(spec)
    actions = agent.act(copies)
    replies = {tuple(a.completion_ids) for a in actions}
    assert len(replies) > 4  # the slot split as the rows drew different tokens
    assert agent._fast.stats.decode_rows < 16 * 5  # ... but not into 16 rows from the start
    for action in actions:  # every row's log-probs are those of its own reply
        ids = torch.tensor([action.prompt_ids + action.completion_ids])
        with torch.no_grad():
            logp = torch.log_softmax(agent.model(ids).logits[0].float() / 0.3, dim=-1)
        start = len(action.prompt_ids) - 1
        expected = [logp[start + i, t].item() for i, t in enumerate(action.completion_ids)]
        assert action.logprobs == pytest.approx(expected, abs=1e-4)
    assert [a.text for a in make_agent(spec).act(copies)] == [a.text for a in actions]
