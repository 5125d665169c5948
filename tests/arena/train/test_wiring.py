"""Loop-level tests: each switch of the trainer, observed through :class:`Trainer` steps.

Every test here runs real steps on the tiny model against scripted opponents and looks at
what the loop produced — the samples that reach the update, the arguments of the loss, the
optimiser's gradients, the league's records, the agents seated in the episode records, the
seeds played, the logged metrics — so that cutting the line that connects a feature in
``trainer.py`` makes its test fail (each was checked that way: see the docstrings).

The tiny model writes a few random tokens per reply: in ``negotiation-v0`` that is talk (no
deal, reward 0), and under ``protocol: alternating_offers`` an invalid move. Where a test
needs rewards that differ between episodes, a format penalty on replies without one of the
letters ``a``, ``e``, ``o`` supplies them.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
import torch

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.runner import MatchRunner
from palaestra.arena.stats import outcome
from palaestra.arena.train.config import parse_config
from palaestra.arena.train.samples import Sample
from palaestra.arena.train.selfreward import extract_answer
from palaestra.arena.train.trainer import Trainer

FAIR = "scripted:negotiation/fair"
HARD = "scripted:negotiation/hard"
NEGOTIATION = {"env": "negotiation-v0", "kwargs": {"max_turns": 2}, "roles": ["alice"]}
RANDOM_PENALTY = {"format_penalty": -1.0, "format_pattern": "[aeo]"}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _config(tiny: str, tmp_path, **overrides: Any):
    data = {
        "run_dir": str(tmp_path / "run"),
        "steps": 10,
        "episodes_per_step": 4,
        "group_size": 2,
        "policy": {"spec": f"hf:{tiny}?temperature=1.0&max_new_tokens=4"},
        "optim": {"lr": 1e-2, "minibatch_size": 8},
        "loss": {"kl_coef": 0.0},
        "stages": [{"games": [NEGOTIATION], "opponents": [FAIR]}],
        "eval": {"every": 0},
        "checkpoint": {"every": 1000},
    }
    return parse_config(_merge(data, overrides))


class RecordingRunner(MatchRunner):
    """The arena's match runner, keeping every record it yields (training and evaluation)."""

    def __init__(self) -> None:
        super().__init__(concurrency=8)
        self.records: list[EpisodeRecord] = []

    def run(self, jobs):  # type: ignore[override]
        for record in super().run(jobs):
            self.records.append(record)
            yield record

    def training(self, step: int | None = None) -> list[EpisodeRecord]:
        """Training episodes (of the step counted from 1, or all of them)."""
        prefix = "train/" if step is None else f"train/{step - 1}/"
        return [r for r in self.records if r.episode_id.startswith(prefix)]


def _trainer(config, monkeypatch=None) -> tuple[Trainer, RecordingRunner, list[list[Sample]]]:
    """A trainer with a recording runner and a spy on :meth:`Trainer.update` (the batches)."""
    runner = RecordingRunner()
    trainer = Trainer(config, runner=runner)
    batches: list[list[Sample]] = []
    real = trainer.update

    def update(batch):
        batches.append([copy.deepcopy(s) for s in batch])
        return real(batch)

    trainer.update = update  # type: ignore[method-assign]
    return trainer, runner, batches


def _steps(trainer: Trainer, n: int) -> list[dict[str, Any]]:
    return [trainer.train_step() for _ in range(n)]


def _weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.policy.trainable_state().items()}


