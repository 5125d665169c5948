from __future__ import annotations

import pytest

from palaestra.arena.train.config import ConfigError, TrainConfig, load_config, parse_config

MINIMAL = {"stages": [{"games": [{"env": "negotiation-v0"}]}]}


def test_defaults_and_docstrings():
    config = parse_config(MINIMAL)
    assert config.policy.finetune == "lora" and config.loss.kl_coef == 0.02
    # every field is documented (the docs' reference is built from these)
    for name, field in TrainConfig.model_fields.items():
        assert field.description, name


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"loss": {"clip_low": -0.1}}, "loss.clip_low"),
        ({"loss": {"normalisation": "batch"}}, "loss.normalisation"),
        ({"advantage": {"baselin": "group"}}, "advantage.baselin"),
        ({"stages": [{"games": [{"env": "x", "weight": 0}]}]}, "stages.0.games.0.weight"),
        ({"stages": []}, "stages"),
    ],
)
def test_errors_name_the_bad_key(patch, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config({**MINIMAL, **patch})


def test_cross_field_checks():
    with pytest.raises(ConfigError, match="multiple of group_size"):
        parse_config({**MINIMAL, "episodes_per_step": 6, "group_size": 4})
    with pytest.raises(ConfigError, match="hf:"):
        parse_config({**MINIMAL, "policy": {"spec": "random"}})


def test_load_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: 3\nstages:\n  - games: [{env: negotiation-v0}]\n")
    assert load_config(path).steps == 3
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.yaml")
