"""Supervised warm start: demos from a teacher, behaviour cloning, and the new reference."""

from __future__ import annotations

import json

import pytest
import torch

from palaestra.arena.records import EpisodeRecord, Turn
from palaestra.arena.train.config import ConfigError, parse_config
from palaestra.arena.train.trainer import WARM_START_FILE, Trainer
from palaestra.arena.train.warmstart import Demo, kept_demos


def _config(tiny: str, run_dir, **overrides):
    data = {
        "run_dir": str(run_dir),
        "steps": 2,
        "episodes_per_step": 4,
        "group_size": 2,
        "policy": {"spec": f"hf:{tiny}?temperature=1.0&max_new_tokens=6"},
        "optim": {"minibatch_size": 4, "lr": 5e-3},
        "stages": [
            {
                "games": [
                    {"env": "negotiation-v0", "kwargs": {"max_turns": 3}, "roles": ["alice"]}
                ],
                "opponents": ["scripted:negotiation/accept"],
            }
        ],
        "eval": {"every": 2, "episodes": 2, "opponents": ["scripted:negotiation/accept"]},
        "checkpoint": {"every": 1},
        "warm_start": {
            "teacher": "scripted:negotiation/fair",
            "episodes": 6,
            "epochs": 3,
            "lr": 2e-2,
            "minibatch_size": 4,
        },
        **overrides,
    }
    return parse_config(data)


def _record(episode: str, returns: dict[str, float], turns: list[tuple[str, int, bool]]):
    return EpisodeRecord(
        episode_id=episode,
        env_id="negotiation-v0",
        env_kwargs={},
        seed=0,
        seating={"alice": "teacher", "bob": "other"},
        returns=returns,
        turns=[Turn(role=r, agent="x", turn=t, prompt="", text="", valid=v) for r, t, v in turns],
    )


def test_kept_demos_drop_invalid_replies_unfinished_episodes_and_low_returns():
    demos = [
        Demo("e1", "alice", 0, [1], [2]),  # valid, episode returned 5
        Demo("e1", "alice", 2, [1], [3]),  # rejected, then retried at the same game turn
        Demo("e1", "alice", 2, [1], [6]),  # the retry: valid
        Demo("e2", "alice", 0, [1], [4]),  # valid, episode returned 0
        Demo("e3", "alice", 0, [1], [5]),  # no record: the episode never finished
    ]
    e1_turns = [("alice", 0, True), ("bob", 1, True), ("alice", 2, False), ("alice", 2, True)]
    records = [
        _record("e1", {"alice": 5.0, "bob": 5.0}, e1_turns),
        _record("e2", {"alice": 0.0, "bob": 0.0}, [("alice", 0, True)]),
    ]
    assert [d.completion_ids for d in kept_demos(demos, records, None)] == [[2], [6], [4]]
    assert [d.completion_ids for d in kept_demos(demos, records, 1.0)] == [[2], [6]]
    # replies that do not line up with the record's turns are not trusted
    assert kept_demos(demos[:2], records[:1], None) == []


def test_warm_start_config_is_validated():
    base = {"stages": [{"games": [{"env": "quiz-v0"}]}]}
    with pytest.raises(ConfigError, match=r"warm_start\.teacher"):
        parse_config({**base, "warm_start": {"episodes": 4}})
    with pytest.raises(ConfigError, match=r"warm_start\.episodes"):
        parse_config({**base, "warm_start": {"teacher": "random", "episodes": 0}})
    assert parse_config(base).warm_start is None


def test_warm_start_imitates_the_teacher_and_becomes_the_reference(tiny, tmp_path):
    trainer = Trainer(_config(tiny, tmp_path / "run"))
    base = {k: v.clone() for k, v in trainer.policy.model.get_base_model().state_dict().items()}
    row = trainer.warm_start()
    # every demo is a valid teacher reply; the teacher's replies grew more likely
    assert row["warm_start/episodes"] == 6
    assert 0 < row["warm_start/demos"] <= row["warm_start/replies"]
    assert row["warm_start/nll_after"] < row["warm_start/nll_before"] - 0.5
    assert "base/eval/reward" in row  # the policy before the warm start was evaluated
    # the warm-started weights are merged into the base: the reference (adapters disabled)
    # now differs from the original model, and the fresh adapter starts as a no-op
    merged = trainer.policy.model.get_base_model().state_dict()
    changed = [k for k, v in base.items() if "lora" not in k and not torch.equal(v, merged[k])]
    assert changed
    assert all(p.requires_grad for p in trainer.policy.parameters())
    assert set(trainer.optimizer.param_groups[0]["params"]) == set(trainer.policy.parameters())
    probe = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        now = trainer.policy.model(input_ids=probe).logits
        with trainer.policy.reference():
            ref = trainer.policy.model(input_ids=probe).logits
    torch.testing.assert_close(now, ref)
    assert (tmp_path / "run" / WARM_START_FILE).exists()
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[0]["warm_start/demos"] == row["warm_start/demos"]