def _changed(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> bool:
    return any(not torch.equal(before[k], after[k]) for k in before)


# -- advantages -------------------------------------------------------------------------------
def test_role_baseline_carries_over_from_step_to_step(tiny, tmp_path):
    """Cut: ``assign_advantages(samples, cfg, RoleBaseline(cfg.advantage.role_decay))``."""
    config = _config(
        tiny,
        tmp_path,
        advantage={"baseline": "role", "role_decay": 0.8},
        rewards=RANDOM_PENALTY,
        replay={"drop_zero_advantage": False},
    )
    trainer, _, batches = _trainer(config)
    _steps(trainer, 2)
    decay, b = 0.8, 0.0
    seen: set[str] = set()
    for batch in batches:  # one sample per episode: alice moves once
        for s in batch:
            assert s.episode not in seen
            seen.add(s.episode)
            b = decay * b + (1 - decay) * s.value
        if len(seen) == 4:
            assert b != 0.0, "the first step's returns must move the baseline for this test"
    for s in batches[1]:
        assert s.advantage == pytest.approx(s.credit - b, abs=1e-9)


# -- sample selection -------------------------------------------------------------------------
def test_replayed_samples_reach_the_update(tiny, tmp_path):
    """Cut: the ``batch.append(...)`` of replayed samples in ``train_step``."""
    config = _config(
        tiny,
        tmp_path,
        rewards=RANDOM_PENALTY,
        episodes_per_step=8,
        replay={"capacity": 64, "samples_per_step": 3},
    )
    trainer, _, batches = _trainer(config)
    rows = _steps(trainer, 2)
    assert rows[0]["train/kept"] > 0, "step 1 must leave samples to replay"
    old = [s for s in batches[1] if s.episode.startswith("train/0/")]
    fresh = [s for s in batches[1] if s.episode.startswith("train/1/")]
    assert len(old) == 3 and rows[1]["train/replayed"] == 3
    assert len(fresh) == rows[1]["train/kept"]
    first = {(s.episode, tuple(s.completion_ids)) for s in batches[0]}
    assert all((s.episode, tuple(s.completion_ids)) in first for s in old)


def test_zero_advantage_samples_never_reach_the_update(tiny, tmp_path):
    """Cut: ``if cfg.replay.drop_zero_advantage:`` -> ``if False:``."""
    config = _config(tiny, tmp_path, rewards=RANDOM_PENALTY, episodes_per_step=8)
    trainer, _, batches = _trainer(config)
    rows = _steps(trainer, 2)
    # a flat group (both episodes returned the same) has zero advantages: nothing to learn
    assert any(r["train/flat_groups"] > 0 for r in rows), "no flat group: nothing to drop"
    assert sum(len(b) for b in batches) > 0  # the other groups' samples do reach the update
    for row, batch in zip(rows, batches):
        assert all(abs(s.advantage) > 1e-8 for s in batch)
        assert len(batch) == row["train/kept"]
        if row["train/flat_groups"] > 0:
            assert len(batch) < row["train/samples"]


def test_replay_importance_weights_reach_the_loss(tiny, tmp_path, monkeypatch):
    """Cut: ``weights=torch.tensor([s.weight for s in chunk])`` -> ``weights=None`` (or the
    replayed copy's ``"weight": float(w)`` -> ``1.0``)."""
    import palaestra.arena.train.trainer as trainer_module

    seen: list[torch.Tensor | None] = []
    real = trainer_module.policy_loss

    def spy(*args, **kwargs):
        w = kwargs.get("weights")
        seen.append(None if w is None else w.clone())
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "policy_loss", spy)
    game = {**NEGOTIATION, "kwargs": {"max_turns": 4}}  # two alice turns: varied advantages
    config = _config(
        tiny,
        tmp_path,
        rewards=RANDOM_PENALTY,
        episodes_per_step=8,
        group_size=4,
        stages=[{"games": [game], "opponents": [FAIR]}],
        replay={"capacity": 64, "samples_per_step": 4, "alpha": 1.0, "beta": 1.0},
    )
    trainer, _, _ = _trainer(config)
    rows = _steps(trainer, 2)
    assert rows[1]["train/replayed"] == 4
    assert len(set(trainer.replay.priorities)) > 1, "priorities all equal: weights all 1"
    assert seen and all(w is not None for w in seen), "the loss got no importance weights"
    weights = torch.cat([w for w in seen if w is not None])
    assert weights.numel() == rows[0]["train/kept"] + rows[1]["train/kept"] + 4
    below = weights[weights < 1 - 1e-6]
    assert 0 < below.numel() <= 4 and bool((below > 0).all())  # only replayed samples


