"""The ``vllm:`` agent: the hf: agent's contract on a vLLM engine.

The engine tests need vLLM, which lives in its own venv (``make test-vllm`` builds it and runs
this file there with ``PALAESTRA_REQUIRE_VLLM=1``, so that a missing vLLM fails instead of
skipping). One engine on the tiny model serves the whole module: an engine start costs about a
minute on two CPU cores.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import os
import sys

import pytest

from palaestra.agents import make_agent
from palaestra.agents.models import drop_gguf_quantization
from palaestra.agents.specs import AgentSpecError
from palaestra.agents.vllm import VLLMUnavailableError, import_vllm
from palaestra.envs.protocol import Action, Observation

HAVE_VLLM = importlib.util.find_spec("vllm") is not None
if not HAVE_VLLM and os.environ.get("PALAESTRA_REQUIRE_VLLM"):
    raise RuntimeError("PALAESTRA_REQUIRE_VLLM is set but vllm is not importable in this venv")
needs_vllm = pytest.mark.skipif(
    not HAVE_VLLM,
    reason="vLLM is not installed in this venv; 'make test-vllm' runs these tests in its own",
)

SPEC = "vllm:tiny?max_new_tokens=16&max_model_len=2048&kv_cache_mb=64"


# -- without vLLM ----------------------------------------------------------------------------


def test_drop_gguf_quantization_removes_only_the_gguf_entry(tmp_path):
    config = {"model_type": "llama", "hidden_size": 8}
    gguf = {"quant_method": "gguf", "gguf_file": "m.gguf", "dequantize": False}
    (tmp_path / "config.json").write_text(json.dumps({**config, "quantization_config": gguf}))
    assert drop_gguf_quantization(tmp_path) is True
    assert json.loads((tmp_path / "config.json").read_text()) == config
    assert drop_gguf_quantization(tmp_path) is False  # already clean
    other = {**config, "quantization_config": {"quant_method": "awq", "bits": 4}}
    (tmp_path / "config.json").write_text(json.dumps(other))
    assert drop_gguf_quantization(tmp_path) is False  # a real quantization is kept
    assert json.loads((tmp_path / "config.json").read_text()) == other
    assert drop_gguf_quantization(tmp_path / "missing") is False


def test_missing_vllm_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` fail
    with pytest.raises(VLLMUnavailableError, match="make install-vllm"):
        import_vllm()
    with pytest.raises(VLLMUnavailableError, match=r"palaestra\[vllm\]"):
        make_agent("vllm:tiny")


def test_spec_errors_are_clear():
    with pytest.raises(AgentSpecError, match="expected 'vllm:<model"):
        make_agent("vllm:")
    with pytest.raises(AgentSpecError, match=r"unknown vllm agent option\(s\) \['beams'\]"):
        make_agent("vllm:tiny?beams=4")
    with pytest.raises(AgentSpecError, match="temperature must be >= 0"):
        make_agent("vllm:tiny?temperature=-1")
    with pytest.raises(AgentSpecError, match=r"gpu_memory_utilization must be in \(0, 1\]"):
        make_agent("vllm:tiny?gpu_memory_utilization=1.5")


def test_bad_path_is_a_clear_error_at_build(tmp_path):
    missing = tmp_path / "no" / "such-model"
    with pytest.raises(FileNotFoundError, match="no such directory"):
        make_agent(f"vllm:{missing}")


# -- with vLLM -------------------------------------------------------------------------------


def _observations(n: int = 4) -> list[Observation]:
    """Prompts longer than vLLM's CPU block (128 tokens), so that prefix caching can show."""
    preamble = "You are alice. " + "Your values: book=2 hat=3 ball=1. " * 16
    out = []
    for i in range(n):
        history = " ".join(["bob: OFFER: book=1 hat=1 ball=0."] * i)
        instruction = f"Move {i + 1}. Your message, alice:"
        out.append(
            Observation(
                text=f"{preamble}\n\nTranscript: {history}\n\n{instruction}",
                game="negotiation-v0",
                role="alice",
                preamble=preamble,
                instruction=instruction,
                episode=f"ep{i}",
                turn=i,
            )
        )
    return out


@pytest.fixture(scope="module")
def agent(palaestra_home):
    if not HAVE_VLLM:
        pytest.skip("vLLM is not installed in this venv")
    return make_agent(f"{SPEC}&temperature=0&train=true")


@needs_vllm
def test_act_on_a_batch_with_training_data(agent):
    observations = _observations()
    actions = agent.act(observations)
    assert len(actions) == len(observations)
    for obs, action in zip(observations, actions):
        assert action.error is None and isinstance(action.text, str)
        assert action.prompt_ids == agent.render(obs)
        assert action.meta["prompt_tokens"] == len(action.prompt_ids)
        assert len(action.logprobs) == len(action.completion_ids) == action.meta["tokens"]
        assert 1 <= len(action.completion_ids) <= 16
        assert all(math.isfinite(p) and p <= 0 for p in action.logprobs)
        assert action.meta["finish_reason"] in {"eos", "length"}
        assert action.meta["batch"] == len(observations)


@needs_vllm
def test_greedy_equals_the_hf_agent_token_for_token(agent):
    hf = make_agent("hf:tiny-vllm?temperature=0&max_new_tokens=16&train=true")
    observations = _observations()
    for ours, theirs in zip(agent.act(observations), hf.act(observations)):
        assert ours.prompt_ids == theirs.prompt_ids
        assert ours.completion_ids == theirs.completion_ids
        assert ours.text == theirs.text
        assert ours.logprobs == pytest.approx(theirs.logprobs, abs=1e-3)


