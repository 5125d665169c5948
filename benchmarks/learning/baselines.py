"""Simple baselines on the learning benchmarks' held-out evaluations.

    python benchmarks/learning/baselines.py              # negotiation and quiz
    python benchmarks/learning/baselines.py negotiation  # one of them

A learned policy is only worth its training if it beats what needs no training: the teacher
it was warm-started from, and the best constant reply (one fixed string, whatever the
prompt). Each baseline here plays the policy's seats through the trainer's own held-out
evaluation (:meth:`~palaestra.arena.train.trainer.Trainer.evaluate`: the config's ``eval``
seeds, opponents, game arguments and :func:`~palaestra.arena.train.evaluation.seat_metrics`,
with its item-clustered intervals), so its figures sit next to the learning results as they
are. No model is loaded.

Baselines:

* **negotiation** (``negotiation.yaml``: alice vs ``scripted:negotiation/fair``, 64 seeds
  from 1,000,000): the constant ``OFFER: book=1 hat=1 ball=0``; the teachers
  ``scripted:negotiation/accept`` (the warm start's) and ``scripted:negotiation/fair``; and
  the best constant offer, searched over every ``OFFER: book=a hat=b ball=c`` (0 to 4 each)
  on 64 *selection* seeds from 3,000,000 (apart from training, held-out and warm-start seeds)
  and then played on the held-out seeds. The offer that scores most on the held-out seeds
  themselves is reported too, marked as selected on them (an optimistic figure).
* **quiz** (``quiz-warm.yaml``: 96 test-split seeds from 1,000,000): the constant
  "I don't know"; the constant answer that is most common among the train split's
  answerable questions; the teachers ``scripted:quiz/reader`` and ``scripted:quiz/guesser``.

Writes ``benchmarks/learning/results/baselines.json``: per benchmark and baseline, the
held-out metrics (``reward`` with its 95% interval and ``reward_items``, win rate, invalid
rate, quiz verdict rates), the learned result it is to be compared with (read from
``results/<name>.json``), the search table, the wall time and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from palaestra.agents import make_agent
from palaestra.agents.base import CallableAgent
from palaestra.arena.records import EpisodeRecord
from palaestra.arena.runner import MatchRunner
from palaestra.arena.train.config import TrainConfig, load_config
from palaestra.arena.train.evaluation import seat_metrics
from palaestra.arena.train.league import League
from palaestra.arena.train.policy import POLICY_NAME
from palaestra.arena.train.trainer import Trainer
from palaestra.envs.protocol import Action, Agent, Observation
from palaestra.envs.scripted import ScriptedAgent

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SELECTION_SEED_START = 3_000_000
NEGOTIATION_USER_REPLY = "OFFER: book=1 hat=1 ball=0"
#: The self-play run's held-out panel (it never trains against these).
NEGOTIATION_PANEL = (
    "scripted:negotiation/fair",
    "scripted:negotiation/hard",
    "scripted:negotiation/accept",
)
ABSTAIN = "I don't know"


class SeatedAs:
    """An agent that plays under another name (the evaluation scores the seats named
    :data:`POLICY_NAME`)."""

    def __init__(self, inner: Agent, name: str = POLICY_NAME) -> None:
        self.inner = inner
        self.name = name

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        return self.inner.act(observations)

    def reset(self) -> None:
        self.inner.reset()


def constant(reply: str) -> CallableAgent:
    """An agent that answers ``reply`` to every prompt."""
    return CallableAgent(lambda _prompt: reply, name=POLICY_NAME)


def trainer_shell(config: TrainConfig, player: Agent) -> Trainer:
    """A trainer that holds what its evaluation reads (config, runner, league, agent caches,
    the policy's agent) instead of a loaded model."""
    shell = Trainer.__new__(Trainer)
    shell.config = config
    shell.runner = MatchRunner(concurrency=64)
    shell.step = 0
    shell.league = League()
    shell._agents = {}
    shell._roles = {}
    shell.policy = SimpleNamespace(agent=player)
    return shell


def heldout(config: TrainConfig, player: Agent, seed_start: int | None = None) -> dict[str, Any]:
    """The trainer's held-out evaluation of ``config`` with ``player`` in the policy's seats.

    :meth:`Trainer.evaluate` runs on a :func:`trainer_shell`. ``seed_start`` replaces
    ``eval.seed_start`` (the selection seeds of the offer search).
    """
    if seed_start is not None:
        config = config.model_copy(
            update={"eval": config.eval.model_copy(update={"seed_start": seed_start})}
        )
    return Trainer.evaluate(trainer_shell(config, player))


def panel_records(
    trainer: Trainer, opponents: Sequence[str], episodes: int | None = None
) -> dict[str, list[EpisodeRecord]]:
    """Opponent -> the records of the trainer's policy agent against it: every held-out seed
    of the config's ``eval`` (``episodes`` of them from ``eval.seed_start``) in each of the
    policy's seats, on every evaluated game (the jobs of :meth:`Trainer.evaluate`, with the
    records kept so that figures can be pooled over opponents)."""
    ev = trainer.config.eval
    n = ev.episodes if episodes is None else episodes
    out: dict[str, list[EpisodeRecord]] = {}
    for opponent in opponents:
        jobs = [
            trainer._job(game, ev.seed_start + i, opponent, seat, f"panel/{opponent}/{seat}/{i}")
            for game in trainer.eval_games()
            for seat in trainer._seats(game)
            for i in range(n)
        ]
        out[opponent] = list(trainer.runner.run(jobs))
    return out


def panel_figures(
    records: dict[str, list[EpisodeRecord]], policy: str = POLICY_NAME, confidence: float = 0.95
) -> dict[str, Any]:
    """``policy``'s figures against a panel: ``pooled`` over every opponent and seat (the
    reward interval a bootstrap over deals, each deal's episodes against every opponent
    resampled together), and ``per_opponent``."""
    pooled = [r for rs in records.values() for r in rs]
    seats = sorted({str(r.meta.get("seat")) for r in pooled})
    return {
        "pooled": seat_metrics(pooled, policy, confidence),
        "per_opponent": {o: seat_metrics(rs, policy, confidence) for o, rs in records.items()},
        "per_opponent_seat": {
            f"{o}/{seat}": seat_metrics(
                [r for r in rs if r.meta.get("seat") == seat], policy, confidence
            )
            for o, rs in records.items()
            for seat in seats
        },
    }


def _figures(metrics: dict[str, Any]) -> dict[str, Any]:
    """The per-(game, opponent) metrics without their ``eval/<game>/<opponent>/`` prefix."""
    keys = [k for k in metrics if k.count("/") >= 2]
    (prefix,) = {k.rsplit("/", 1)[0] for k in keys}
    return {k.rsplit("/", 1)[1]: v for k, v in metrics.items() if k.startswith(prefix + "/")}


def _learned(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {k: {"before": v["before"], "after": v["after"]} for k, v in data["held_out"].items()}


def negotiation() -> dict[str, Any]:
    config = load_config(HERE / "negotiation.yaml")
    out: dict[str, Any] = {"config": "benchmarks/learning/negotiation.yaml", "baselines": {}}
    base = out["baselines"]
    base[f"constant {NEGOTIATION_USER_REPLY!r}"] = _figures(
        heldout(config, constant(NEGOTIATION_USER_REPLY))
    )
    for spec in ("scripted:negotiation/accept", "scripted:negotiation/fair"):
        base[f"teacher {spec}"] = _figures(heldout(config, SeatedAs(make_agent(spec))))
    offers = [
        f"OFFER: book={a} hat={b} ball={c}" for a in range(5) for b in range(5) for c in range(5)
    ]
    selection = {
        o: _figures(heldout(config, constant(o), SELECTION_SEED_START))["reward"] for o in offers
    }
    best = max(offers, key=lambda o: selection[o])
    base[f"best constant offer on selection seeds {best!r}"] = _figures(
        heldout(config, constant(best))
    )
    held = {o: _figures(heldout(config, constant(o)))["reward"] for o in offers}
    best_held = max(offers, key=lambda o: held[o])
    base[f"best constant offer selected on the held-out seeds {best_held!r} (optimistic)"] = (
        _figures(heldout(config, constant(best_held)))
    )
    out["search"] = {
        "candidates": len(offers),
        "selection_seeds": [SELECTION_SEED_START, SELECTION_SEED_START + config.eval.episodes - 1],
        "top10_on_selection_seeds": sorted(selection.items(), key=lambda kv: -kv[1])[:10],
        "top10_on_heldout_seeds": sorted(held.items(), key=lambda kv: -kv[1])[:10],
    }
    out["learned"] = _learned("negotiation")
    return out


def _most_common_train_answer() -> str:
    from palaestra.envs.quiz.rules import bundled_items

    counts = Counter(
        item.answers[0] for item in bundled_items() if item.split == "train" and item.answerable
    )
    return counts.most_common(1)[0][0]


def quiz() -> dict[str, Any]:
    config = load_config(HERE / "quiz-warm.yaml")
    out: dict[str, Any] = {"config": "benchmarks/learning/quiz-warm.yaml", "baselines": {}}
    base = out["baselines"]
    base[f"constant {ABSTAIN!r}"] = _figures(heldout(config, constant(ABSTAIN)))
    common = _most_common_train_answer()
    base[f"constant 'ANSWER: {common}' (most common train-split answer)"] = _figures(
        heldout(config, constant(f"ANSWER: {common}"))
    )
    for spec in ("scripted:quiz/reader", "scripted:quiz/guesser"):
        base[f"teacher {spec}"] = _figures(heldout(config, SeatedAs(make_agent(spec))))
    out["learned"] = _learned("quiz-warm")
    return out


class AcceptElseOffer(ScriptedAgent):
    """``ACCEPT`` when an offer stands, else one fixed offer: the simplest mix of the two
    constant replies (as alice: offer, then accept bob's counter-offer; as bob: accept)."""

    key = "accept-else-offer"

    def __init__(self, offer: str, name: str = POLICY_NAME) -> None:
        super().__init__(name)
        self.offer = offer

    def reply(self, obs: Observation) -> str:
        return "ACCEPT" if obs.facts["standing_offer"] is not None else self.offer


def negotiation_replies(max_count: int = 4) -> dict[str, Agent]:
    """The candidate constant replies of the search: every ``OFFER: book=a hat=b ball=c``
    (0 to ``max_count`` each), ``ACCEPT``, and each offer mixed with ``ACCEPT`` by
    :class:`AcceptElseOffer`."""
    counts = range(max_count + 1)
    offers = [f"OFFER: book={a} hat={b} ball={c}" for a in counts for b in counts for c in counts]
    out: dict[str, Agent] = {f"constant {o!r}": constant(o) for o in offers}
    out["constant 'ACCEPT'"] = constant("ACCEPT")
    out.update({f"accept, else {o!r}": AcceptElseOffer(o) for o in offers})
    return out


def negotiation_selfplay() -> dict[str, Any]:
    """The self-play run's panel (``negotiation-selfplay.yaml``): the scripted negotiators in
    both seats on its held-out seeds. The best constant reply is searched on those seeds
    themselves (the figure most favourable to the baseline), pooled over the panel."""
    config = load_config(HERE / "negotiation-selfplay.yaml")
    out: dict[str, Any] = {
        "config": "benchmarks/learning/negotiation-selfplay.yaml",
        "panel": list(NEGOTIATION_PANEL),
        "seeds": [config.eval.seed_start, config.eval.seed_start + config.eval.episodes - 1],
        "baselines": {},
    }
    shell = trainer_shell(config, constant(""))

    def play(player: Agent) -> dict[str, Any]:
        shell.policy = SimpleNamespace(agent=player)
        return panel_figures(panel_records(shell, NEGOTIATION_PANEL), POLICY_NAME)

    for spec in NEGOTIATION_PANEL:
        out["baselines"][f"teacher {spec}"] = play(SeatedAs(make_agent(spec)))
    candidates = negotiation_replies()
    scores = {label: play(agent)["pooled"]["reward"] for label, agent in candidates.items()}
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    best = ranked[0][0]
    best_single = next(label for label, _ in ranked if label.startswith("constant "))
    out["baselines"][f"best constant reply {best}"] = play(candidates[best])
    if best_single != best:
        out["baselines"][f"best single string {best_single}"] = play(candidates[best_single])
    out["best_constant_reply"] = best
    out["search"] = {
        "candidates": len(candidates),
        "selected_on": "the held-out evaluation seeds themselves (optimistic for the baseline)",
        "top10": ranked[:10],
        "top10_single_string": [kv for kv in ranked if kv[0].startswith("constant ")][:10],
    }
    return out


BENCHMARKS = {
    "negotiation": negotiation,
    "quiz": quiz,
    "negotiation-selfplay": negotiation_selfplay,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"some of {list(BENCHMARKS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; expected some of {list(BENCHMARKS)}")
    path = RESULTS / "baselines.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for name in args.names or list(BENCHMARKS):
        started = time.perf_counter()
        results[name] = BENCHMARKS[name]()
        results[name]["wall_seconds"] = round(time.perf_counter() - started, 1)
        for label, m in results[name]["baselines"].items():
            m = m.get("pooled", m)  # panel figures: pooled over the panel
            print(
                f"{name:12s} {m['reward']:+.3f} [{m['reward_low']:+.3f}, "
                f"{m['reward_high']:+.3f}] items {m['reward_items']:3d}  {label}"
            )
    results["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "note": "scripted play only (no model); the machine was shared with other jobs",
    }
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