# -- opponents --------------------------------------------------------------------------------
def test_pfsp_draws_the_opponent_the_policy_still_loses_to(tiny, tmp_path):
    """Cut: ``opponent = self.league.sample(pool, self.rng)`` -> ``opponent = pool[0]``."""
    config = _config(
        tiny,
        tmp_path,
        episodes_per_step=8,
        stages=[{"games": [NEGOTIATION], "opponents": [FAIR, HARD]}],
        league={"pfsp_power": 4.0},
    )
    trainer, runner, _ = _trainer(config)
    for _ in range(50):  # the policy has beaten fair every time so far: weight (1 - x)^4 ~ 0
        trainer.league.record(FAIR, 1.0)
    _steps(trainer, 2)
    played = Counter(r.seating["bob"] for r in runner.training())
    assert played == {HARD: 16}


def test_snapshots_are_played_as_opponents(tiny, tmp_path):
    """Cut: the ``self.add_snapshot()`` call in ``train_step``."""
    config = _config(
        tiny,
        tmp_path,
        stages=[{"games": [NEGOTIATION], "opponents": ["snapshots"]}],
        league={"snapshot_every": 1},
    )
    trainer, runner, _ = _trainer(config)
    _steps(trainer, 3)
    # no snapshot before step 1 ends: self-play; then the league's snapshots sit in bob's seat
    assert {r.seating["bob"] for r in runner.training(1)} == {"policy"}
    assert {r.seating["bob"] for r in runner.training(2)} == {"snapshot:1"}
    assert {r.seating["bob"] for r in runner.training(3)} <= {"snapshot:1", "snapshot:2"}
    assert trainer.league.snapshots == ["snapshot:1", "snapshot:2", "snapshot:3"]


def test_snapshots_per_step_bounds_the_snapshots_of_a_step(tiny, tmp_path):
    """Cut: ``self.step_pool(...)`` in ``rollout_jobs`` (every snapshot is then drawn in a
    step, as the control run without the limit shows)."""

    def snapshots_per_step(limit: int) -> list[set[str]]:
        config = _config(
            tiny,
            tmp_path / str(limit),
            episodes_per_step=16,
            group_size=1,
            stages=[{"games": [NEGOTIATION], "opponents": ["snapshots"]}],
            league={"snapshot_every": 1, "snapshots_per_step": limit, "sampling": "uniform"},
        )
        trainer, runner, _ = _trainer(config)
        _steps(trainer, 8)
        return [{r.seating["bob"] for r in runner.training(step)} for step in range(4, 9)]

    limited, unlimited = snapshots_per_step(1), snapshots_per_step(0)
    assert all(len(played) == 1 for played in limited)  # 3 or 4 snapshots in the league
    assert len(set().union(*limited)) > 1  # a new draw every step
    assert all(len(played) > 1 for played in unlimited)


def test_league_records_every_training_result(tiny, tmp_path):
    """Cut: the ``self._league_results(records)`` call in ``train_step``."""
    protocol = {**NEGOTIATION, "kwargs": {"max_turns": 2, "protocol": "alternating_offers"}}
    config = _config(
        tiny,
        tmp_path,
        episodes_per_step=8,
        stages=[{"games": [NEGOTIATION, protocol], "opponents": [FAIR, HARD]}],
        league={"sampling": "uniform"},
    )
    trainer, runner, _ = _trainer(config)
    rows = _steps(trainer, 2)
    games: Counter[str] = Counter()
    score: Counter[str] = Counter()
    for record in runner.training():  # judged independently, by the arena's outcome
        games[record.seating["bob"]] += 1
        score[record.seating["bob"]] += outcome(record).scores["alice"]
    assert set(games) == {FAIR, HARD}
    assert 0 < sum(score.values()) < sum(games.values())  # draws (talk) and losses (forfeits)
    assert {k: (r.games, r.score) for k, r in trainer.league.records.items()} == {
        k: (games[k], score[k]) for k in games
    }
    assert rows[1][f"league/{HARD}/win_rate"] == pytest.approx(trainer.league.win_rate(HARD))