@needs_vllm
def test_stop_strings_cut_the_text_as_hf_does(agent):
    obs = _observations(1)
    full = agent.act(obs)[0].text
    # A two-letter piece of the greedy reply, past its start, becomes the stop string.
    at = next(i for i in range(2, len(full) - 1) if full[i : i + 2].isalpha())
    stop = full[at : at + 2]
    stopped = make_agent(f"{SPEC}&temperature=0", stop=[stop]).act(obs)[0]
    assert stopped.text == full[: full.find(stop)]
    assert stopped.meta["finish_reason"] == "stop"
    hf = make_agent("hf:tiny-vllm?temperature=0&max_new_tokens=16", stop=[stop]).act(obs)[0]
    assert stopped.text == hf.text


@needs_vllm
def test_sampling_is_reproducible_from_the_seed(agent):
    observations = _observations()

    def texts(seed: int) -> list[list[str]]:
        sampler = make_agent(f"{SPEC}&temperature=1.5&seed={seed}")
        return [[a.text for a in sampler.act(observations)] for _ in range(2)]

    first = texts(7)
    assert first == texts(7)  # same seed, same calls: same text
    assert first[0] != first[1]  # the call count enters the seed
    assert first != texts(8)


@needs_vllm
def test_prefix_caching_reuses_earlier_prompts(agent):
    config = agent.engine.llm.llm_engine.vllm_config.cache_config
    assert config.enable_prefix_caching
    observations = _observations()
    agent.act(observations)
    again = agent.act(observations)
    block = config.block_size
    for action in again:
        # Every whole block before the last prompt token comes from the cache.
        whole_blocks = (action.meta["prompt_tokens"] - 1) // block * block
        assert action.meta["reused_tokens"] >= whole_blocks > 0


@needs_vllm
def test_agents_naming_one_model_share_one_engine(agent):
    other = make_agent(f"{SPEC}&temperature=0.9&seed=3&name=second")
    assert other.engine is agent.engine
    assert other.name == "second" and agent.name == "vllm:tiny"


@needs_vllm
def test_a_failing_engine_gives_recorded_agent_failures(agent, monkeypatch):
    from vllm.v1.engine.exceptions import EngineDeadError

    from palaestra.agents import vllm as vllm_agent
    from palaestra.arena.runner import EpisodeJob, MatchRunner

    class DyingLLM:
        def generate(self, *args, **kwargs):
            raise EngineDeadError("engine core process exited")

    # A copy of the shared engine whose generate dies; the real one stays untouched.
    broken = dataclasses.replace(agent.engine, llm=DyingLLM(), key=("broken",))
    monkeypatch.setitem(vllm_agent._ENGINES, broken.key, broken)
    failing = make_agent(f"{SPEC}&temperature=0")
    failing.engine = broken
    actions = failing.act(_observations(2))
    assert all(isinstance(a, Action) and a.failed for a in actions)
    assert all("engine core process exited" in a.error for a in actions)
    assert broken.dead is not None and broken.key not in vllm_agent._ENGINES
    later = failing.act(_observations(1))[0]
    assert later.failed and "died earlier" in later.error

    # In a match, the failure is recorded and the run goes on to the next episode.
    jobs = [
        EpisodeJob(
            "negotiation-v0",
            seed,
            {"alice": failing, "bob": make_agent("scripted:negotiation/fair")},
        )
        for seed in range(2)
    ]
    records = list(MatchRunner(concurrency=1).run(jobs))
    assert len(records) == 2
    assert all(r.errors and "died earlier" in r.errors[0]["error"] for r in records)


@needs_vllm
def test_plays_a_whole_episode_in_the_arena(agent):
    from palaestra.arena.runner import EpisodeJob, MatchRunner

    player = make_agent(f"{SPEC}&temperature=0")
    jobs = [EpisodeJob("negotiation-v0", 0, {"alice": player, "bob": player})]
    (record,) = MatchRunner(concurrency=1).run(jobs)
    assert not record.errors
    assert len(record.turns) >= 2


@needs_vllm
def test_weight_sync_makes_the_engine_generate_as_the_new_weights(agent):
    import copy

    import torch

    from palaestra.agents.hf import HFAgent

    base = make_agent("hf:tiny-vllm?temperature=0&max_new_tokens=16")
    observations = _observations()
    before = [a.completion_ids for a in agent.act(observations)]
    changed = copy.deepcopy(base.model)  # the cached model stays as it was
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        embed = changed.get_input_embeddings().weight
        embed.add_(0.5 * torch.randn_like(embed))
    trained = HFAgent(changed, base.tokenizer, temperature=0, max_new_tokens=16, train=True)
    try:
        seconds = agent.engine.load_weights(changed.state_dict().items())
        assert seconds > 0
        after = agent.act(observations)
        expected = trained.act(observations)
        assert [a.completion_ids for a in after] == [a.completion_ids for a in expected]
        assert [a.completion_ids for a in after] != before
        assert all(a.meta["reused_tokens"] == 0 for a in after[:1])  # the cache was dropped
    finally:
        agent.engine.load_weights(base.model.state_dict().items())
    assert [a.completion_ids for a in agent.act(observations)] == before


@needs_vllm
def test_a_kv_cache_too_small_for_one_request_is_a_clear_error_at_build(palaestra_home):
    from palaestra.agents.vllm import VLLMEngineError

    # 0.05 MiB holds a few hundred of the tiny model's tokens, not one 2048-token request.
    with pytest.raises(VLLMEngineError, match=r"could not start an engine for 'tiny'.*memory"):
        make_agent("vllm:tiny?max_model_len=2048&kv_cache_mb=0.05")
