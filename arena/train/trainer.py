"""The self-play training loop.

One step:

1. **Rollouts** through the arena's :class:`~palaestra.arena.runner.MatchRunner` (the only
   rollout loop): ``episodes_per_step`` episodes of the current curriculum stage's games, in
   groups of ``group_size`` sharing game, seed, seating and opponent; opponents drawn from the
   league by PFSP; the policy's agent records token ids and sampling log-probs.
2. **Samples**: rewards shaped (or majority-vote pseudo-rewards), credited per turn, advantages
   by the configured baseline; zero-advantage samples dropped; replayed samples added.
3. **Update**: ``epochs`` passes over the batch in minibatches; clipped-ratio loss with k3 KL
   to the reference (computed once per batch) and an entropy bonus; optionally the groups of
   samples sharing a prompt whitened against each other (``optim.precondition``); gradient
   clipping; AdamW.
   With a ``vllm:`` policy the ratio's ``old`` log-probs are the trainer's own, recomputed
   before the update, and truncated importance sampling corrects for the engine's
   (``loss.tis_cap``); the gap is logged as ``train/engine_logp_gap``. After the update the
   engine gets the new weights (``time/weight_sync_s``).
4. **Book-keeping**: league results, snapshots, curriculum, guards, evaluation every
   ``eval.every`` steps, ``metrics.jsonl``, checkpoints every ``checkpoint.every`` steps.

A checkpoint holds the trained weights, the optimiser, the league, the replay buffer, the
baselines, the curriculum, the guards, the agents' sampling counters and the numpy generator:
``--resume`` continues exactly where the checkpoint left off.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.runner import EpisodeJob, MatchRunner
from palaestra.arena.train import precondition
from palaestra.arena.train.advantages import RoleBaseline, flat_group_fraction
from palaestra.arena.train.config import GameConfig, TrainConfig
from palaestra.arena.train.curriculum import Curriculum
from palaestra.arena.train.evaluation import seat_metrics
from palaestra.arena.train.guards import Guards
from palaestra.arena.train.league import BEST_RESPONSE, INITIAL, SELF, League, match_score
from palaestra.arena.train.losses import LossParts, policy_loss, truncated_is_weights
from palaestra.arena.train.policy import POLICY_NAME, Policy
from palaestra.arena.train.replay import ReplayBuffer
from palaestra.arena.train.samples import Sample, assign_advantages, build_samples
from palaestra.arena.train.warmstart import (
    DemoRecorder,
    demo_samples,
    fit,
    kept_demos,
    load_warm_start,
)
from palaestra.envs.protocol import Agent

if TYPE_CHECKING:
    from palaestra.envs.openspiel.policies import BestResponseAgent

log = logging.getLogger("palaestra.train")

NO_OPPONENT = "none"
#: The warm-started trainable weights, kept in the run folder for ``--resume``.
WARM_START_FILE = "warm_start.pt"
TRAIN_DEFAULTS = {"invalid_move": "forfeit"}
#: A checkpoint's moving KL reference (``loss.reference: moving``).
REFERENCE_FILE = "reference.pt"


class RolloutEngineError(RuntimeError):
    """The policy's rollout engine failed (died, ran out of memory, refused the weights); the
    run stopped after writing a checkpoint to resume from."""


def _dropout_free(model: torch.nn.Module) -> bool:
    """Whether a training-mode forward computes what an evaluation-mode one does: no dropout
    module with ``p > 0`` and no ``*dropout*``/``*pdrop*`` rate in the model's config."""
    if any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules()):
        return False
    config = getattr(model, "config", None)
    rates = vars(config).items() if config is not None else ()
    return not any(
        ("dropout" in k or "pdrop" in k) and isinstance(v, float) and v > 0 for k, v in rates
    )


def _game_key(game: GameConfig) -> str:
    return f"{game.env}{sorted(game.kwargs.items())}"


def _roles(env_id: str, kwargs: dict[str, Any]) -> tuple[str, ...]:
    from palaestra.envs import spec
    from palaestra.envs.registry import ADAPTER_KWARGS

    game_kwargs = {k: v for k, v in kwargs.items() if k not in ADAPTER_KWARGS}
    return spec(env_id).make_game(**game_kwargs).info.roles