# -- guards, curriculum, self-reward ----------------------------------------------------------
def test_guards_check_every_step(tiny, tmp_path):
    """Cut: ``metrics["warnings"] = self.guards.check(metrics)`` -> ``= []``."""
    protocol = {**NEGOTIATION, "kwargs": {"max_turns": 2, "protocol": "alternating_offers"}}
    config = _config(
        tiny,
        tmp_path,
        stages=[{"games": [protocol], "opponents": [FAIR]}],
        loss={"kl_coef": 0.1},
        optim={"epochs": 2},
        advantage={"baseline": "none"},
        replay={"drop_zero_advantage": False},
        guards={"window": 2, "max_kl": 1e-9, "max_invalid_rate": 0.5},
    )
    trainer, _, _ = _trainer(config)
    rows = _steps(trainer, 2)
    assert rows[0]["warnings"] == []  # not a full window yet
    assert rows[1]["train/invalid_rate"] == 1.0 and rows[1]["train/kl"] > 0
    text = " | ".join(rows[1]["warnings"])
    assert "KL to the reference" in text and "100% of the policy's replies were invalid" in text
    logged = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert "KL to the reference" in logged


def test_invalid_rate_rise_is_caught_across_a_curriculum(tiny, tmp_path):
    """The invalid-move guard on a real rise: talk is valid in stage 1, not in stage 2.

    Cut: as for :func:`test_guards_check_every_step` (the guards are never called)."""
    protocol = {**NEGOTIATION, "kwargs": {"max_turns": 2, "protocol": "alternating_offers"}}
    config = _config(
        tiny,
        tmp_path,
        stages=[
            {
                "name": "free",
                "games": [NEGOTIATION],
                "opponents": [FAIR],
                "advance": {"max_steps": 2},
            },
            {"name": "strict", "games": [protocol], "opponents": [FAIR]},
        ],
        guards={"window": 2, "max_invalid_rate": None, "max_invalid_rise": 0.4},
    )
    trainer, _, _ = _trainer(config)
    rows = _steps(trainer, 3)
    assert [r["train/invalid_rate"] for r in rows] == [0.0, 0.0, 1.0]
    assert not any("invalid" in w for r in rows[:2] for w in r["warnings"])
    assert any(
        "invalid-move rate rose from 0% (first 2 steps) to 50%" in w for w in rows[2]["warnings"]
    )


def test_curriculum_advances_to_the_next_stage(tiny, tmp_path):
    """Cut: ``advanced = self.curriculum.observe(metrics)`` -> ``advanced = False``."""
    quiz = {"env": "quiz-v0", "kwargs": {"questions": 1}}
    config = _config(
        tiny,
        tmp_path,
        stages=[
            {
                "name": "talk",
                "games": [NEGOTIATION],
                "opponents": [FAIR],
                "advance": {"max_steps": 1},
            },
            {"name": "quiz", "games": [quiz]},
        ],
    )
    trainer, runner, _ = _trainer(config)
    rows = _steps(trainer, 2)
    assert {r.env_id for r in runner.training(1)} == {"negotiation-v0"}
    assert {r.env_id for r in runner.training(2)} == {"quiz-v0"}
    assert rows[0]["advanced_to"] == "quiz" and rows[1]["stage"] == "quiz"