def test_a_warm_started_run_resumes_exactly(tiny, tmp_path):
    full = Trainer(_config(tiny, tmp_path / "full"))
    full.run()
    resumed_dir = tmp_path / "resumed"
    first = Trainer(_config(tiny, resumed_dir))
    first.run(steps=1)
    again = Trainer(_config(tiny, resumed_dir), resume=True)
    again.run()
    a = full.policy.trainable_state()
    b = again.policy.trainable_state()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    # and the base weights the warm start merged are the same too
    fa = full.policy.model.get_base_model().state_dict()
    fb = again.policy.model.get_base_model().state_dict()
    for k in fa:
        torch.testing.assert_close(fa[k], fb[k])


def test_a_loaded_warm_start_starts_where_the_earlier_run_did(tiny, tmp_path):
    first = Trainer(_config(tiny, tmp_path / "first", eval={"every": 0}))
    first.warm_start()
    ws = {"load": str(tmp_path / "first" / WARM_START_FILE)}
    second = Trainer(_config(tiny, tmp_path / "second", warm_start=ws, eval={"every": 0}))
    row = second.warm_start()
    assert "warm_start/demos" not in row  # no teacher episodes were played
    assert not any(name.startswith("teacher:") for name in second.runner.batch_sizes)
    # the merged weights (the reference and the initial opponent) are the first run's
    fa = first.policy.model.get_base_model().state_dict()
    fb = second.policy.model.get_base_model().state_dict()
    original = Trainer(_config(tiny, tmp_path / "none", warm_start=None, eval={"every": 0}))
    fo = original.policy.model.get_base_model().state_dict()
    assert any(not torch.equal(fa[k], fo[k]) for k in fa if "lora" not in k)
    for k in fa:
        torch.testing.assert_close(fa[k], fb[k])
    # the file is kept in the run folder, so the loaded run resumes like any other
    assert (tmp_path / "second" / WARM_START_FILE).exists()
    second.run(steps=1)
    again = Trainer(
        _config(tiny, tmp_path / "second", warm_start=ws, eval={"every": 0}), resume=True
    )
    for k, v in second.policy.trainable_state().items():
        torch.testing.assert_close(v, again.policy.trainable_state()[k])


def test_a_warm_start_file_that_does_not_fit_is_refused(tiny, tmp_path):
    def trainer(path):
        cfg = _config(tiny, tmp_path / "run", warm_start={"load": str(path)}, eval={"every": 0})
        return Trainer(cfg)

    with pytest.raises(FileNotFoundError, match=r"no file .*missing\.pt"):
        trainer(tmp_path / "missing.pt").warm_start()
    alien = tmp_path / "alien.pt"
    torch.save({"layer.weight": torch.zeros(2)}, alien)
    with pytest.raises(ValueError, match=r"alien\.pt.*does not fit this policy"):
        trainer(alien).warm_start()
    t = trainer(alien)
    wrong = {
        k: torch.zeros(v.shape[0] + 1, *v.shape[1:]) for k, v in t.policy.trainable_state().items()
    }
    torch.save(wrong, alien)
    with pytest.raises(ValueError, match=r"alien\.pt.*with shape"):
        t.warm_start()
    with pytest.raises(ConfigError, match=r"warm_start\.load"):
        parse_config({"stages": [{"games": [{"env": "quiz-v0"}]}], "warm_start": {"epochs": 2}})


def test_several_teachers_take_the_episodes_in_turn(tiny, tmp_path):
    teachers = ["scripted:negotiation/fair", "scripted:negotiation/accept"]
    ws = {"teacher": teachers, "episodes": 4, "epochs": 1, "minibatch_size": 4}
    trainer = Trainer(_config(tiny, tmp_path / "run", warm_start=ws, eval={"every": 0}))
    row = trainer.warm_start()
    assert row["warm_start/episodes"] == 4
    called = {name for name in trainer.runner.batch_sizes if name.startswith("teacher:")}
    assert called == {f"teacher:{t}" for t in teachers}
    assert "base/eval/reward" not in row  # evaluation off: no base evaluation either


@pytest.mark.parametrize("betas", [None, (0.5, 0.99)])
def test_the_warm_start_steps_with_its_own_betas(tiny, tmp_path, monkeypatch, betas):
    """Cut: ``self._optimizer(ws.lr or ..., ws.betas)`` -> without ``ws.betas``."""
    import palaestra.arena.train.trainer as trainer_module

    ws = {"teacher": "scripted:negotiation/fair", "episodes": 2, "epochs": 1, "betas": betas}
    config = _config(tiny, tmp_path / "run", warm_start=ws, eval={"every": 0},
                     optim={"minibatch_size": 4, "lr": 5e-3, "betas": (0.0, 0.999)})  # fmt: skip
    seen = []
    real_fit = trainer_module.fit

    def fit(model, logprobs, samples, optimizer, **kwargs):
        seen.append(tuple(optimizer.param_groups[0]["betas"]))
        return real_fit(model, logprobs, samples, optimizer, **kwargs)

    monkeypatch.setattr(trainer_module, "fit", fit)
    trainer = Trainer(config)
    trainer.warm_start()
    assert seen == [betas or (0.0, 0.999)]
    # The self-play steps after it use optim.betas.
    assert tuple(trainer.optimizer.param_groups[0]["betas"]) == (0.0, 0.999)
