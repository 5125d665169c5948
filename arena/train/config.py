"""The training config: every switch of the trainer, validated by pydantic.

A config is a YAML (or JSON) file; :func:`load_config` reads it and raises
:class:`ConfigError` naming the bad key (``loss.clip_low: Input should be greater than or
equal to 0``). Unknown keys are errors too, so a typo never silently falls back to a default.
The field docstrings below are the reference in ``docs/training.md``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from palaestra.arena.exact import EXACT_GAMES
from palaestra.arena.train.league import BEST_RESPONSE


class ConfigError(ValueError):
    """A training config that does not validate; the message names every bad key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class LoraConfig(_Section):
    """LoRA adapter settings (peft)."""

    r: int = Field(8, ge=1)
    """Rank of the adapter matrices."""
    alpha: float = Field(16.0, gt=0)
    """Scaling numerator (the update is scaled by ``alpha / r``)."""
    dropout: float = Field(0.0, ge=0, lt=1)
    """Dropout on the adapter input. Keep 0: dropout makes the training forward differ from
    the sampling pass, so the importance ratio is not 1 on the first epoch."""
    target_modules: list[str] | str | None = None
    """Module names to adapt; ``None`` lets peft pick the attention projections of known
    architectures, else ``"all-linear"``."""


class PolicyConfig(_Section):
    """The policy being trained."""

    spec: str = "hf:tiny?train=true"
    """Agent spec of the policy, ``hf:<model>?...`` or ``vllm:<model>?...`` (``train=true``
    is added if missing). Sampling options (``temperature``, ``max_new_tokens``) go in the
    query. ``hf:`` samples with the trained module; ``vllm:`` trains the same weights with
    transformers and samples on a vLLM engine that gets them after every update (engine
    options ``kv_cache_mb``, ``max_model_len``, ``enforce_eager``, ``max_num_seqs``,
    ``prefix_caching``, ``gpu_memory_utilization`` go in the query too)."""
    finetune: Literal["lora", "full"] = "lora"
    """``lora``: train peft adapters; the reference model is the base with adapters disabled.
    ``full``: train every weight; a frozen copy of the initial model is the reference."""
    lora: LoraConfig = LoraConfig()
    """Adapter settings when ``finetune`` is ``lora``."""
    device: str = "auto"
    """Where the policy trains and samples: ``auto`` (CUDA if available, else CPU), ``cpu``,
    ``cuda``, ``cuda:<n>``; a ``device=`` option in ``spec`` overrides it."""
    dtype: str = "auto"
    """Weights' dtype: ``auto`` (bfloat16 on CUDA, float32 elsewhere), ``float32``,
    ``bfloat16``, ``float16``; a ``dtype=`` option in ``spec`` overrides it."""