def test_self_reward_replaces_the_game_reward_by_the_majority_vote(tiny, tmp_path):
    """Cut: ``self_reward_games = {...}`` -> ``self_reward_games = set()``."""
    quiz = {
        "env": "quiz-v0",
        "kwargs": {"questions": 1, "labels_hidden": True},
        "self_reward": True,
    }
    pattern = r"(\w)"  # the first letter or digit: answers collide, so majorities form
    config = _config(
        tiny,
        tmp_path,
        stages=[{"games": [quiz]}],
        episodes_per_step=8,
        group_size=4,
        advantage={"baseline": "none"},
        replay={"drop_zero_advantage": False},
        self_reward={"answer_pattern": pattern, "agree": 1.0, "disagree": 0.25, "min_votes": 1},
    )
    trainer, runner, batches = _trainer(config)
    _steps(trainer, 2)
    texts = {r.episode_id: r.turns[0].text for r in runner.training()}
    assert all(r.returns["contestant"] == 0.0 for r in runner.training())  # labels hidden
    groups: dict[str, list[Sample]] = {}
    for s in batches[0] + batches[1]:
        groups.setdefault(s.group, []).append(s)
    assert len(groups) == 4
    for members in groups.values():
        answers = [extract_answer(texts[s.episode], pattern) for s in members]
        counts = Counter(a for a in answers if a is not None)
        assert {s.reward for s in members} <= {1.0, 0.25}
        agreeing = {a for s, a in zip(members, answers) if s.reward == 1.0}
        assert len(agreeing) == 1 and counts[agreeing.pop()] == max(counts.values())


# -- the update -------------------------------------------------------------------------------
def _entropy_on(trainer: Trainer, batch: list[Sample]) -> float:
    with torch.no_grad():
        _, ent, mask = trainer.policy.logprobs(batch, entropy=True)
    assert ent is not None
    return float((ent * mask).sum() / mask.sum())


def test_entropy_bonus_raises_the_entropy(tiny, tmp_path):
    """Zero advantages (no deal, no shaping, no baseline): the entropy bonus is the only
    gradient. Cut: ``entropy_coef=cfg.loss.entropy_coef`` -> ``entropy_coef=0.0``."""
    config = _config(
        tiny,
        tmp_path,
        loss={"entropy_coef": 1.0},
        optim={"epochs": 3},
        advantage={"baseline": "none"},
        replay={"drop_zero_advantage": False},
    )
    trainer, _, batches = _trainer(config)
    before = _weights(trainer)
    (row,) = _steps(trainer, 1)
    batch = batches[0]
    assert batch and all(s.advantage == 0.0 for s in batch)
    assert _changed(before, _weights(trainer))
    assert _entropy_on(trainer, batch) > row["train/entropy"] + 1e-3


def test_gradient_norm_is_clipped_before_the_optimiser_step(tiny, tmp_path):
    """Cut: ``clip_grad_norm_(params, cfg.optim.max_grad_norm)`` -> ``(params, math.inf)``."""
    config = _config(
        tiny,
        tmp_path,
        loss={"entropy_coef": 1.0},
        optim={"max_grad_norm": 1e-4},
        advantage={"baseline": "none"},
        replay={"drop_zero_advantage": False},
    )
    trainer, _, _ = _trainer(config)
    norms: list[float] = []

    def hook(optimizer, args, kwargs):
        grads = [p.grad for p in trainer.policy.parameters() if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))

    trainer.optimizer.register_step_pre_hook(hook)
    rows = _steps(trainer, 2)
    assert len(norms) == 2
    assert all(r["train/grad_norm"] > 1e-2 for r in rows)  # before clipping
    assert all(n <= 1e-4 * (1 + 1e-4) for n in norms)  # what the optimiser was given


