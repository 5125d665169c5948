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


def test_learning_rate_schedules():
    from palaestra.arena.train.config import OptimConfig

    constant = OptimConfig(lr=1.0)
    assert [constant.lr_at(s, 5) for s in range(5)] == [1.0] * 5
    linear = OptimConfig(lr=1.0, schedule="linear", lr_end=0.2, warmup_steps=2)
    assert [linear.lr_at(s, 6) for s in range(6)] == pytest.approx([0.5, 1.0, 0.8, 0.6, 0.4, 0.2])
    assert linear.lr_at(10, 6) == pytest.approx(0.2)  # past the horizon (resumed longer): the floor
    cosine = OptimConfig(lr=1.0, schedule="cosine", lr_end=0.0)
    assert [cosine.lr_at(s, 3) for s in range(3)] == pytest.approx([1.0, 0.5, 0.0])
    assert OptimConfig(lr=1.0, schedule="linear", lr_end=0.0).lr_at(0, 1) == 1.0  # one step: lr
    with pytest.raises(ValueError, match="schedule"):
        OptimConfig(lr=1.0, schedule="step")
