"""Training samples from episode records: one per policy turn, credited and advantaged.

The arena's match runner plays the episodes; its records carry, for every turn of a trainable
agent, the prompt and completion token ids and the sampling log-probs (``Turn.train``). This
module turns the records into :class:`Sample` objects: rewards shaped
(:mod:`~palaestra.arena.train.shaping`), or replaced by majority-vote pseudo-rewards for
self-reward games (:mod:`~palaestra.arena.train.selfreward`), then credited per turn
(:mod:`~palaestra.arena.train.advantages`).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass

from palaestra.arena.records import EpisodeRecord
from palaestra.arena.train.advantages import RoleBaseline, group_advantages, turn_credits
from palaestra.arena.train.config import TrainConfig
from palaestra.arena.train.selfreward import extract_answer, self_rewards
from palaestra.arena.train.shaping import judged, shape_rewards


@dataclass
class Sample:
    """One completion to learn from.

    Attributes:
        prompt_ids: The prompt's token ids.
        completion_ids: The sampled completion's token ids.
        logprobs: Sampling-policy log-prob of each completion token.
        game: Env id.
        role: The seat.
        episode: Episode id.
        group: Group key: game, seed, seat and opponent (GRPO groups).
        reward: The turn's shaped step reward.
        credit: The turn's credit (discounted return-to-go, or the step reward).
        value: The seat's episode value (credit of its first turn) for the baselines.
        advantage: Set by :func:`assign_advantages`.
        weight: Importance weight (1 unless replayed).
        tokens: Completion length.
        valid: Whether the env accepted the move.
    """

    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]
    game: str
    role: str
    episode: str
    group: str
    reward: float
    credit: float
    value: float
    advantage: float = 0.0
    weight: float = 1.0
    tokens: int = 0
    valid: bool = True

    @property
    def seat(self) -> tuple[str, str]:
        return (self.episode, self.role)


def policy_seats(record: EpisodeRecord, policy: Container[str]) -> list[str]:
    """Roles of ``record`` played by an agent whose name is in ``policy``."""
    return [role for role, name in record.seating.items() if name in policy]


def _group_key(record: EpisodeRecord, role: str) -> str:
    opponent = record.meta.get("opponent", "")
    return f"{record.env_id}/{record.seed}/{role}/{opponent}"


def pseudo_rewards(
    records: Sequence[EpisodeRecord], policy: Container[str], config: TrainConfig
) -> dict[tuple[str, str, int], float]:
    """Majority-vote pseudo-reward of every judged policy reply.

    Replies vote with the replies of the same group (same game, seed and seat: the same
    questions) at the same game turn (the same question). Keys are
    ``(episode_id, role, turn index within the seat)``.
    """
    groups: dict[tuple[str, int], list[tuple[tuple[str, str, int], str | None]]] = {}
    for record in records:
        for role in policy_seats(record, policy):
            turns = [t for t in record.turns if t.role == role]
            for i, (turn, final) in enumerate(zip(turns, judged(turns))):
                if final:
                    answer = extract_answer(turn.text, config.self_reward.answer_pattern)
                    key = (_group_key(record, role), turn.turn)
                    groups.setdefault(key, []).append(((record.episode_id, role, i), answer))
    out: dict[tuple[str, str, int], float] = {}
    sr = config.self_reward
    for members in groups.values():
        rewards, _ = self_rewards(
            [a for _, a in members], sr.agree, sr.disagree, min_votes=sr.min_votes
        )
        for (key, _), r in zip(members, rewards):
            out[key] = r
    return out


def build_samples(
    records: Iterable[EpisodeRecord],
    policy: Container[str],
    config: TrainConfig,
    self_reward_games: Container[str] = (),
) -> list[Sample]:
    """One :class:`Sample` per policy turn that has token ids, credited but not advantaged.

    Args:
        records: Finished episodes.
        policy: Names of the agents being trained (their seats produce samples).
        config: Credit, reward shaping and self-reward settings.
        self_reward_games: Env ids whose game reward is replaced by majority-vote pseudo-rewards.
    """
    records = list(records)
    pseudo = pseudo_rewards([r for r in records if r.env_id in self_reward_games], policy, config)
    samples: list[Sample] = []
    for record in records:
        discount = record.discount if config.credit.discount is None else config.credit.discount
        for role in policy_seats(record, policy):
            turns = [t for t in record.turns if t.role == role]
            if not turns:
                continue
            base = None
            if record.env_id in self_reward_games:
                base = [pseudo.get((record.episode_id, role, i), 0.0) for i in range(len(turns))]
            rewards = shape_rewards(record, role, turns, config.rewards, base=base)
            credits = turn_credits(rewards, config.credit.mode, discount)
            value = turn_credits(rewards, "return", discount)[0]
            for turn, reward, credit in zip(turns, rewards, credits):
                train = turn.train or {}
                if not train.get("completion_ids") or "logprobs" not in train:
                    continue
                samples.append(
                    Sample(
                        prompt_ids=[int(i) for i in train["prompt_ids"]],
                        completion_ids=[int(i) for i in train["completion_ids"]],
                        logprobs=[float(x) for x in train["logprobs"]],
                        game=record.env_id,
                        role=role,
                        episode=record.episode_id,
                        group=_group_key(record, role),
                        reward=reward,
                        credit=credit,
                        value=value,
                        tokens=len(train["completion_ids"]),
                        valid=turn.valid,
                    )
                )
    return samples


def assign_advantages(
    samples: Sequence[Sample], config: TrainConfig, role_baseline: RoleBaseline
) -> None:
    """Set ``advantage`` on every sample by the configured baseline (in place)."""
    credits = [s.credit for s in samples]
    values = {s.seat: s.value for s in samples}
    mode = config.advantage.baseline
    if mode == "none":
        adv = credits
    elif mode == "group":
        adv = group_advantages(
            credits,
            [s.group for s in samples],
            [s.seat for s in samples],
            values,
            scale_std=config.advantage.scale_std,
            eps=config.advantage.eps,
        )
    elif mode == "role":
        adv = role_baseline.advantages(
            credits, [(s.game, s.role) for s in samples], [s.seat for s in samples], values
        )
    else:  # pragma: no cover - the config validates the choices
        raise ValueError(f"unknown baseline {mode!r}")
    for s, a in zip(samples, adv):
        s.advantage = float(a)