class OptimConfig(_Section):
    """Optimiser and update schedule."""

    lr: float = Field(1e-4, gt=0)
    """AdamW learning rate."""
    weight_decay: float = Field(0.0, ge=0)
    """AdamW weight decay."""
    betas: tuple[float, float] = (0.9, 0.999)
    """AdamW betas."""
    max_grad_norm: float | None = Field(1.0, gt=0)
    """Clip the global gradient norm to this value (``None``: no clipping)."""
    epochs: int = Field(1, ge=1)
    """Optimisation epochs over each batch of samples (PPO-style reuse)."""
    minibatch_size: int = Field(8, ge=1)
    """Samples per optimiser step."""
    shared_prefix: bool = False
    """Compute the longest token prefix common to a minibatch once (with gradients) and let
    every sample's suffix attend to its keys and values: exact, and much less work when most
    of each prompt is the same rules text (:mod:`palaestra.arena.train.prefix`)."""
    precondition: Literal["none", "prompt_kernel"] = "none"
    """``prompt_kernel``: group each minibatch by prompt and whiten the groups' gradients
    against each other in the optimiser's metric, so that each prompt's gradient moves that
    prompt as if alone (:mod:`palaestra.arena.train.precondition`). For games whose prompts
    repeat and share most of their text (Kuhn poker's states: docs/training.md); one
    backward pass per group."""
    precondition_ridge: float = Field(1e-3, ge=0)
    """Ridge of the preconditioner's solve, relative to the mean squared group gradient."""
    precondition_max_groups: int = Field(16, ge=1)
    """Groups kept apart per minibatch (the largest); the rest are merged into one. Memory:
    this many copies of the trainable parameters."""
    schedule: Literal["constant", "linear", "cosine"] = "constant"
    """Learning rate over the run's ``steps`` training steps, after ``warmup_steps``:
    ``constant`` keeps ``lr``; ``linear`` and ``cosine`` go from ``lr`` at the last warm-up
    step (the first step without warm-up) to ``lr_end`` at the last step (the schedules of
    transformers' ``get_linear_schedule_with_warmup`` and ``get_cosine_schedule_with_warmup``,
    with a floor).
    A decaying step size is what turns self-play policy gradient's cycling in zero-sum games
    into convergence (docs/training.md, Kuhn poker). The warm start keeps its own ``lr``."""
    warmup_steps: int = Field(0, ge=0)
    """Training steps over which the learning rate rises linearly to ``lr`` (any schedule)."""
    lr_end: float = Field(0.0, ge=0)
    """The learning rate at the last step under ``linear`` and ``cosine``."""

    def lr_at(self, step: int, total: int) -> float:
        """The learning rate of the update made at training step ``step`` (counted from 0) of
        ``total``.

        >>> OptimConfig(lr=1.0, schedule="linear", lr_end=0.5).lr_at(2, 3)
        0.5
        >>> OptimConfig(lr=1.0, warmup_steps=4).lr_at(0, 10)
        0.25
        """
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.schedule == "constant":
            return self.lr
        start = max(self.warmup_steps - 1, 0)  # the step that runs at ``lr``
        span = total - 1 - start
        progress = min(1.0, (step - start) / span) if span > 0 else 0.0
        if self.schedule == "linear":
            return self.lr + (self.lr_end - self.lr) * progress
        return self.lr_end + (self.lr - self.lr_end) * 0.5 * (1.0 + math.cos(math.pi * progress))


class LossConfig(_Section):
    """The clipped policy-gradient loss (see :mod:`palaestra.arena.train.losses`)."""

    clip_low: float = Field(0.2, ge=0, lt=1)
    """The ratio is clipped below at ``1 - clip_low``."""
    clip_high: float = Field(0.28, ge=0)
    """The ratio is clipped above at ``1 + clip_high`` (a larger upper clip keeps rare
    tokens learnable, as in DAPO's clip-higher)."""
    kl_coef: float = Field(0.02, ge=0)
    """Coefficient of the k3 KL estimate to the reference model (0 skips the reference pass)."""
    normalisation: Literal["token", "sequence"] = "token"
    """``token``: average over every completion token in the minibatch (long replies weigh
    more); ``sequence``: average within each completion, then over completions."""
    entropy_coef: float = Field(0.0, ge=0)
    """Coefficient of the entropy bonus (subtracted from the loss)."""
    reference: Literal["initial", "moving"] = "initial"
    """The KL term's reference. ``initial``: the policy before training. ``moving``: the
    policy itself, copied every ``reference_every`` steps (a moving magnet, as in magnetic
    mirror descent, Sokota et al. 2022, and R-NaD, Perolat et al. 2022: the KL anchor damps
    the cycling of self-play policy gradient in zero-sum games without tying the policy to
    where it started)."""
    reference_every: int = Field(10, ge=1)
    """With ``reference: moving``, replace the reference by the current policy after every
    this many steps."""
    tis_cap: float | None = Field(2.0, ge=1)
    """Truncated importance sampling (verl's TIS, as SPIRAL uses it) when the rollouts come
    from another engine (``vllm:``): the ratio's ``old`` log-probs are the trainer's own,
    recomputed before the update, and each token's policy-gradient term is weighted by
    ``min(exp(logp_trainer - logp_engine), tis_cap)``. ``None``: recompute ``old`` but no
    weight. No effect with ``hf:`` (the engine is the trainer: every weight is 1)."""


class CreditConfig(_Section):
    """Which scalar each completion is credited with."""

    mode: Literal["return", "step"] = "return"
    """``return``: a turn gets the discounted sum of its seat's per-step rewards from that turn
    on (cumulative dialogue reward counts; with discount 1 every turn gets the rest of the
    episode's return). ``step``: a turn gets only the reward of its own step."""
    discount: float | None = Field(None, ge=0, le=1)
    """Discount over a seat's turns; ``None`` uses the game's declared discount."""


