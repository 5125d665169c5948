from __future__ import annotations

import hashlib

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from palaestra.agents.tiny import EOS_TOKEN, PAD_TOKEN, build_tiny_model


def _digest(path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(path.iterdir())}


def test_build_is_deterministic_and_leaves_global_rng_alone(tmp_path):
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = build_tiny_model(tmp_path / "a")
    after = torch.rand(3)
    b = build_tiny_model(tmp_path / "b")
    assert _digest(a) == _digest(b)
    assert torch.equal(before, after)  # the build forked the RNG instead of consuming it
    c = build_tiny_model(tmp_path / "c", seed=1)
    assert _digest(c)["model.safetensors"] != _digest(a)["model.safetensors"]


def test_loads_with_auto_classes_and_round_trips_any_text(palaestra_home):
    path = palaestra_home / "models" / "tiny"
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    assert tok.pad_token == PAD_TOKEN and tok.eos_token == EOS_TOKEN
    assert tok.padding_side == "left"
    text = "OFFER: book=1 hat=2 ball=0 — café ☃ <think>x</think>"
    assert tok.decode(tok(text)["input_ids"]) == text  # byte-level: nothing is lost
    # Game words were learned as merges, so they take fewer tokens than their letters.
    assert len(tok("OFFER")["input_ids"]) < len("OFFER")
    chat = tok.apply_chat_template(
        [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert chat == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n" + (
        "<|im_start|>assistant\n"
    )
    assert model.config.vocab_size == len(tok)
