from __future__ import annotations

import re

import pytest
import torch

from palaestra.agents import make_agent
from palaestra.agents.hf import HFAgent, clear_model_cache, load_model, resolve_device
from palaestra.agents.tiny import build_tiny_model
from palaestra.envs.protocol import Observation


@pytest.fixture
def greedy(palaestra_home) -> HFAgent:
    return make_agent("hf:tiny?temperature=0&max_new_tokens=12&train=true")


def _forward_logprobs(model, action, temperature: float) -> list[float]:
    ids = torch.tensor([action.prompt_ids + action.completion_ids])
    with torch.no_grad():
        logits = model(ids).logits[0].float() / temperature
    logp = torch.log_softmax(logits, dim=-1)
    start = len(action.prompt_ids) - 1
    return [logp[start + i, t].item() for i, t in enumerate(action.completion_ids)]


def test_batched_greedy_equals_one_by_one(greedy, observations):
    batched = greedy.act(observations)
    single = [greedy.act([obs])[0] for obs in observations]
    assert [a.text for a in batched] == [a.text for a in single]
    assert [a.completion_ids for a in batched] == [a.completion_ids for a in single]
    lengths = {len(a.prompt_ids) for a in batched}
    assert len(lengths) == 4  # the prompts really differed in length (left padding was used)
    for a in batched:
        assert a.meta["batch"] == 4 and a.meta["tokens"] == len(a.completion_ids)
        assert a.meta["prompt_tokens"] == len(a.prompt_ids) and a.meta["latency"] > 0


