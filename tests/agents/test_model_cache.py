from __future__ import annotations

import pytest

from palaestra.agents import make_agent, models
from palaestra.agents.models import (
    get_alias,
    list_models,
    palaestra_home,
    pull_model,
    resolve_model,
)
from palaestra.cli import main


def test_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PALAESTRA_HOME", str(tmp_path / "h"))
    assert palaestra_home() == tmp_path / "h"
    assert models.models_dir() == tmp_path / "h" / "models"
    monkeypatch.delenv("PALAESTRA_HOME")
    assert palaestra_home().parts[-2:] == (".cache", "palaestra")


def test_aliases_resolve_and_other_names_pass_through(monkeypatch, tmp_path):
    monkeypatch.setenv("PALAESTRA_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="palaestra models pull tiny"):
        resolve_model("tiny", pull=False)
    assert resolve_model("tiny") == str(tmp_path / "models" / "tiny")  # pulled on first use
    assert (tmp_path / "models" / "tiny" / "model.safetensors").exists()
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == (
        "HuggingFaceTB/SmolLM2-135M-Instruct"
    )
    assert resolve_model("/some/local/dir") == "/some/local/dir"
    with pytest.raises(ValueError, match=r"unknown model alias 'nope'; known aliases: \["):
        get_alias("nope")


def test_pull_reports_stages_and_list_shows_the_cache(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PALAESTRA_HOME", str(tmp_path))
    stages = []
    path = pull_model("tiny", force=True, progress=stages.append)
    assert stages == ["build tiny model"]
    assert path == tmp_path / "models" / "tiny"
    (tmp_path / "models" / "my-model").mkdir()
    (tmp_path / "models" / "my-model" / "config.json").write_text("{}")
    listed = {m.name: m for m in list_models()}
    assert listed["tiny"].cached and listed["tiny"].size_bytes > 100_000
    assert not listed["smollm2-135m"].cached
    assert listed["my-model"].cached and listed["my-model"].description == "local model"
    assert not any(name.startswith(".") for name in listed)  # no half-built temp folders
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "smollm2-135m" in out and "my-model" in out


def test_models_pull_command(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PALAESTRA_HOME", str(tmp_path))
    assert main(["models", "pull", "tiny"]) == 0
    assert "tiny saved to" in capsys.readouterr().out
    assert main(["models", "pull", "tiny"]) == 0
    assert "already cached" in capsys.readouterr().out
    assert main(["models", "pull", "nope"]) == 2
    assert "unknown model alias 'nope'" in capsys.readouterr().err


def test_smollm2_gguf_is_found_in_an_installed_wheel_or_the_downloads(monkeypatch, tmp_path):
    monkeypatch.setenv("PALAESTRA_HOME", str(tmp_path))
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    assert models.find_smollm2_gguf() is None
    (tmp_path / "downloads").mkdir()
    gguf = tmp_path / "downloads" / models.SMOLLM2_GGUF
    gguf.write_bytes(b"GGUF")
    assert models.find_smollm2_gguf() == gguf


@pytest.mark.slow
def test_default_model_plays_one_negotiation_turn():
    """Loads the real SmolLM2-135M-Instruct (pulled into the cache on first use)."""
    from palaestra.envs import make

    agent = make_agent("hf:smollm2-135m?temperature=0&max_new_tokens=48&train=true")
    assert agent.model.config.num_hidden_layers == 30  # SmolLM2-135M's depth
    env = make("negotiation-v0", wrappers=False)
    env.reset(seed=1)
    role = env.agent_selection
    action = agent.act([env.observation_for(role)])[0]
    assert action.error is None and action.text.strip()
    assert 0 < len(action.completion_ids) <= 48 and len(action.logprobs) == len(
        action.completion_ids
    )
    env.step(action.text)
    if env.agent_selection == role:  # an invalid move is retried with the reason shown
        assert "invalid" in env.observation_for(role).text.lower()
    else:
        assert action.text.strip()[:20] in env.render()


def test_one_loader_takes_device_and_dtype(palaestra_home) -> None:
    import torch

    from palaestra.agents.hf import load_model
    from palaestra.agents.models import load_pretrained

    model, tokenizer = load_pretrained("tiny", device="cpu", dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16 and not model.training
    assert tokenizer("hi")["input_ids"]
    again, _ = load_pretrained("tiny", device="cpu", dtype="bfloat16")
    assert again is not model  # each call is a fresh model (the policy trains its own)
    shared, _ = load_model("tiny", device="cpu", dtype="bfloat16")
    assert load_model("tiny", device="cpu", dtype="bfloat16")[0] is shared  # the agents' cache


def test_loader_names_a_bad_device_and_a_missing_model(palaestra_home, tmp_path) -> None:
    from palaestra.agents.models import load_pretrained

    with pytest.raises(ValueError, match="got 'tpu9'"):
        load_pretrained("tiny", device="tpu9")
    with pytest.raises(FileNotFoundError, match="cannot load model"):
        load_pretrained(str(tmp_path / "nothing-here"), device="cpu")
