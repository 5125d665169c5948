"""A few steps of real training with the tiny local model (no hub, a few seconds)."""

from __future__ import annotations

import json

import pytest
import torch

from palaestra.arena.train.config import parse_config
from palaestra.arena.train.samples import Sample
from palaestra.arena.train.trainer import Trainer


def _config(tiny: str, run_dir, **overrides):
    data = {
        "run_dir": str(run_dir),
        "steps": 3,
        "episodes_per_step": 4,
        "group_size": 2,
        "policy": {"spec": f"hf:{tiny}?temperature=1.0&max_new_tokens=6"},
        "optim": {"epochs": 2, "minibatch_size": 4, "lr": 5e-3},
        "stages": [
            {
                "games": [
                    {"env": "negotiation-v0", "kwargs": {"max_turns": 4}, "roles": ["alice"]}
                ],
                "opponents": ["scripted:negotiation/fair", "self", "snapshots"],
            }
        ],
        "league": {"snapshot_every": 1, "max_snapshots": 2},
        "replay": {"capacity": 32, "samples_per_step": 2},
        "rewards": {"length_penalty": 0.05, "length_free_tokens": 3, "invalid_move_penalty": -1},
        "eval": {"every": 3, "episodes": 2, "opponents": ["initial"]},
        "checkpoint": {"every": 2},
        "log_episodes": True,
        **overrides,
    }
    return parse_config(data)


def _toy_batch(trainer: Trainer) -> list[Sample]:
    """Two prompts; on each, completion A is good (+1) and completion B bad (-1)."""
    tok = trainer.policy.tokenizer
    batch = []
    for prompt in ("Your move:", "Make an offer:"):
        p = tok(prompt)["input_ids"]
        for text, adv in (("OFFER: book=1", 1.0), ("NO DEAL", -1.0)):
            c = tok(text)["input_ids"]
            batch.append(Sample(p, c, [0.0] * len(c), "toy", "a", prompt, "g", adv, adv, adv,
                                advantage=adv))  # fmt: skip
    with torch.no_grad():
        logp, _, _ = trainer.policy.logprobs(batch)
    for row, s in enumerate(batch):
        s.logprobs = logp[row, -len(s.completion_ids) :].tolist()
    return batch


def test_update_lowers_the_loss_on_a_toy_objective(tiny, tmp_path):
    config = _config(
        tiny, tmp_path, loss={"kl_coef": 0.0, "normalisation": "sequence"}, optim={"lr": 2e-2}
    )
    trainer = Trainer(config)
    batch = _toy_batch(trainer)
    before = {k: v.clone() for k, v in trainer.policy.trainable_state().items()}
    losses = [trainer.update(batch)["loss"] for _ in range(4)]
    # sampling log-probs stay fixed: the surrogate falls as good completions gain probability
    assert losses[0] == pytest.approx(0.0, abs=1e-5)  # ratio 1, advantages sum to 0
    assert losses[-1] < losses[0] - 0.05
    with torch.no_grad():
        logp, _, mask = trainer.policy.logprobs(batch)
    seq = (logp * mask).sum(-1)
    old = torch.tensor([sum(s.logprobs) for s in batch])
    assert seq[0] > old[0] and seq[2] > old[2]  # good completions more likely
    assert seq[1] < old[1] and seq[3] < old[3]  # bad ones less likely
    after = trainer.policy.trainable_state()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def _strip(rows):
    return [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]


def test_few_steps_checkpoint_and_exact_resume(tiny, tmp_path):
    straight = Trainer(_config(tiny, tmp_path / "a"))
    initial = {k: v.clone() for k, v in straight.policy.trainable_state().items()}
    rows_a = straight.run()
    assert [r["step"] for r in rows_a] == [1, 2, 3]
    final = straight.policy.trainable_state()
    assert any(not torch.equal(initial[k], final[k]) for k in initial), "weights did not change"
    for key in ("train/kl", "train/entropy", "train/length", "train/invalid_rate",
                "train/clip_fraction", "train/reward"):  # fmt: skip
        assert key in rows_a[0]
    assert all(0.0 <= r["train/flat_groups"] <= 1.0 for r in rows_a)
    assert "eval/negotiation-v0/initial/reward_low" in rows_a[2]
    run_a = tmp_path / "a"
    assert (run_a / "learning_curves.png").stat().st_size > 0
    assert (run_a / "report.html").exists()
    assert sorted(p.name for p in (run_a / "checkpoints").iterdir()) == [
        "step-000002", "step-000003"
    ]  # fmt: skip

    # the same run, killed after step 2 and resumed from its checkpoint
    first = Trainer(_config(tiny, tmp_path / "b"))
    first.run(steps=2)
    with (tmp_path / "b" / "metrics.jsonl").open("a") as f:  # a step the kill interrupted
        f.write(json.dumps({"step": 3, "stage": "main", "partial": True}) + "\n")
    with (tmp_path / "b" / "episodes.jsonl").open("a") as f:
        f.write(json.dumps({"meta": {"step": 2}, "partial": True}) + "\n")
    del first
    resumed = Trainer(_config(tiny, tmp_path / "b"), resume=True)
    assert resumed.step == 2
    assert len(resumed.league.snapshots) == 2 and len(resumed.replay) > 0
    rows_b = resumed.run()
    assert _strip(rows_b) == _strip(rows_a[2:])
    logged = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged] == [0, 1, 2, 3]
    episodes = (tmp_path / "b" / "episodes.jsonl").read_text().splitlines()
    assert [json.loads(x)["meta"]["step"] for x in episodes] == [0] * 4 + [1] * 4 + [2] * 4
    resumed_final = resumed.policy.trainable_state()
    assert all(torch.equal(final[k], resumed_final[k]) for k in final)