class AdvantageConfig(_Section):
    """Baselines (see :mod:`palaestra.arena.train.advantages`)."""

    baseline: Literal["group", "role", "none"] = "group"
    """``group``: GRPO, episodes on the same seed, seat and opponent form a group and the group
    mean return is subtracted. ``role``: SPIRAL's role-conditioned running baseline per
    (game, role). ``none``: raw credit (REINFORCE)."""
    scale_std: bool = False
    """Divide group-relative advantages by the group's standard deviation (original GRPO;
    Dr. GRPO argues against it)."""
    role_decay: float = Field(0.95, ge=0, lt=1)
    """Decay ``alpha`` of the role baseline: ``b <- alpha*b + (1-alpha)*R``."""
    eps: float = Field(1e-6, gt=0)
    """Added to the standard deviation before dividing."""


class RewardConfig(_Section):
    """Reward shaping on top of the game's rewards (see :mod:`palaestra.arena.train.shaping`)."""

    invalid_move_penalty: float = 0.0
    """Added to the step reward of every invalid move (use a negative value)."""
    format_penalty: float = 0.0
    """Added when a reply's visible text is empty or does not match ``format_pattern``."""
    format_pattern: str | None = None
    """Regular expression the visible text must contain (``re.search``)."""
    length_penalty: float = 0.0
    """Subtracted per generated token beyond ``length_free_tokens``."""
    length_free_tokens: int = Field(0, ge=0)
    """Tokens per reply that cost nothing."""
    abstention: dict[str, float] | None = None
    """Step reward by answer kind for games that report one per answer (the quiz's
    ``info["questions"][i]["verdict"]``: ``correct``, ``abstain``, ``wrong``), e.g.
    ``{correct: 1, abstain: 0, wrong: -1}`` (the usual choice); kinds not listed keep the
    game's reward. ``None`` keeps the game's own rewards."""


class SelfRewardConfig(_Section):
    """Majority-vote pseudo-labels for games with ``self_reward: true`` (test-time RL)."""

    answer_pattern: str | None = None
    """Regex whose first group extracts the answer from a reply (default: the whole visible
    text); answers are compared lower-cased with whitespace and end punctuation stripped."""
    agree: float = 1.0
    """Reward of a reply that agrees with the majority answer of its group."""
    disagree: float = 0.0
    """Reward of a reply that does not."""
    min_votes: int = Field(2, ge=1)
    """A group whose majority has fewer votes gets no pseudo-label (its samples get 0)."""


class GameConfig(_Section):
    """One game of a curriculum stage."""

    env: str
    """Env id, e.g. ``negotiation-v0``."""
    kwargs: dict[str, Any] = {}
    """Game and adapter arguments (``invalid_move`` defaults to ``forfeit`` in training)."""
    weight: float = Field(1.0, gt=0)
    """Relative share of this stage's episodes."""
    roles: list[str] | None = None
    """Seats the policy may take against opponents (``None``: every role, in turn)."""
    self_reward: bool = False
    """Ignore the game's reward and use majority-vote pseudo-labels (unlabelled prompts)."""


class AdvanceConfig(_Section):
    """When a stage is done."""

    metric: str = "train/reward"
    """Metric watched (any key of the step's metrics, e.g. ``eval/<game>/<opponent>/reward``)."""
    threshold: float | None = None
    """Advance when the metric's mean over the last ``window`` values is >= this."""
    window: int = Field(1, ge=1)
    """Values averaged."""
    min_steps: int = Field(0, ge=0)
    """Steps spent in the stage before it may advance."""
    max_steps: int | None = Field(None, ge=1)
    """Advance after this many steps whatever the metric says (``None``: never)."""