def test_learning_rate_schedule_sets_the_optimisers_rate_at_every_step(tiny, tmp_path):
    """Cut: ``group["lr"] = lr`` in ``train_step`` -> ``pass`` (every update at ``optim.lr``)."""
    config = _config(
        tiny,
        tmp_path,
        steps=4,
        optim={"lr": 1e-2, "schedule": "linear", "lr_end": 1e-3, "warmup_steps": 1},
        advantage={"baseline": "none"},
        replay={"drop_zero_advantage": False},
        loss={"entropy_coef": 1.0},  # a gradient at every step, whatever the rewards
    )
    trainer, _, _ = _trainer(config)
    used: list[float] = []
    trainer.optimizer.register_step_pre_hook(
        lambda optimizer, args, kwargs: used.append(optimizer.param_groups[0]["lr"])
    )
    rows = _steps(trainer, 4)
    expected = [1e-2, 7e-3, 4e-3, 1e-3]  # lr after a one-step warm-up, then linear to lr_end
    assert used == pytest.approx(expected)
    assert [r["train/lr"] for r in rows] == pytest.approx(expected)


def _ratio_drift(clip: float, tiny: str, tmp_path) -> float:
    """Mean |log ratio| on the batch after four epochs of updates on it."""
    config = _config(
        tiny,
        tmp_path / f"clip{clip}",
        rewards=RANDOM_PENALTY,
        episodes_per_step=8,
        group_size=4,
        optim={"epochs": 4, "lr": 3e-3},
        loss={"clip_low": min(clip, 0.99), "clip_high": clip},
    )
    trainer, _, batches = _trainer(config)
    _steps(trainer, 1)
    batch = batches[0]
    assert batch
    with torch.no_grad():
        logp, _, mask = trainer.policy.logprobs(batch)
    old = torch.zeros_like(mask)
    for row, s in enumerate(batch):
        old[row, -len(s.logprobs) :] = torch.tensor(s.logprobs)
    return float(((logp - old).abs() * mask).sum() / mask.sum())


def test_ratio_clip_bounds_how_far_an_update_moves_the_policy(tiny, tmp_path):
    """Same seed, same rollouts; clip range 0 vs 10. Cut: ``clip_low=cfg.loss.clip_low,
    clip_high=cfg.loss.clip_high`` -> both 10.0 (or the arguments left out)."""
    tight = _ratio_drift(0.0, tiny, tmp_path)
    loose = _ratio_drift(10.0, tiny, tmp_path)
    assert tight < 0.6 * loose  # measured: 0.34 vs 0.95 (0.61 at the default 0.2 / 0.28)


# -- held-out evaluation ----------------------------------------------------------------------
def test_evaluation_seeds_never_overlap_the_training_seeds(tiny, tmp_path):
    """The seeds actually played, over several steps and evaluations. Cut: ``ev.seed_start +
    i`` -> ``i`` in ``evaluate`` (or training seeds drawn from ``integers(0, 2**31)``)."""
    config = _config(
        tiny,
        tmp_path,
        episodes_per_step=8,
        eval={"every": 1, "episodes": 3, "seed_start": 4, "opponents": [FAIR]},
    )
    trainer, runner, _ = _trainer(config)
    rows = _steps(trainer, 3)
    train_seeds = {r.seed for r in runner.training()}
    evaluations: dict[str, set[int]] = {}
    for r in runner.records:
        if r.episode_id.startswith("eval/"):
            evaluations.setdefault(r.episode_id.split("/")[1], set()).add(r.seed)
    assert len(evaluations) == 3 and len(runner.training()) == 24
    assert all(seeds == {4, 5, 6} for seeds in evaluations.values())  # the same held-out set
    assert train_seeds <= {0, 1, 2, 3}
    assert not train_seeds & set().union(*evaluations.values())
    # the number of distinct deals behind each interval is logged and in the report
    key = f"eval/negotiation-v0/{FAIR}/reward_items"
    deals = {r.info["item"] for r in runner.records if r.episode_id.startswith("eval/1/")}
    assert [r[key] for r in rows] == [len(deals)] * 3
    from palaestra.arena.train.plots import write_report

    page = write_report(trainer.run_dir).read_text()
    assert "<th>items</th>" in page and f"<td>{len(deals)}</td></tr>" in page