def test_resume_without_checkpoint_fails(tiny, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Trainer(_config(tiny, tmp_path), resume=True)


def test_full_finetune_keeps_a_frozen_reference(tiny, tmp_path):
    config = _config(tiny, tmp_path, policy={"spec": f"hf:{tiny}", "finetune": "full"},
                     optim={"lr": 1e-2})  # fmt: skip
    trainer = Trainer(config)
    batch = _toy_batch(trainer)
    first = trainer.update(batch)
    assert first["kl"] == pytest.approx(0.0, abs=1e-6)  # the reference is the initial model
    second = trainer.update(batch)
    assert second["kl"] > 0
    with torch.no_grad():
        ref, _, _ = trainer.policy.logprobs(batch, reference=True)
    old = torch.tensor(batch[0].logprobs)
    assert torch.allclose(ref[0, -len(batch[0].logprobs) :], old, atol=1e-5)


def test_cli_train_reports_a_bad_config(tmp_path, capsys):
    from palaestra.cli import main

    path = tmp_path / "bad.yaml"
    path.write_text("steps: 0\nstages: [{games: [{env: negotiation-v0}]}]\n")
    assert main(["train", str(path)]) == 2
    assert "steps: Input should be greater than or equal to 1" in capsys.readouterr().err


def test_trainer_forward_reproduces_the_sampling_logprobs(tiny, tmp_path):
    from palaestra.arena.train.samples import build_samples

    config = _config(tiny, tmp_path, policy={"spec": f"hf:{tiny}?temperature=0.7"})
    trainer = Trainer(config)
    records = list(trainer.runner.run(trainer.rollout_jobs()))
    samples = build_samples(records, {"policy"}, config)
    assert len({s.episode for s in samples}) == 4 and max(s.tokens for s in samples) > 1
    with torch.no_grad():
        logp, _, _ = trainer.policy.logprobs(samples)
    for row, s in enumerate(samples):  # so the importance ratio starts at 1
        got = logp[row, -len(s.logprobs) :]
        assert torch.allclose(got, torch.tensor(s.logprobs), atol=1e-4)


def test_repeated_samples_are_computed_once_with_the_same_values_and_gradients(tiny, tmp_path):
    from dataclasses import replace

    from palaestra.arena.train.samples import build_samples

    trainer = Trainer(_config(tiny, tmp_path))
    records = list(trainer.runner.run(trainer.rollout_jobs()))
    base = build_samples(records, {"policy"}, trainer.config)[:3]
    samples = [base[0], base[1], replace(base[0], advantage=-2.0), base[2], base[1]]
    policy = trainer.policy
    calls = []
    real = policy.row_logprobs
    policy.row_logprobs = lambda rows, *a: calls.append(len(rows)) or real(rows, *a)

    def loss_and_grads(fn):
        trainer.optimizer.zero_grad(set_to_none=True)
        logp, ent, mask = fn(samples, False, True, False)
        weights = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])[:, None]
        (weights * (logp + 0.1 * ent) * mask).sum().backward()
        grads = [p.grad.clone() for p in policy.parameters() if p.grad is not None]
        return logp.detach(), grads

    merged, merged_grads = loss_and_grads(policy.logprobs)
    assert calls == [3]  # five samples, three distinct (prompt, completion) pairs
    plain, plain_grads = loss_and_grads(real)
    assert torch.allclose(merged, plain, atol=1e-5)
    assert merged_grads and len(merged_grads) == len(plain_grads)
    for a, b in zip(merged_grads, plain_grads):
        # fp32 sums over different batch shapes: a gradient entry with cancellation differs
        # by more than its own size allows, so the tolerance is scaled to the tensor's
        # (a weight lost or doubled in the merge moves whole rows by their full size)
        torch.testing.assert_close(a, b, atol=1e-4 * float(b.abs().max()), rtol=1e-3)
