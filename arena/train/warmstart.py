"""Supervised warm start: behaviour cloning of a teacher before policy-gradient training.

Group-relative policy gradients learn nothing while every episode of a group scores the same,
and a small model that never writes a scoring move (SmolLM2-135M never wrote an ``ACCEPT`` or
a well-formed ``OFFER:`` in negotiation; see ``docs/training.md``) gives exactly that. The
warm start plays a few episodes with a *teacher* (any agent spec, usually a scripted player)
in the policy's seats, through the arena's match runner like every rollout, and fine-tunes the
policy on the teacher's valid replies: the prompt is what the policy itself would have been
given (its chat template), the target is the reply and the end-of-turn token, and the loss is
the mean negative log-likelihood per target token under the sampling temperature (the policy
samples from the tempered distribution, so that is the distribution trained).

Afterwards the trainer makes the warm-started weights the reference and the ``initial``
opponent (:meth:`Policy.absorb <palaestra.arena.train.policy.Policy.absorb>`), so the KL term
keeps the policy near what it learned here rather than pulling it back to the base model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.train.samples import Sample
from palaestra.envs.protocol import Action, Agent, Observation


@dataclass(frozen=True)
class Demo:
    """One teacher reply to imitate: where it was said and its token ids."""

    episode: str
    role: str
    turn: int
    prompt_ids: list[int]
    completion_ids: list[int]


class DemoRecorder:
    """Wraps a teacher agent and keeps every reply it gives, tokenised for the policy.

    Args:
        teacher: The agent whose replies are recorded.
        render: Prompt token ids of an observation, as the policy would see it.
        encode: Target token ids of a reply (the text and the end-of-turn token).
        name: The agent name in the episode records (e.g. ``"teacher:<spec>"``).
    """

    def __init__(
        self,
        teacher: Agent,
        render: Callable[[Observation], list[int]],
        encode: Callable[[str], list[int]],
        name: str,
    ) -> None:
        self.teacher = teacher
        self.render = render
        self.encode = encode
        self.name = name
        self.demos: list[Demo] = []

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        actions = self.teacher.act(observations)
        for obs, action in zip(observations, actions):
            self.demos.append(
                Demo(obs.episode, obs.role, obs.turn, self.render(obs), self.encode(action.text))
            )
        return actions

    def reset(self) -> None:
        self.teacher.reset()


def kept_demos(
    demos: Sequence[Demo], records: Sequence[EpisodeRecord], min_return: float | None
) -> list[Demo]:
    """The demos to learn from: replies the env accepted as valid moves, from episodes in
    which the teacher's seat returned at least ``min_return`` (when set).

    A seat's demos are matched to its turns in the episode record in order (a reply that was
    rejected and retried at the same game turn is a turn of its own), so a rejected reply is
    never imitated; neither is anything from an episode that did not finish (no record) or a
    seat whose replies and turns do not line up.
    """
    by_seat: dict[tuple[str, str], list[Demo]] = {}
    for demo in demos:
        by_seat.setdefault((demo.episode, demo.role), []).append(demo)
    kept: list[Demo] = []
    for record in records:
        for role in record.seating:
            seat_demos = by_seat.get((record.episode_id, role))
            if not seat_demos:
                continue
            if min_return is not None and float(record.returns[role]) < min_return:
                continue
            turns = [t for t in record.turns if t.role == role]
            if len(turns) != len(seat_demos):
                continue
            kept.extend(d for d, t in zip(seat_demos, turns) if t.valid and t.turn == d.turn)
    return kept


def demo_samples(demos: Sequence[Demo]) -> list[Sample]:
    """Demos as :class:`Sample` objects, so the policy's log-prob pass can score them."""
    return [
        Sample(
            prompt_ids=d.prompt_ids,
            completion_ids=d.completion_ids,
            logprobs=[0.0] * len(d.completion_ids),
            game="",
            role=d.role,
            episode=d.episode,
            group="",
            reward=0.0,
            credit=0.0,
            value=0.0,
            tokens=len(d.completion_ids),
        )
        for d in demos
    ]


def imitation_loss(
    logprobs: Callable[[Sequence[Sample]], tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]],
    samples: Sequence[Sample],
) -> torch.Tensor:
    """Mean negative log-likelihood per target token of ``samples``."""
    logp, _, mask = logprobs(samples)
    return -(logp * mask).sum() / mask.sum().clamp(min=1.0)


def fit(
    model: torch.nn.Module,
    logprobs: Callable[[Sequence[Sample]], tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]],
    samples: Sequence[Sample],
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    minibatch_size: int,
    max_grad_norm: float | None,
    rng: np.random.Generator,
) -> dict[str, float]:
    """Behaviour cloning: ``epochs`` shuffled passes of minibatch NLL steps.

    Returns ``nll_before`` and ``nll_after`` (mean NLL per token over every sample, measured
    without gradients) and ``steps``.
    """

    def mean_nll() -> float:
        with torch.no_grad():
            losses, tokens = 0.0, 0
            for start in range(0, len(samples), minibatch_size):
                chunk = samples[start : start + minibatch_size]
                n = sum(len(s.completion_ids) for s in chunk)
                losses += float(imitation_loss(logprobs, chunk)) * n
                tokens += n
        return losses / max(tokens, 1)

    before = mean_nll()
    steps = 0
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(samples))
        for start in range(0, len(samples), minibatch_size):
            chunk = [samples[int(i)] for i in order[start : start + minibatch_size]]
            loss = imitation_loss(logprobs, chunk)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            params = [p for group in optimizer.param_groups for p in group["params"]]
            if max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
            optimizer.step()
            steps += 1
    model.eval()
    return {"nll_before": before, "nll_after": mean_nll(), "steps": float(steps)}


def load_warm_start(path: str, like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The trainable weights saved by an earlier run's warm start, checked against ``like``
    (the policy's own :meth:`~palaestra.arena.train.policy.Policy.trainable_state`): the same
    tensor names and shapes, so that a file from another model or LoRA rank is refused
    instead of loading in part."""
    try:
        state = torch.load(path, weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"warm_start.load: no file {path!r}") from None
    if not isinstance(state, dict):
        raise ValueError(f"warm_start.load: {path!r} holds no state dict")
    missing = sorted(set(like) - set(state))
    extra = sorted(set(state) - set(like))
    if missing or extra:
        raise ValueError(
            f"warm_start.load: {path!r} does not fit this policy: {len(missing)} of its "
            f"tensors missing (e.g. {missing[:1]}), {len(extra)} unknown (e.g. {extra[:1]}); "
            "was it written with another model or fine-tuning setting?"
        )
    for name, tensor in like.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise ValueError(
                f"warm_start.load: {path!r} holds {name!r} with shape "
                f"{tuple(state[name].shape)}, the policy's is {tuple(tensor.shape)}"
            )
    return state