class StageConfig(_Section):
    """One curriculum stage: its games, its opponents and when it is done."""

    name: str = "main"
    """Name shown in logs and metrics."""
    games: list[GameConfig] = Field(min_length=1)
    """Games played in this stage."""
    opponents: list[str] = ["self"]
    """Opponent pool: agent specs (``scripted:negotiation/fair``), ``self`` (the current policy
    in every seat: self-play), ``snapshots`` (the league's frozen past checkpoints),
    ``initial`` (the policy as it was before training) and, in the games with exact
    evaluation (Kuhn, Leduc), ``best-response`` (the exact best response to the policy's
    current strategy, rebuilt every ``league.best_response_every`` steps)."""
    advance: AdvanceConfig = AdvanceConfig()
    """When to move to the next stage (the last stage never ends)."""


class LeagueConfig(_Section):
    """Opponent league (see :mod:`palaestra.arena.train.league`)."""

    sampling: Literal["pfsp", "uniform"] = "pfsp"
    """``pfsp``: prioritised fictitious self-play, opponents the policy beats less often are
    drawn more often; ``uniform``: every opponent equally."""
    pfsp_power: float = Field(1.0, ge=0)
    """PFSP weight ``(1 - win_rate) ** power`` (AlphaStar's "hard" weighting)."""
    prior_games: float = Field(2.0, gt=0)
    """Pseudo-games at win rate 0.5 before an opponent has been played."""
    snapshot_every: int = Field(0, ge=0)
    """Add a frozen copy of the policy to the league every this many steps (0: never)."""
    max_snapshots: int = Field(4, ge=1)
    """Keep at most this many snapshots (the oldest leave first)."""
    snapshots_per_step: int = Field(0, ge=0)
    """Play at most this many snapshots in one step (0: all of them). Each step draws them
    from the league's snapshots by the sampling weights, without replacement, and its groups
    draw their opponents from the stage's other members and those. Each snapshot generates
    in batches of its own, so this bounds a step's rollout time as the league fills."""
    best_response_share: float | None = Field(None, ge=0, le=1)
    """Fraction of each step's groups that play the ``best-response`` member (when a stage
    names it); the other groups draw from the stage's other members by ``sampling``
    (``None``: the member is drawn like any other). The first ``round(share * groups)``
    groups of a step play it, so every step has the same mix (NFSP's anticipatory mix of
    best response and average policy, here with the best response exact)."""
    best_response_every: int = Field(1, ge=1)
    """Rebuild the ``best-response`` member (when a stage names it) every this many steps:
    the policy is read at every information state (12 in Kuhn, 936 in Leduc) and OpenSpiel
    computes the best response to it."""


class ReplayConfig(_Section):
    """Sample selection and prioritised replay (see :mod:`palaestra.arena.train.replay`)."""

    drop_zero_advantage: bool = True
    """Drop samples whose advantage is 0 (they carry no policy gradient, only KL)."""
    capacity: int = Field(0, ge=0)
    """Past samples kept for replay (0: no replay)."""
    samples_per_step: int = Field(0, ge=0)
    """Replayed samples added to each step's batch."""
    alpha: float = Field(0.6, ge=0)
    """Priority exponent: ``P(i) ∝ |A_i| ** alpha``."""
    beta: float = Field(0.4, ge=0, le=1)
    """Importance-weight exponent: ``w_i = (N * P(i)) ** -beta / max_j w_j``."""


class GuardConfig(_Section):
    """Warnings for reward hacking and collapse (see :mod:`palaestra.arena.train.guards`)."""

    window: int = Field(5, ge=2)
    """Steps over which the training-reward trend is measured."""
    min_length_ratio: float = Field(0.25, ge=0, le=1)
    """Warn when the mean response length falls below this fraction of its first value."""
    min_entropy_ratio: float = Field(0.25, ge=0, le=1)
    """Warn when the mean entropy falls below this fraction of its first value."""
    max_flat_groups: float = Field(0.9, ge=0, le=1)
    """Warn when, over the last ``window`` steps, at least this fraction of the GRPO groups had
    the same return in every episode (zero advantages: the policy gets no signal)."""
    max_kl: float | None = Field(1.0, gt=0)
    """Warn when ``train/kl`` (per-token k3 KL to the reference) averages above this over the
    last ``window`` steps: the policy has drifted far from where it started, which is where
    reward hacking and degenerate text live (``None``: off)."""
    max_invalid_rate: float | None = Field(0.5, ge=0, le=1)
    """Warn when ``train/invalid_rate`` (the fraction of the policy's replies the env rejected)
    averages at least this over the last ``window`` steps (``None``: off)."""
    max_invalid_rise: float | None = Field(0.1, ge=0, le=1)
    """Warn when the mean invalid-move rate over the last ``window`` steps exceeds its mean
    over the first ``window`` steps by at least this: the policy is learning to break the
    rules (``None``: off)."""
    max_engine_gap: float | None = Field(0.1, gt=0)
    """Warn when ``train/engine_logp_gap`` (mean |trainer - engine| log-prob of the sampled
    tokens, ``vllm:`` rollouts) is above this at a step: the
    engine samples from a policy the trainer does not compute (stale weights, another dtype,
    ``top_k``/``top_p`` truncation), and truncated importance sampling throws much of the
    signal away (``None``: off)."""