def test_prompt_kernel_preconditioner_hands_the_optimiser_the_whitened_gradient(tiny, tmp_path):
    """Cuts: the ``if cfg.optim.precondition == "prompt_kernel":`` branch -> ``if False:``;
    the loop writing ``combined`` into ``p.grad``; the group losses' ``share``."""
    from palaestra.arena.train import precondition

    config = _config(
        tiny,
        tmp_path,
        rewards=RANDOM_PENALTY,
        episodes_per_step=16,
        optim={"precondition": "prompt_kernel", "max_grad_norm": None, "minibatch_size": 64},
    )
    trainer, _, batches = _trainer(config)
    seen: list[dict[str, torch.Tensor]] = []
    real_gradient = trainer._preconditioned_gradient

    def spy(batch, idx, behaviour, ref):
        # The plain gradient of the same minibatch, at the same weights.
        trainer.optimizer.zero_grad(set_to_none=True)
        trainer._minibatch_loss(batch, idx, behaviour, ref).loss.backward()
        plain = torch.cat([p.grad.flatten() for p in trainer.policy.parameters()])
        prompts = {tuple(batch[i].prompt_ids) for i in idx}
        row = real_gradient(batch, idx, behaviour, ref)
        seen.append({"plain": plain, "groups": torch.tensor(float(len(prompts)))})
        seen[-1]["row_groups"] = torch.tensor(row["precondition_groups"])
        return row

    trainer._preconditioned_gradient = spy  # type: ignore[method-assign]
    combined: list[tuple[torch.Tensor, torch.Tensor]] = []
    real_combine = precondition.combine

    def combine_spy(grads, metric, ridge):
        out = real_combine(grads, metric, ridge)
        combined.append((grads.clone(), out[0].clone()))
        return out

    given: list[torch.Tensor] = []

    def hook(optimizer, args, kwargs):
        given.append(torch.cat([p.grad.flatten() for p in trainer.policy.parameters()]))

    trainer.optimizer.register_step_pre_hook(hook)
    import palaestra.arena.train.trainer as trainer_module

    original = trainer_module.precondition.combine
    trainer_module.precondition.combine = combine_spy
    try:
        rows = _steps(trainer, 2)
    finally:
        trainer_module.precondition.combine = original
    assert len(seen) == len(combined) == len(given) == sum(1 for b in batches if b) >= 1
    for s, (grads, out), handed in zip(seen, combined, given):
        # Samples sharing a prompt form one group; the group losses sum to the minibatch's.
        assert s["row_groups"] == s["groups"] == grads.shape[0]
        scale = float(s["plain"].abs().max())
        torch.testing.assert_close(grads.sum(0), s["plain"], rtol=1e-4, atol=1e-4 * scale)
        # What the optimiser steps with is the whitened combination, not the plain sum.
        torch.testing.assert_close(handed, out)
        if grads.shape[0] > 1:
            assert not torch.allclose(handed, s["plain"], rtol=1e-3, atol=1e-8)
    assert any(r["train/precondition_groups"] > 1 for r in rows), "no minibatch had 2 prompts"


# -- the best-response league member ----------------------------------------------------------
KUHN = {"env": "kuhn-poker-v0", "kwargs": {"name_card": True}}


def _exploitability(trainer: Trainer) -> float:
    from palaestra.arena.exact import exploitability_of

    return exploitability_of(
        trainer.policy.hf_agent, "kuhn-poker-v0", name_card=True
    ).exploitability