class Trainer:
    """Runs a :class:`TrainConfig`.

    Args:
        config: The validated config.
        resume: Continue from the newest checkpoint in ``run_dir`` (error if there is none).
        runner: The match runner (default: ``MatchRunner(concurrency=config.concurrency)``).
    """

    def __init__(
        self, config: TrainConfig, resume: bool = False, runner: MatchRunner | None = None
    ) -> None:
        self.config = config
        self.run_dir = Path(config.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.rng = np.random.default_rng(config.seed)
        torch.manual_seed(config.seed)
        self.policy = Policy(config.policy, seed=config.seed)
        self.optimizer = self._optimizer(config.optim.lr)
        lg = config.league
        self.league = League(lg.sampling, lg.pfsp_power, lg.prior_games, lg.max_snapshots)
        rp = config.replay
        self.replay: ReplayBuffer[Sample] = ReplayBuffer(rp.capacity, rp.alpha, rp.beta)
        self.role_baseline = RoleBaseline(config.advantage.role_decay)
        self.curriculum = Curriculum(config.stages)
        self.guards = Guards(config.guards)
        self.runner = runner or MatchRunner(concurrency=config.concurrency)
        self.step = 0
        self._agents: dict[str, Agent] = {}
        self._roles: dict[str, tuple[str, ...]] = {}
        self._best_responses: dict[str, BestResponseAgent] = {}  # by game: see best_response
        self.metrics_path = self.run_dir / "metrics.jsonl"
        self.episodes_path = self.run_dir / "episodes.jsonl"
        self.warm_start_path = self.run_dir / WARM_START_FILE
        if resume:
            checkpoint = self.latest_checkpoint()
            if config.warm_start is not None and self.warm_start_path.exists():
                state = torch.load(self.warm_start_path, weights_only=True)
                self.policy.load_trainable_state(state)
                self._absorb()
            self.load_checkpoint(checkpoint)
        else:
            (self.run_dir / "config.json").write_text(config.model_dump_json(indent=2))
            self.metrics_path.write_text("")
            self.episodes_path.unlink(missing_ok=True)
            self.warm_start_path.unlink(missing_ok=True)

    def _optimizer(
        self, lr: float, betas: tuple[float, float] | None = None
    ) -> torch.optim.Optimizer:
        optim = self.config.optim
        return torch.optim.AdamW(
            self.policy.parameters(),
            lr=lr,
            betas=betas or optim.betas,
            weight_decay=optim.weight_decay,
        )

    def _log(self, row: dict[str, Any]) -> None:
        with self.metrics_path.open("a") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")

    # -- agents -----------------------------------------------------------------------------
    def agent(self, name: str) -> Agent:
        """The agent for a league member or evaluation opponent (built once)."""
        if name == SELF:
            return self.policy.agent
        if name not in self._agents:
            if name == INITIAL:
                self._agents[name] = self.policy.initial_agent(INITIAL)
            elif name in self.league.snapshot_paths:
                state = torch.load(self.league.snapshot_paths[name], weights_only=True)
                self._agents[name] = self.policy.snapshot_agent(name, state)
            else:
                from palaestra.agents import make_agent

                self._agents[name] = make_agent(name)
        return self._agents[name]

    def best_response(self, game: GameConfig) -> BestResponseAgent:
        """The ``best-response`` league member in ``game``: the exact best response, at
        every seat, to the policy's strategy when it was built (see
        :meth:`refresh_best_responses`)."""
        key = _game_key(game)
        if key not in self._best_responses:
            from palaestra.arena.exact import agent_policy
            from palaestra.envs.openspiel.policies import best_response_agent
            from palaestra.envs.registry import ADAPTER_KWARGS

            kwargs = {k: v for k, v in game.kwargs.items() if k not in ADAPTER_KWARGS}
            strategy = agent_policy(self.policy.hf_agent, game.env, **kwargs)
            agent = best_response_agent(game.env, strategy, name=BEST_RESPONSE, **kwargs)
            self._best_responses[key] = agent
        return self._best_responses[key]

    def refresh_best_responses(self) -> dict[str, float]:
        """Rebuild the ``best-response`` member of every game of the current stage that
        plays it, against the policy as it is now; returns
        ``league/best-response/<game>/exploitability`` (the mean of the best responses'
        values: the policy's exact exploitability, read as the member is built)."""
        stage = self.curriculum.current
        self._best_responses.clear()
        if BEST_RESPONSE not in stage.opponents:
            return {}
        out = {}
        for game in stage.games:
            values = self.best_response(game).values
            out[f"league/{BEST_RESPONSE}/{game.env}/exploitability"] = float(
                np.mean(list(values.values()))
            )
        return out

    def roles(self, game: GameConfig) -> tuple[str, ...]:
        key = _game_key(game)
        if key not in self._roles:
            self._roles[key] = _roles(game.env, game.kwargs)
        return self._roles[key]

    def _seats(self, game: GameConfig) -> list[str]:
        roles = self.roles(game)
        seats = game.roles or list(roles)
        bad = [r for r in seats if r not in roles]
        if bad:
            raise ValueError(f"{game.env} has roles {list(roles)}; config names {bad}")
        return seats

    def _job(
        self,
        game: GameConfig,
        seed: int,
        opponent: str,
        seat: str,
        episode_id: str,
        player: Agent | None = None,
        **meta: Any,
    ) -> EpisodeJob:
        roles = self.roles(game)
        player = player or self.policy.agent
        if opponent in (SELF, NO_OPPONENT):
            agents = dict.fromkeys(roles, player)
        else:
            other = self.best_response(game) if opponent == BEST_RESPONSE else self.agent(opponent)
            agents = {r: (player if r == seat else other) for r in roles}
        return EpisodeJob(
            env_id=game.env,
            seed=seed,
            agents=agents,
            env_kwargs={**TRAIN_DEFAULTS, **game.kwargs},
            episode_id=episode_id,
            meta={"opponent": opponent, "seat": seat, **meta},
        )

    # -- rollouts ---------------------------------------------------------------------------
    def rollout_jobs(self) -> list[EpisodeJob]:
        """This step's jobs: groups of ``group_size`` episodes sharing everything but the
        sampling."""
        stage = self.curriculum.current
        weights = np.array([g.weight for g in stage.games], dtype=np.float64)
        pool = self.step_pool(self.league.expand(stage.opponents))
        jobs = []
        n_groups = self.config.episodes_per_step // self.config.group_size
        share = self.config.league.best_response_share
        exploiters = 0  # the first groups, which play the best response
        if share is not None and BEST_RESPONSE in pool:
            exploiters = round(share * n_groups)
            pool = [name for name in pool if name != BEST_RESPONSE] or [BEST_RESPONSE]
        for gi in range(n_groups):
            game = stage.games[int(self.rng.choice(len(stage.games), p=weights / weights.sum()))]
            seed = int(self.rng.integers(0, self.config.eval.seed_start))
            if len(self.roles(game)) == 1:
                opponent = NO_OPPONENT
            elif gi < exploiters:
                opponent = BEST_RESPONSE
            else:
                opponent = self.league.sample(pool, self.rng)
            seats = self._seats(game)
            seat = seats[int(self.rng.integers(len(seats)))]
            for k in range(self.config.group_size):
                jobs.append(
                    self._job(
                        game,
                        seed,
                        opponent,
                        seat,
                        f"train/{self.step}/{gi}/{k}",
                        group=gi,
                        step=self.step,
                    )
                )
        return jobs

    def step_pool(self, pool: list[str]) -> list[str]:
        """``pool`` with at most ``league.snapshots_per_step`` of its snapshots, drawn by the
        league's weights without replacement (the other members all stay)."""
        limit = self.config.league.snapshots_per_step
        snapshots = [name for name in pool if name in self.league.snapshot_paths]
        if not limit or len(snapshots) <= limit:
            return pool
        weights = self.league.weights(snapshots)
        kept = {snapshots[i] for i in self.rng.choice(len(snapshots), limit, False, weights)}
        return [name for name in pool if name not in snapshots or name in kept]

    def _league_results(self, records: Sequence[EpisodeRecord]) -> None:
        for record in records:
            opponent = record.meta.get("opponent")
            if opponent in (SELF, NO_OPPONENT, None):
                continue
            seat = record.meta["seat"]
            others = [float(v) for r, v in record.returns.items() if r != seat]
            self.league.record(opponent, match_score(float(record.returns[seat]), max(others)))

    # -- update -----------------------------------------------------------------------------
    def behaviour_logprobs(self, samples: Sequence[Sample]) -> list[torch.Tensor]:
        """The trainer's log-probs of each sample's completion tokens under the current weights
        (no gradient): the behaviour policy as transformers computes it."""
        out: list[torch.Tensor] = []
        size = self.config.optim.minibatch_size
        with torch.no_grad():
            for start in range(0, len(samples), size):
                chunk = samples[start : start + size]
                logp, _, _ = self.policy.logprobs(
                    chunk, shared_prefix=self.config.optim.shared_prefix
                )
                out.extend(row[-len(s.completion_ids) :] for row, s in zip(logp, chunk))
        return out

    def engine_gap(
        self, samples: Sequence[Sample], behaviour: Sequence[torch.Tensor]
    ) -> dict[str, float]:
        """``train/engine_logp_gap`` (mean |trainer - engine| log-prob over the sampled tokens),
        ``train/tis_weight`` (mean truncated IS weight) and ``train/tis_truncated`` (fraction
        of the tokens at the cap)."""
        trainer = torch.cat([b.float() for b in behaviour])
        engine = torch.cat([torch.tensor(s.logprobs[: len(s.completion_ids)]) for s in samples])
        gap = truncated_is_weights(trainer, engine, torch.ones_like(trainer),
                                   self.config.loss.tis_cap)  # fmt: skip
        return {
            "train/engine_logp_gap": gap.gap,
            "train/tis_weight": gap.weight,
            "train/tis_truncated": gap.truncated,
        }

    def update(
        self, batch: Sequence[Sample], behaviour: dict[int, torch.Tensor] | None = None
    ) -> dict[str, float]:
        """``epochs`` passes of minibatch updates over ``batch``; returns the mean metrics.

        Args:
            batch: The samples.
            behaviour: When another engine sampled the batch: the trainer's own log-probs of
                each sample's tokens before the update, by batch index. They are the ratio's
                ``old``, and each token's surrogate is weighted by the truncated importance
                weight against the engine's ``Sample.logprobs``. Missing entries are filled
                in (the dict is updated): the samples of the first minibatch take them from
                its own forward pass (detached; the weights have not moved yet, and without
                dropout a training forward computes what an evaluation one does), the others
                from :meth:`behaviour_logprobs` before the first step. ``None``: ``old`` is
                ``Sample.logprobs`` and no weight.
        """
        cfg = self.config
        if not batch:
            return {}
        size = cfg.optim.minibatch_size
        orders = [self.rng.permutation(len(batch)) for _ in range(cfg.optim.epochs)]
        if behaviour is not None:
            fused = set()
            if _dropout_free(self.policy.model):
                fused = {int(i) for i in orders[0][:size]}
            missing = [i for i in range(len(batch)) if i not in behaviour and i not in fused]
            if missing:
                rows = self.behaviour_logprobs([batch[i] for i in missing])
                behaviour.update(zip(missing, rows))
        ref: dict[int, torch.Tensor] = {}
        if cfg.loss.kl_coef > 0:
            with torch.no_grad():
                for start in range(0, len(batch), size):
                    chunk = batch[start : start + size]
                    logp, _, _ = self.policy.logprobs(
                        chunk, reference=True, shared_prefix=cfg.optim.shared_prefix
                    )
                    for i, row in enumerate(logp):
                        ref[start + i] = row[-len(chunk[i].completion_ids) :]
        totals: dict[str, list[float]] = {}
        self.policy.model.train()
        for order in orders:
            for start in range(0, len(batch), size):
                idx = [int(i) for i in order[start : start + size]]
                if cfg.optim.precondition == "prompt_kernel":
                    row = self._preconditioned_gradient(batch, idx, behaviour, ref)
                else:
                    parts = self._minibatch_loss(batch, idx, behaviour, ref)
                    self.optimizer.zero_grad(set_to_none=True)
                    parts.loss.backward()
                    row = parts.metrics()
                params = self.policy.parameters()
                if cfg.optim.max_grad_norm is not None:
                    norm = torch.nn.utils.clip_grad_norm_(params, cfg.optim.max_grad_norm)
                else:
                    norm = torch.nn.utils.clip_grad_norm_(params, math.inf)
                self.optimizer.step()
                row["grad_norm"] = float(norm)
                for k, v in row.items():
                    totals.setdefault(k, []).append(v)
        self.policy.model.eval()
        return {k: float(np.mean(v)) for k, v in totals.items()}

    def _minibatch_loss(
        self,
        batch: Sequence[Sample],
        idx: list[int],
        behaviour: dict[int, torch.Tensor] | None,
        ref: dict[int, torch.Tensor],
    ) -> LossParts:
        """The loss of the samples ``batch[i] for i in idx``, under the current weights."""
        cfg = self.config
        chunk = [batch[i] for i in idx]
        logp, entropy, mask = self.policy.logprobs(
            chunk, entropy=True, shared_prefix=cfg.optim.shared_prefix
        )
        width = mask.shape[1]
        if behaviour is not None:
            for row, (i, s) in enumerate(zip(idx, chunk)):
                if i not in behaviour:  # the first minibatch, before any step
                    c = len(s.completion_ids)
                    behaviour[i] = logp[row, width - c :].detach().clone()
        old = torch.zeros_like(mask)
        engine = torch.zeros_like(mask)
        ref_logp = torch.zeros_like(mask) if ref else None
        for row, (i, s) in enumerate(zip(idx, chunk)):
            c = len(s.completion_ids)
            engine[row, width - c :] = torch.tensor(s.logprobs[:c])
            old[row, width - c :] = engine[row, width - c :]
            if behaviour is not None:
                old[row, width - c :] = behaviour[i]
            if ref_logp is not None:
                ref_logp[row, width - c :] = ref[i]
        token_weights = None
        if behaviour is not None:
            token_weights = truncated_is_weights(old, engine, mask, cfg.loss.tis_cap).weights
        return policy_loss(
            logp,
            old,
            torch.tensor([s.advantage for s in chunk]),
            mask,
            clip_low=cfg.loss.clip_low,
            clip_high=cfg.loss.clip_high,
            ref_logp=ref_logp,
            kl_coef=cfg.loss.kl_coef,
            entropy=entropy,
            entropy_coef=cfg.loss.entropy_coef,
            weights=torch.tensor([s.weight for s in chunk]),
            normalisation=cfg.loss.normalisation,
            token_weights=token_weights,
        )

    def _preconditioned_gradient(
        self,
        batch: Sequence[Sample],
        idx: list[int],
        behaviour: dict[int, torch.Tensor] | None,
        ref: dict[int, torch.Tensor],
    ) -> dict[str, float]:
        """Leave the prompt-kernel preconditioned gradient of the minibatch ``idx`` in the
        parameters' ``.grad`` (:mod:`~palaestra.arena.train.precondition`); returns the
        minibatch's metrics."""
        cfg = self.config
        params = self.policy.parameters()
        groups = precondition.prompt_groups(
            [batch[i].prompt_ids for i in idx], cfg.optim.precondition_max_groups
        )
        # Each group's share of the minibatch's loss, so that the group losses sum to it.
        if cfg.loss.normalisation == "token":
            sizes = [sum(len(batch[idx[j]].completion_ids) for j in g) for g in groups]
        else:
            sizes = [len(g) for g in groups]
        grads, metrics = [], []
        for group, size in zip(groups, sizes):
            parts = self._minibatch_loss(batch, [idx[j] for j in group], behaviour, ref)
            share = size / sum(sizes)
            self.optimizer.zero_grad(set_to_none=True)
            (parts.loss * share).backward()
            flat = [torch.zeros_like(p) if p.grad is None else p.grad for p in params]
            grads.append(torch.cat([g.flatten() for g in flat]))
            metrics.append({k: v * share for k, v in parts.metrics().items()})
        stacked = torch.stack(grads)
        metric = precondition.adam_metric(self.optimizer, params)
        combined, weights = precondition.combine(stacked, metric, cfg.optim.precondition_ridge)
        offset = 0
        for p in params:
            p.grad = combined[offset : offset + p.numel()].view_as(p).clone()
            offset += p.numel()
        row = {k: sum(m[k] for m in metrics) for k in metrics[0]}
        plain = float(stacked.sum(0).norm())
        row["precondition_groups"] = float(len(groups))
        row["precondition_gain"] = float(combined.norm()) / plain if plain > 0 else 0.0
        row["precondition_weight_max"] = float(np.max(np.abs(weights)))
        return row

    # -- one step ---------------------------------------------------------------------------
    def train_step(self) -> dict[str, Any]:
        """Play, learn, and log one step; returns its metrics."""
        cfg = self.config
        started = time.perf_counter()
        stage = self.curriculum.current
        exploited = {}
        if self.step % cfg.league.best_response_every == 0 or not self._best_responses:
            exploited = self.refresh_best_responses()
            if exploited:
                exploited["time/best_response_s"] = time.perf_counter() - started
        records = list(self.runner.run(self.rollout_jobs()))
        rollout_seconds = time.perf_counter() - started
        failure = self._engine_failure(records)
        if failure is not None:
            self._stop(f"the policy's rollout engine failed at step {self.step + 1}: {failure}")
        if cfg.log_episodes:
            with self.episodes_path.open("a") as f:
                f.writelines(r.to_json() + "\n" for r in records)
        self._league_results(records)
        self_reward_games = {g.env for g in stage.games if g.self_reward}
        samples = build_samples(records, {POLICY_NAME}, cfg, self_reward_games)
        assign_advantages(samples, cfg, self.role_baseline)
        fresh = samples
        if cfg.replay.drop_zero_advantage:
            fresh = [s for s in samples if abs(s.advantage) > 1e-8]
        replayed, weights = self.replay.sample(cfg.replay.samples_per_step, self.rng)
        batch = list(fresh)
        for s, w in zip(replayed, weights):
            batch.append(Sample(**{**asdict(s), "weight": float(w)}))
        self.replay.add(fresh, [s.advantage for s in fresh])
        update_started = time.perf_counter()
        lr = cfg.optim.lr_at(self.step, cfg.steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        behaviour: dict[int, torch.Tensor] | None = None
        if self.policy.engine is not None:  # another engine sampled: recompute old, then TIS
            behaviour = {}
        # (hf: rollouts call update(batch) as before: spies and subclasses see the same call)
        update = self.update(batch) if behaviour is None else self.update(batch, behaviour)
        gap = {}
        if behaviour is not None and fresh:
            gap = self.engine_gap(fresh, [behaviour[i] for i in range(len(fresh))])
        elif behaviour is not None and samples:  # no update, but the guard still watches
            gap = self.engine_gap(samples, self.behaviour_logprobs(samples))
        update_seconds = time.perf_counter() - update_started
        self.step += 1
        try:
            sync_seconds = self.policy.sync_engine()
        except RuntimeError as err:
            self._stop(f"after the update of step {self.step}: {err}")
        if cfg.loss.reference == "moving" and self.step % cfg.loss.reference_every == 0:
            self.policy.refresh_reference()

        seat_returns = [
            float(r.returns[role])
            for r in records
            for role, name in r.seating.items()
            if name == POLICY_NAME
        ]
        policy_turns = [t for r in records for t in r.turns if t.agent == POLICY_NAME]
        tokens = sum(t.tokens for t in policy_turns)
        metrics: dict[str, Any] = {
            "step": self.step,
            "stage": stage.name,
            "train/reward": float(np.mean(seat_returns)) if seat_returns else 0.0,
            "train/shaped_reward": float(np.mean([s.value for s in samples])) if samples else 0.0,
            "train/length": float(np.mean([t.tokens for t in policy_turns]))
            if policy_turns
            else 0.0,
            "train/invalid_rate": float(np.mean([not t.valid for t in policy_turns]))
            if policy_turns
            else 0.0,
            "train/samples": len(samples),
            "train/kept": len(fresh),
            "train/flat_groups": flat_group_fraction(
                [x.group for x in samples],
                [x.seat for x in samples],
                {x.seat: x.value for x in samples},
            ),
            "train/replayed": len(replayed),
            "train/advantage_abs": float(np.mean([abs(s.advantage) for s in samples]))
            if samples
            else 0.0,
            "train/lr": lr,
            "time/rollout_s": rollout_seconds,
            "time/update_s": update_seconds,
            "time/weight_sync_s": sync_seconds,
            "time/tokens_per_s": tokens / rollout_seconds if rollout_seconds > 0 else 0.0,
        }
        metrics.update({f"train/{k}": v for k, v in update.items()})
        metrics.update(gap)
        metrics.update(exploited)
        for name in self.league.records:
            metrics[f"league/{name}/win_rate"] = self.league.win_rate(name)
        if cfg.eval.every and (self.step % cfg.eval.every == 0 or self.step == cfg.steps):
            metrics.update(self.evaluate())
        metrics["warnings"] = self.guards.check(metrics)
        if cfg.league.snapshot_every and self.step % cfg.league.snapshot_every == 0:
            self.add_snapshot()
        advanced = self.curriculum.observe(metrics)
        if advanced:
            metrics["advanced_to"] = self.curriculum.current.name
            log.info("curriculum: stage %r begins", self.curriculum.current.name)
        metrics["time/step_s"] = time.perf_counter() - started
        self._log(metrics)
        if self.step % cfg.checkpoint.every == 0:
            self.save_checkpoint()
        return metrics

    def _engine_failure(self, records: Sequence[EpisodeRecord]) -> str | None:
        """Why the policy's rollout engine failed during these rollouts, if it did."""
        engine = self.policy.engine
        if engine is None:
            return None
        if engine.dead is not None:
            return engine.dead
        for record in records:
            for error in record.errors:
                if error.get("agent") == POLICY_NAME and "generation failed" in error["error"]:
                    return error["error"]
        return None

    def _stop(self, reason: str) -> None:
        """Write a checkpoint of the state so far and stop the run with ``reason``."""
        path = self.save_checkpoint()
        log.error("%s; checkpoint written to %s", reason, path)
        raise RolloutEngineError(
            f"{reason}. The run stopped after writing a checkpoint of step {self.step} to "
            f"{path}; nothing before it is lost: fix the cause and continue with --resume"
        )

    def run(self, steps: int | None = None) -> list[dict[str, Any]]:
        """Train until ``config.steps`` (or ``steps`` more steps); returns their metrics.

        The first step of a fresh run is preceded by an evaluation of the initial policy
        (logged as step 0); the last step is always evaluated; the run ends with a checkpoint
        and the learning-curve plots.
        """
        cfg = self.config
        end = cfg.steps if steps is None else min(cfg.steps, self.step + steps)
        out = []
        if self.step == 0 and cfg.warm_start is not None and not self.warm_start_path.exists():
            self.warm_start()
        if self.step == 0 and cfg.eval.every:
            row = {"step": 0, "stage": self.curriculum.current.name, **self.evaluate()}
            self.guards.check(row)
            self._log(row)
        while self.step < end:
            metrics = self.train_step()
            out.append(metrics)
            log.info(
                "step %d: reward %.3f kl %.4f entropy %.3f",
                self.step,
                metrics["train/reward"],
                metrics.get("train/kl", 0.0),
                metrics.get("train/entropy", 0.0),
            )
        if self.step == cfg.steps:
            if self.step % cfg.checkpoint.every:
                self.save_checkpoint()
            from palaestra.arena.train.plots import write_report

            write_report(self.run_dir)
        return out

    # -- warm start -------------------------------------------------------------------------
    def warm_start(self) -> dict[str, Any]:
        """Behaviour cloning of ``warm_start.teacher`` (see :mod:`~.warmstart`); logs a step-0
        row with ``warm_start/*`` figures and, when evaluation is on, the held-out figures of
        the policy before it (``base/eval/*``). Returns that row."""
        ws = self.config.warm_start
        if ws is None:
            raise ValueError("the config has no warm_start section")
        started = time.perf_counter()
        row: dict[str, Any] = {"step": 0, "stage": self.curriculum.current.name}
        if self.config.eval.every:
            row.update({f"base/{k}": v for k, v in self.evaluate().items()})
        if ws.load is not None:  # an earlier run's warm start instead of cloning anew
            state = load_warm_start(ws.load, self.policy.trainable_state())
            self.policy.load_trainable_state(state)
            torch.save(state, self.warm_start_path)
            self._absorb()
            row["time/warm_start_s"] = time.perf_counter() - started
            self._log(row)
            log.info("warm start: loaded %s", ws.load)
            return row
        from palaestra.agents import make_agent

        agent = self.policy.hf_agent  # renders as the rollout agent does, on the trained module
        eos = agent.eos_ids()[:1]
        tokenizer = self.policy.tokenizer
        specs = [ws.teacher] if isinstance(ws.teacher, str) else list(ws.teacher)
        recorders = {
            spec: DemoRecorder(
                make_agent(spec),
                render=lambda obs: list(agent.render(obs).ids),
                encode=lambda text: tokenizer(text, add_special_tokens=False)["input_ids"] + eos,
                name=f"teacher:{spec}",
            )
            for spec in dict.fromkeys(specs)
        }
        stage = self.config.stages[0]
        opponents = self.league.expand(stage.opponents)
        jobs = []
        for game in stage.games:
            seats = self._seats(game)
            single = len(self.roles(game)) == 1
            for i in range(ws.episodes):
                opponent = NO_OPPONENT if single else opponents[i % len(opponents)]
                seat = seats[i % len(seats)]
                episode_id = f"warm/{game.env}/{i}"
                player = recorders[specs[i % len(specs)]]
                jobs.append(self._job(game, ws.seed_start + i, opponent, seat, episode_id,
                                      player=player))  # fmt: skip
        records = list(self.runner.run(jobs))
        replies = [d for r in recorders.values() for d in r.demos]
        demos = kept_demos(replies, records, ws.min_return)
        if not demos:
            where = "" if ws.min_return is None else f" in an episode returning >= {ws.min_return}"
            raise RuntimeError(
                f"warm_start: the teacher {ws.teacher!r} gave no reply to learn from in "
                f"{len(records)} episodes (no valid move{where})"
            )
        fitted = fit(
            self.policy.model,
            functools.partial(self.policy.logprobs, shared_prefix=self.config.optim.shared_prefix),
            demo_samples(demos),
            self._optimizer(ws.lr or self.config.optim.lr, ws.betas),
            epochs=ws.epochs,
            minibatch_size=ws.minibatch_size,
            max_grad_norm=self.config.optim.max_grad_norm,
            rng=self.rng,
        )
        torch.save(self.policy.trainable_state(), self.warm_start_path)
        self._absorb()
        names = {r.name for r in recorders.values()}
        teacher_returns = [
            float(r.returns[role]) for r in records for role, name in r.seating.items()
            if name in names
        ]  # fmt: skip
        row.update(
            {
                "warm_start/episodes": len(records),
                "warm_start/demos": len(demos),
                "warm_start/replies": len(replies),
                "warm_start/teacher_reward": float(np.mean(teacher_returns)),
                **{f"warm_start/{k}": v for k, v in fitted.items()},
                "time/warm_start_s": time.perf_counter() - started,
            }
        )
        self._log(row)
        log.info(
            "warm start: %d demos, NLL %.3f -> %.3f",
            len(demos),
            fitted["nll_before"],
            fitted["nll_after"],
        )
        return row

    def _absorb(self) -> None:
        """The warm-started weights become the reference and the ``initial`` opponent."""
        self.policy.absorb()
        self.optimizer = self._optimizer(self.config.optim.lr)
        self._agents.clear()  # an ``initial`` agent built earlier holds the old module

    # -- evaluation -------------------------------------------------------------------------
    def eval_games(self) -> list[GameConfig]:
        if self.config.eval.games is not None:
            return list(self.config.eval.games)
        seen: dict[str, GameConfig] = {}
        for stage in self.config.stages:
            for g in stage.games:
                seen.setdefault(f"{g.env}{sorted(g.kwargs.items())}", g)
        return list(seen.values())

    def evaluate(self) -> dict[str, float]:
        """Play the held-out seeds; ``eval/<game>/<opponent>/<metric>`` plus ``eval/reward``
        (the mean over every game and opponent)."""
        ev = self.config.eval
        out: dict[str, float] = {}
        means = []
        for game in self.eval_games():
            single = len(self.roles(game)) == 1
            opponents = [NO_OPPONENT] if single else list(ev.opponents)
            for opponent in opponents:
                jobs = [
                    self._job(
                        game,
                        ev.seed_start + i,
                        opponent,
                        seat,
                        f"eval/{self.step}/{game.env}/{opponent}/{seat}/{i}",
                    )
                    for seat in self._seats(game)
                    for i in range(ev.episodes)
                ]
                records = list(self.runner.run(jobs))
                m = seat_metrics(records, POLICY_NAME, ev.confidence)
                key = game.env if opponent == NO_OPPONENT else f"{game.env}/{opponent}"
                out.update({f"eval/{key}/{k}": v for k, v in m.items()})
                means.append(m["reward"])
        if means:
            out["eval/reward"] = float(np.mean(means))
        if ev.exploitability:
            out.update(self.exact_evaluation())
        return out

    def exact_evaluation(self) -> dict[str, float]:
        """The policy's exact figures in the evaluated games that have them (Kuhn, Leduc):
        ``eval/<game>/exploitability``, ``nash_conv`` and ``invalid_mass``, and
        ``eval/exploitability`` (their mean over games); see :mod:`palaestra.arena.exact`."""
        from palaestra.arena.exact import EXACT_GAMES, exploitability_of
        from palaestra.envs.registry import ADAPTER_KWARGS

        out: dict[str, float] = {}
        values = []
        for game in self.eval_games():
            if game.env not in EXACT_GAMES:
                continue
            kwargs = {k: v for k, v in game.kwargs.items() if k not in ADAPTER_KWARGS}
            result = exploitability_of(self.policy.hf_agent, game.env, **kwargs)
            out[f"eval/{game.env}/exploitability"] = result.exploitability
            out[f"eval/{game.env}/nash_conv"] = result.nash_conv
            out[f"eval/{game.env}/invalid_mass"] = result.invalid_mass
            values.append(result.exploitability)
        if values:
            out["eval/exploitability"] = float(np.mean(values))
        return out

    # -- league -----------------------------------------------------------------------------
    def add_snapshot(self) -> str:
        """Freeze the current policy into the league."""
        folder = self.run_dir / "snapshots"
        folder.mkdir(exist_ok=True)
        path = folder / f"step-{self.step:06d}.pt"
        state = self.policy.trainable_state()
        torch.save(state, path)
        name, evicted = self.league.add_snapshot(self.step, str(path))
        self._agents[name] = self.policy.snapshot_agent(name, state)
        if evicted is not None:
            for old, agent in list(self._agents.items()):
                if old.startswith("snapshot:") and old not in self.league.snapshot_paths:
                    del self._agents[old]
                    self.policy.drop_snapshot(old)
                    del agent
        return name

    # -- checkpoints ------------------------------------------------------------------------
    def _checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    def latest_checkpoint(self) -> Path:
        """The newest complete checkpoint folder."""
        folder = self._checkpoint_dir()
        found = sorted(folder.glob("step-*/state.pt")) if folder.exists() else []
        if not found:
            raise FileNotFoundError(f"no checkpoint in {str(folder)!r} to resume from")
        return found[-1].parent

    def _agent_calls(self) -> dict[str, int]:
        agents = {POLICY_NAME: self.policy.agent, **self._agents}
        out = {}
        for name, agent in agents.items():
            inner = getattr(agent, "inner", agent)
            if hasattr(inner, "calls"):
                out[name] = int(inner.calls)
        return out

    def save_checkpoint(self) -> Path:
        """Write ``checkpoints/step-<N>`` atomically and prune old ones."""
        folder = self._checkpoint_dir()
        folder.mkdir(exist_ok=True)
        final = folder / f"step-{self.step:06d}"
        tmp = folder / f".tmp-step-{self.step:06d}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        torch.save(self.policy.trainable_state(), tmp / "weights.pt")
        torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
        reference = self.policy.reference_state()
        if reference is not None:
            torch.save(reference, tmp / REFERENCE_FILE)
        state = {
            "step": self.step,
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "league": self.league.state_dict(),
            "replay": {
                "items": [asdict(s) for s in self.replay.items],
                "priorities": list(self.replay.priorities),
            },
            "role_baseline": self.role_baseline.state_dict(),
            "curriculum": self.curriculum.state_dict(),
            "guards": self.guards.state_dict(),
            "agent_calls": self._agent_calls(),
        }
        torch.save(state, tmp / "state.pt")  # written last: its presence marks a whole checkpoint
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        kept = sorted(folder.glob("step-*"))
        for old in kept[: -self.config.checkpoint.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def load_checkpoint(self, folder: Path) -> None:
        """Restore everything :meth:`save_checkpoint` wrote."""
        state = torch.load(folder / "state.pt", weights_only=False)
        self.policy.load_trainable_state(torch.load(folder / "weights.pt", weights_only=True))
        self.optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
        if (folder / REFERENCE_FILE).exists():
            self.policy.load_reference_state(torch.load(folder / REFERENCE_FILE, weights_only=True))
        self.policy.sync_engine()
        self.step = int(state["step"])
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        self.league.load_state_dict(state["league"])
        self.replay.load_state_dict(
            {
                "items": [Sample(**s) for s in state["replay"]["items"]],
                "priorities": state["replay"]["priorities"],
            }
        )
        self.role_baseline.load_state_dict(state["role_baseline"])
        self.curriculum.load_state_dict(state["curriculum"])
        self.guards.load_state_dict(state["guards"])
        for name in self.league.snapshots:
            self.agent(name)
        for name, calls in state["agent_calls"].items():
            agent = self.policy.agent if name == POLICY_NAME else self.agent(name)
            inner = getattr(agent, "inner", agent)
            inner.calls = int(calls)
        # Drop metrics logged after this checkpoint (a killed run's last steps are redone).
        if self.metrics_path.exists():
            lines = self.metrics_path.read_text().splitlines()
            kept = [ln for ln in lines if ln and json.loads(ln)["step"] <= self.step]
            self.metrics_path.write_text("".join(ln + "\n" for ln in kept))
        if self.episodes_path.exists():  # rollouts of step k carry meta.step k - 1
            lines = self.episodes_path.read_text().splitlines()
            kept = [ln for ln in lines if ln and json.loads(ln)["meta"]["step"] < self.step]
            self.episodes_path.write_text("".join(ln + "\n" for ln in kept))
        log.info("resumed from %s at step %d", folder, self.step)