def test_prompt_uses_the_chat_template(greedy, observations):
    obs = observations[1]
    action = greedy.act([obs])[0]
    rest = obs.text[len(obs.preamble) :].strip()
    expected = (
        f"<|im_start|>system\n{obs.preamble}<|im_end|>\n<|im_start|>user\n{rest}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert greedy.tokenizer.decode(action.prompt_ids) == expected
    assert greedy.render(obs).text == expected


def test_plain_text_prompt_without_a_chat_template(greedy, observations):
    tokenizer = greedy.tokenizer
    saved = tokenizer.chat_template
    try:
        tokenizer.chat_template = None
        action = greedy.act([observations[0]])[0]
    finally:
        tokenizer.chat_template = saved
    assert tokenizer.decode(action.prompt_ids) == observations[0].text


@pytest.mark.parametrize("temperature", [0.0, 0.7])
def test_logprobs_match_a_separate_forward_pass(palaestra_home, observations, temperature):
    agent = make_agent(f"hf:tiny?temperature={temperature}&max_new_tokens=10&train=true&seed=4")
    actions = agent.act(observations)
    for action in actions:
        assert len(action.logprobs) == len(action.completion_ids) == action.meta["tokens"]
        expected = _forward_logprobs(agent.model, action, temperature or 1.0)
        assert action.logprobs == pytest.approx(expected, abs=1e-4)
        assert action.meta["logprob_temperature"] == (temperature or 1.0)
        if temperature == 0:  # greedy picks the most likely token, so each log-prob is the max
            assert all(lp > -5 for lp in action.logprobs)


def test_top_p_logprobs_are_of_the_tempered_full_distribution(palaestra_home, observations):
    agent = make_agent("hf:tiny?temperature=0.9&top_p=0.5&top_k=20&max_new_tokens=8&train=true")
    for action in agent.act(observations):
        expected = _forward_logprobs(agent.model, action, 0.9)
        assert action.logprobs == pytest.approx(expected, abs=1e-4)


def test_no_training_fields_unless_asked(palaestra_home, observations):
    action = make_agent("hf:tiny?temperature=0&max_new_tokens=4").act(observations[:1])[0]
    assert action.prompt_ids is None and action.completion_ids is None and action.logprobs is None


def test_max_new_tokens_caps_the_completion(palaestra_home, observations):
    agent = make_agent("hf:tiny?temperature=1&max_new_tokens=3&train=true")
    for action in agent.act(observations):
        assert len(action.completion_ids) <= 3
        eos = agent.tokenizer.eos_token_id
        if len(action.completion_ids) < 3:
            assert action.completion_ids[-1] == eos and action.meta["finish_reason"] == "eos"
        else:
            assert action.meta["finish_reason"] in ("length", "eos")


def test_stop_strings_cut_the_text_and_end_generation(greedy, observations):
    free = greedy.act(observations)
    # Stop strings taken from the middle of each reply: generation must stop there.
    for obs, reply in zip(observations, free):
        visible = reply.text.replace("\ufffd", "")
        stop = visible[len(visible) // 2 : len(visible) // 2 + 2]
        assert len(stop) == 2
        agent = HFAgent(greedy.model, greedy.tokenizer, temperature=0, max_new_tokens=12, stop=stop)
        agent.train = True
        stopped = agent.act([obs])[0]
        assert stopped.meta["finish_reason"] == "stop"
        assert stop not in stopped.text
        assert reply.text.startswith(stopped.text)
        assert reply.text.find(stop) == len(stopped.text)
        assert len(stopped.completion_ids) <= len(reply.completion_ids)
        assert stopped.completion_ids == reply.completion_ids[: len(stopped.completion_ids)]
        done = greedy.tokenizer.decode(stopped.completion_ids)
        assert stop in done and stop not in greedy.tokenizer.decode(stopped.completion_ids[:-1])


def test_seeded_sampling_is_reproducible_and_leaves_global_rng_alone(palaestra_home, observations):
    spec = "hf:tiny?temperature=1.0&max_new_tokens=10&seed=11"
    torch.manual_seed(0)
    expected_next = torch.rand(1)
    torch.manual_seed(0)
    first = [a.text for a in make_agent(spec).act(observations)]
    assert torch.equal(torch.rand(1), expected_next)
    second = [a.text for a in make_agent(spec).act(observations)]
    assert first == second
    other = [a.text for a in make_agent(spec.replace("seed=11", "seed=12")).act(observations)]
    assert other != first
    agent = make_agent(spec)
    calls = [[a.text for a in agent.act(observations)] for _ in range(2)]
    assert calls[0] == first and calls[1] != first  # later calls draw fresh samples


def test_agents_share_one_loaded_model(palaestra_home, monkeypatch):
    from transformers import AutoModelForCausalLM

    clear_model_cache()
    loads = []
    real = AutoModelForCausalLM.from_pretrained

    def counting(*args, **kwargs):
        loads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", counting)
    a = make_agent("hf:tiny?temperature=0")
    b = make_agent("hf:tiny?temperature=1&seed=3")
    assert a.model is b.model and a.tokenizer is b.tokenizer
    assert len(loads) == 1
    assert load_model("tiny")[0] is a.model
    make_agent("hf:tiny?dtype=float64")  # another dtype is another model
    assert len(loads) == 2


def test_generation_uses_the_module_currently_in_agent_model(tmp_path, greedy, observations):
    other_path = build_tiny_model(tmp_path / "other", seed=1)
    other = HFAgent(str(other_path), temperature=0, max_new_tokens=12)
    before = [a.text for a in greedy.act(observations)]
    expected = [a.text for a in other.act(observations)]
    assert expected != before
    swapped = make_agent("hf:tiny?temperature=0&max_new_tokens=12")
    swapped.model = other.model  # as a trainer does with a peft-wrapped model
    swapped.model.train()
    assert [a.text for a in swapped.act(observations)] == expected
    assert swapped.model.training  # generation ran in eval mode and restored the mode


def test_agent_from_model_and_tokenizer_objects(greedy, observations):
    agent = HFAgent(greedy.model, greedy.tokenizer, temperature=0, max_new_tokens=12, name="mine")
    assert agent.name == "mine"
    assert [a.text for a in agent.act(observations)] == [a.text for a in greedy.act(observations)]
    with pytest.raises(TypeError, match="needs tokenizer="):
        HFAgent(greedy.model)


def test_batch_size_splits_big_batches(greedy, observations):
    agent = HFAgent(greedy.model, greedy.tokenizer, temperature=0, max_new_tokens=12, batch_size=3)
    actions = agent.act(observations)
    assert [a.meta["batch"] for a in actions] == [3, 3, 3, 1]
    assert [a.text for a in actions] == [a.text for a in greedy.act(observations)]
    assert agent.act([]) == []


def test_device_and_dtype_choice():
    device, dtype = resolve_device("cpu")
    assert (device.type, dtype) == ("cpu", torch.float32)
    assert resolve_device("cpu", "bfloat16")[1] is torch.bfloat16
    assert resolve_device("cpu", torch.float16)[1] is torch.float16
    with pytest.raises(ValueError, match="dtype must name a torch floating dtype"):
        resolve_device("cpu", "int8")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": -1}, "temperature must be >= 0"),
        ({"top_p": 0}, "top_p must be in"),
        ({"top_k": -2}, "top_k must be >= 0"),
        ({"max_new_tokens": 0}, "max_new_tokens must be >= 1"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"stop": [""]}, "stop strings must be non-empty"),
    ],
)
def test_bad_settings(greedy, kwargs, message):
    with pytest.raises(ValueError, match=message):
        HFAgent(greedy.model, greedy.tokenizer, **kwargs)


def test_observation_without_preamble_is_one_user_message(greedy):
    obs = Observation(text="just talk", game="chat", role="a")
    assert greedy.messages(obs) == [{"role": "user", "content": "just talk"}]


def test_missing_model_says_what_was_expected(tmp_path):
    from palaestra.agents.models import ALIASES

    # The message lists every alias (whatever the registry holds), then the other forms.
    expected = re.escape(f"expected an alias {sorted(ALIASES)}, a local model directory")
    with pytest.raises(FileNotFoundError, match=expected):
        make_agent(f"hf:{tmp_path / 'no-such-model'}")