@pytest.mark.parametrize("every", [1, 2])
def test_best_response_member_is_rebuilt_against_the_policy_as_it_is(tiny, tmp_path, every):
    """Cuts: the ``refresh_best_responses()`` call in ``train_step`` (the member then stays
    the one built against the first policy), and the ``best-response`` branch of ``_job``
    (the name then goes to ``make_agent``, which has no such agent)."""
    config = _config(
        tiny,
        tmp_path,
        episodes_per_step=8,
        optim={"lr": 5e-2},
        advantage={"baseline": "role"},  # every reply forfeits: only a running baseline moves
        stages=[{"games": [KUHN], "opponents": ["best-response"]}],
        league={"best_response_every": every},
    )
    trainer, runner, _ = _trainer(config)
    key = "league/best-response/kuhn-poker-v0/exploitability"
    read, logged, members, rows = [], [], [], []
    for _ in range(3):
        read.append(_exploitability(trainer))  # the policy the step starts from
        rows.append(trainer.train_step())
        logged.append(rows[-1].get(key))
        members.append(next(iter(trainer._best_responses.values())))
    for step in range(1, 4):
        seated = {name for r in runner.training(step) for name in r.seating.values()}
        assert seated == {"policy", "best-response"}
    assert read[0] != pytest.approx(read[1], abs=1e-6)  # the updates moved the policy
    assert read[1] != pytest.approx(read[2], abs=1e-6)
    assert all(row.get("time/best_response_s", 0) > 0 for row in rows if key in row)
    if every == 1:  # rebuilt at every step, against the policy the step starts from
        assert logged == pytest.approx(read, abs=1e-9)
        assert len({id(m) for m in members}) == 3
    else:  # rebuilt at steps 0 and 2 only
        assert logged[0] == pytest.approx(read[0], abs=1e-9) and logged[1] is None
        assert logged[2] == pytest.approx(read[2], abs=1e-9)
        assert members[0] is members[1] and members[1] is not members[2]


def test_best_response_member_moves_are_the_best_response_to_the_policy(tiny, tmp_path):
    """The member's table (its move at every information state) is OpenSpiel's best response
    to the policy read at the step's start, with the game's own arguments. Cut: the
    ``strategy`` read from the policy (the uniform player's instead) changes the table."""
    config = _config(tiny, tmp_path, stages=[{"games": [KUHN], "opponents": ["best-response"]}])
    trainer, _, _ = _trainer(config)
    from palaestra.arena.exact import agent_policy
    from palaestra.envs.openspiel.policies import best_response_agent

    expected = best_response_agent(
        "kuhn-poker-v0", agent_policy(trainer.policy.hf_agent, "kuhn-poker-v0", name_card=True)
    )
    trainer.train_step()
    member = next(iter(trainer._best_responses.values()))
    assert member.table == expected.table
    assert member.values == pytest.approx(expected.values)


@pytest.mark.parametrize(("share", "exploited"), [(0.75, 3), (0.0, 0), (1.0, 4)])
def test_best_response_share_fixes_how_many_groups_play_it(tiny, tmp_path, share, exploited):
    """``league.best_response_share``: that many of a step's 4 groups play the member, every
    step, and the rest draw from the other members only. Cut: the ``gi < exploiters`` branch
    of ``rollout_jobs`` (PFSP then draws every group, the member among them)."""
    config = _config(
        tiny,
        tmp_path,
        episodes_per_step=8,
        stages=[{"games": [KUHN], "opponents": ["self", "best-response"]}],
        league={"best_response_share": share},
    )
    trainer, runner, _ = _trainer(config)
    _steps(trainer, 3)
    for step in range(1, 4):
        opponents = Counter(r.meta["opponent"] for r in runner.training(step))
        assert opponents == +Counter({"best-response": 2 * exploited, "self": 8 - 2 * exploited})


def test_best_response_needs_a_game_with_exact_evaluation(tiny, tmp_path):
    from palaestra.arena.train.config import ConfigError

    with pytest.raises(ConfigError, match=r"best-response.*\['negotiation-v0'\]"):
        _config(tiny, tmp_path, stages=[{"games": [NEGOTIATION], "opponents": ["best-response"]}])
    with pytest.raises(ConfigError, match=r"eval\.opponents names 'best-response'"):
        _config(tiny, tmp_path, eval={"every": 0, "opponents": ["best-response"]})