class EvalConfig(_Section):
    """Evaluation during training on held-out seeds."""

    every: int = Field(10, ge=0)
    """Evaluate every this many steps (0: never), and before the first and after the last."""
    episodes: int = Field(16, ge=1)
    """Held-out seeds per (game, opponent); each policy seat is evaluated on each seed."""
    seed_start: int = Field(1_000_000, ge=1)
    """Held-out seeds are ``seed_start, seed_start + 1, ...``; training seeds are drawn below
    ``seed_start``, so they never overlap."""
    opponents: list[str] = ["initial"]
    """Fixed opponents: agent specs and ``initial`` (the policy before training). Not
    ``best-response``: ``exploitability`` is the exact figure against it."""
    games: list[GameConfig] | None = None
    """Games to evaluate (``None``: every game of every stage); add held-out games here."""
    confidence: float = Field(0.95, gt=0, lt=1)
    """Level of the reported confidence intervals."""
    exploitability: bool = False
    """Also log the exact exploitability, NashConv and invalid-reply mass of the policy
    (``eval/<game>/exploitability``..., and ``eval/exploitability``, their mean) for the
    evaluated games that have one: Kuhn and Leduc poker (docs/exact-evaluation.md)."""


class WarmStartConfig(_Section):
    """Supervised warm start: imitate a teacher before policy-gradient training.

    A policy that never produces a scoring move gets equal rewards in every group and so no
    gradient; a short behaviour-cloning phase on a teacher's valid replies gives it a first
    foothold (the "cold start" before RL of e.g. DeepSeek-R1, arXiv 2501.12948). The
    warm-started weights become the reference of the KL term and the ``initial`` opponent.
    """

    teacher: str | list[str] | None = None
    """Agent spec that plays the policy's seats (e.g. ``scripted:negotiation/fair``), or a
    list of specs taking the episodes in turn (repeat a spec to give it more of them).
    Required unless ``load`` is given."""
    load: str | None = None
    """Path of a ``warm_start.pt`` written by an earlier run on the same model and
    fine-tuning settings (``RUN_DIR/warm_start.pt``): its weights are loaded instead of
    playing the teacher's episodes and cloning them, so that runs which differ only after
    the warm start start from the same policy. The file is copied into the run folder (for
    ``--resume``); a file whose tensors do not match the policy's is refused."""
    episodes: int = Field(32, ge=1)
    """Teacher episodes per game of the first stage, on the stage's seats and opponents."""
    seed_start: int = Field(2_000_000, ge=0)
    """Their seeds are ``seed_start, seed_start + 1, ...`` (apart from training and held-out
    seeds by default)."""
    min_return: float | None = None
    """Keep only episodes in which the teacher's seat returned at least this (filtered
    behaviour cloning); ``None`` keeps every episode."""
    epochs: int = Field(1, ge=1)
    """Passes over the demonstrations."""
    lr: float | None = Field(None, gt=0)
    """Learning rate (``None``: ``optim.lr``)."""
    betas: tuple[float, float] | None = None
    """AdamW betas of the warm start (``None``: ``optim.betas``): behaviour cloning may want
    momentum where the self-play steps after it do not."""
    minibatch_size: int = Field(8, ge=1)
    """Demonstrations per gradient step."""

    @model_validator(mode="after")
    def _teacher_or_file(self) -> WarmStartConfig:
        if self.teacher is None and self.load is None:
            raise ValueError("warm_start.teacher (to imitate) or warm_start.load is required")
        return self


class CheckpointConfig(_Section):
    """Checkpoints for ``--resume``."""

    every: int = Field(10, ge=1)
    """Write a checkpoint every this many steps (and after the last)."""
    keep: int = Field(2, ge=1)
    """Checkpoints kept on disk (the league's snapshots are kept separately)."""


class TrainConfig(_Section):
    """A whole training run."""

    run_dir: str = "runs/train"
    """Where checkpoints, ``metrics.jsonl``, plots and the config copy go (relative to the
    working directory; ``palaestra train --run-dir`` overrides it)."""
    seed: int = 0
    """Seeds every random choice of the trainer (seeds, opponents, replay, sampling)."""
    steps: int = Field(100, ge=1)
    """Training steps (one batch of rollouts and its updates each)."""
    episodes_per_step: int = Field(8, ge=1)
    """Episodes played per step (must be a multiple of ``group_size``)."""
    group_size: int = Field(4, ge=1)
    """Episodes per group: same game, seed, seat and opponent."""
    concurrency: int = Field(16, ge=1)
    """Episodes the match runner steps at once."""
    log_episodes: bool = False
    """Append every training episode's record (transcript, rewards, token ids) to
    ``episodes.jsonl`` in the run directory, to read what the policy actually says."""
    policy: PolicyConfig = PolicyConfig()
    """The model being trained and how."""
    optim: OptimConfig = OptimConfig()
    """Optimiser, epochs and minibatches."""
    loss: LossConfig = LossConfig()
    """Clipping, KL, normalisation, entropy."""
    credit: CreditConfig = CreditConfig()
    """Which scalar each completion is credited with."""
    advantage: AdvantageConfig = AdvantageConfig()
    """Baselines."""
    rewards: RewardConfig = RewardConfig()
    """Reward shaping."""
    self_reward: SelfRewardConfig = SelfRewardConfig()
    """Majority-vote pseudo-labels for games marked ``self_reward``."""
    stages: list[StageConfig] = Field(min_length=1)
    """Curriculum stages, in order (one stage for plain training)."""
    league: LeagueConfig = LeagueConfig()
    """Opponent sampling and snapshots."""
    replay: ReplayConfig = ReplayConfig()
    """Zero-advantage filtering and prioritised replay."""
    guards: GuardConfig = GuardConfig()
    """Reward-hacking and collapse warnings."""
    eval: EvalConfig = EvalConfig()
    """Held-out evaluation during training."""
    checkpoint: CheckpointConfig = CheckpointConfig()
    """Checkpoint frequency and retention."""
    warm_start: WarmStartConfig | None = None
    """Behaviour cloning of a teacher before the first step (``None``: off)."""

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if self.episodes_per_step % self.group_size:
            raise ValueError(
                f"episodes_per_step ({self.episodes_per_step}) must be a multiple of "
                f"group_size ({self.group_size})"
            )
        if not self.policy.spec.startswith(("hf:", "vllm:")):
            raise ValueError(
                f"policy.spec must be an 'hf:' or 'vllm:' spec, got {self.policy.spec!r}"
            )
        for stage in self.stages:
            inexact = [g.env for g in stage.games if g.env not in EXACT_GAMES]
            if BEST_RESPONSE in stage.opponents and inexact:
                raise ValueError(
                    f"stage {stage.name!r} names the {BEST_RESPONSE!r} opponent, which exists "
                    f"only in the games with exact evaluation {list(EXACT_GAMES)}; it also "
                    f"plays {inexact}"
                )
        if BEST_RESPONSE in self.eval.opponents:
            raise ValueError(
                f"eval.opponents names {BEST_RESPONSE!r}: it is a training opponent; "
                "eval.exploitability is the exact figure against it"
            )
        return self


def _format_errors(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"{key}: {e['msg']}")
    return "; ".join(lines)


def parse_config(data: dict[str, Any]) -> TrainConfig:
    """Validate a config mapping; raises :class:`ConfigError` naming every bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"a training config is a mapping, got {type(data).__name__}")
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"invalid training config: {_format_errors(err)}") from None


def load_config(path: str | Path) -> TrainConfig:
    """Read and validate a YAML (or JSON) training config."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no training config at {str(path)!r}")
    return parse_config(yaml.safe_load(path.read_text()) or {})
